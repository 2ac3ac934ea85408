"""The data of `lantai bench search`: catalogue rows of the demo generator with generated full text
(Zipf-weighted official-document vocabulary, rare given-name characters as the tail), written once
to a JSON-lines file that every contender reads."""

from __future__ import annotations

import functools
import itertools
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

SEED = 2024
FULLTEXT_CHARS = 300

CLASSIFICATION = {"公开": ("public", 0), "限制": ("restricted", 1), "秘密": ("confidential", 2),
                  "机密": ("secret", 3), "绝密": ("top_secret", 4)}  # fmt: skip
OPEN_STATUS = {"开放": "open", "未开放": "closed", "控制使用": "restricted_use"}
RETENTION = {"长期": "D30", "短期": "D10"}
# Characters of given names outside the demo lists: the rare tail of single characters.
RARE_CHARS = (
    "琰璐瑾珂玥翊昀晟琛瑜璇婧妍菁蓁钰铮镕沅泓澍湛淼潇濠瀚灏炜烨煜熠璟瑄璞瓒甄皓睿祎禹秉竣笃筠箐"
    "绮缙罡翀耘胤舜芃芊茗荃莘菡萱葳蔚蕙薇藜蘅虔裕觐诩谌赟轩迪逍邕钊钧铎镛隽霁靖韬颢飏馥骅骞骥鹤"
    "麟黛燊焱鑫垚犇骁昶旻暄曦朗杳枫栎桦梓楠樾檀毓沛洵浚涵淇渝溥滢澈濯炅焜熹燚玮珏琦瑗璋璨"
)
# Common words of official documents, most frequent first (the head of the Zipf distribution).
COMMON_WORDS = [
    "的",
    "和",
    "了",
    "在",
    "对",
    "为",
    "是",
    "有",
    "与",
    "及",
    "等",
    "各",
    "要",
    "并",
    "将",
    "已",
    "由",
    "向",
    "从",
    "以",
    "把",
    "中",
    "上",
    "下",
    "关于",
    "按照",
    "根据",
    "进一步",
    "加强",
    "做好",
    "工作",
    "全省",
    "各地",
    "有关",
    "同志",
    "单位",
    "部门",
    "情况",
    "问题",
    "意见",
    "通知",
    "报告",
    "要求",
    "组织",
    "开展",
    "落实",
    "实施",
    "管理",
    "建设",
    "发展",
    "经济",
    "社会",
    "人民",
    "群众",
    "领导",
    "会议",
    "研究",
    "决定",
    "同意",
    "批准",
    "执行",
    "检查",
    "认真",
    "贯彻",
    "精神",
    "规定",
    "办法",
    "方案",
    "计划",
    "任务",
    "目标",
    "措施",
    "制度",
    "责任",
    "确保",
    "推进",
    "提高",
    "完善",
    "积极",
    "切实",
    "广大",
    "重要",
    "主要",
    "全面",
    "深入",
    "继续",
    "及时",
    "统一",
    "生产",
    "干部",
    "农村",
    "城市",
    "地区",
    "全年",
    "今年",
    "当前",
    "今后",
    "目前",
    "必须",
    "应当",
    "可以",
    "不得",
    "请",
    "予以",
]


# --- the data ----------------------------------------------------------------------------------


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


_HAN_RE = re.compile(r"^[\u4e00-\u9fff]+$")


@functools.cache
def vocabulary() -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Words ranked by frequency and the cumulative Zipf weights (rank^-1) to draw them with."""
    import rjieba

    from lantai.demo.words import words

    counts: Counter[str] = Counter()
    for text in _strings(words()):
        counts.update(w for w in rjieba.cut(text) if _HAN_RE.match(w))
    ranked = list(dict.fromkeys([*COMMON_WORDS, *(w for w, _ in counts.most_common())]))
    cum = list(itertools.accumulate(1.0 / (r + 1) for r in range(len(ranked))))
    return tuple(ranked), tuple(cum)


class TextMaker:
    """~300 characters of document-like text per call, from one seeded stream."""

    def __init__(self, seed: int) -> None:
        from lantai.demo.words import person_name

        self.rng = random.Random(f"lantai-bench-search-text:{seed}")
        self.words, self.cum = vocabulary()
        self.person = person_name

    def __call__(self, title: str, year: int | None) -> str:
        rng, parts, size = self.rng, [title, "\n"], len(title)
        while size < FULLTEXT_CHARS:
            clause = rng.choices(self.words, cum_weights=self.cum, k=rng.randint(4, 12))
            r = rng.random()
            if r < 0.15:  # the rare tail: a person (a third with an uncommon character), a date
                name = self.person(rng)
                if rng.random() < 0.3:
                    name = name[:-1] + RARE_CHARS[int(rng.random() * len(RARE_CHARS))]
                clause.insert(rng.randrange(len(clause) + 1), name)
            elif r < 0.25 and year:
                clause.insert(0, f"{year}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日")
            text = "".join(clause) + ("。" if rng.random() < 0.35 else "，")
            parts.append(text)
            size += len(text)
        return "".join(parts)[:-1] + "。"


def demo_documents(records: int, fulltext: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """`records` search documents (DOCUMENT_FIELDS) from the demo generator's catalogue rows, ids
    1..records; `fulltext` of them, spread evenly, with generated full text."""
    from lantai.demo.generator import build_archive, repositories

    archive = build_archive(max(records, 100), seed)
    repo_ids = {r.code: i + 1 for i, r in enumerate(repositories())}
    fonds_ids: dict[tuple[str, str], int] = {}
    category_ids: dict[tuple[str, str, str], int] = {}
    text = TextMaker(seed)
    n = 0
    for cat in archive.categories:
        fonds = cat.fonds
        fkey = (fonds.repository.code, fonds.code)
        fonds_id = fonds_ids.setdefault(fkey, len(fonds_ids) + 1)
        category_id = category_ids.setdefault((*fkey, cat.code), len(category_ids) + 1)
        for row in cat.rows():
            n += 1
            if n > records:
                return
            code, level = CLASSIFICATION.get(row["classification"] or "公开", ("public", 0))
            with_text = (n * fulltext) // records != ((n - 1) * fulltext) // records
            yield {
                "id": n,
                "reference_code": row["reference_code"] or "",
                "title": row["title"] or "",
                "author": row["author"] or "",
                "document_number": row["document_number"] or "",
                "remarks": row["remarks"] or "",
                "full_text": text(row["title"] or "", row["year"]) if with_text else "",
                "date": row["date"] or None,
                "year": row["year"],
                "repository": fonds.repository.code,
                "fonds": f"{fonds.repository.code}/{fonds.code}",  # query.fonds_key
                "category": cat.code,
                "repository_id": repo_ids[fonds.repository.code],
                "fonds_id": fonds_id,
                "category_id": category_id,
                "retention": RETENTION.get(row["retention"], row["retention"]),
                "classification": code,
                "classification_level": level,
                "open_status": OPEN_STATUS.get(row["open_status"], "closed"),
                "level": "item" if cat.arrangement == "item" else "volume",
            }


def generate(records: int, fulltext: int, sample: int, folder: Path) -> dict[str, Any]:
    """Write every document to folder/docs.jsonl and the sample's to folder/sample.jsonl."""
    rng = random.Random(f"lantai-bench-search-sample:{SEED}")
    chosen = set(rng.sample(range(1, records + 1), min(sample, records)))
    started = time.perf_counter()
    n = chars = texts = 0
    with (
        open(folder / "docs.jsonl", "w", encoding="utf-8") as out,
        open(folder / "sample.jsonl", "w", encoding="utf-8") as out_sample,
    ):
        for doc in demo_documents(records, fulltext):
            line = json.dumps(doc, ensure_ascii=False) + "\n"
            out.write(line)
            if doc["id"] in chosen:
                out_sample.write(line)
            n += 1
            if doc["full_text"]:
                texts += 1
                chars += len(doc["full_text"])
    return {
        "records": n,
        "with_full_text": texts,
        "full_text_mean_chars": round(chars / max(texts, 1)),
        "sample_records": len(chosen),
        "jsonl_mb": round((folder / "docs.jsonl").stat().st_size / 1e6, 1),
        "generate_seconds": round(time.perf_counter() - started, 1),
        "vocabulary_words": len(vocabulary()[0]),
    }


def read_docs(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)
