"""The English catalogue (src/lantai/locale/en/LC_MESSAGES/django.po) says each thing once.

Rules (decision 0001: Chinese msgids, English msgstrs):
- one entry per msgid (and context), none fuzzy, none obsolete;
- no doubled translation (the same English twice in one msgstr, left by a bad merge);
- no Chinese in an English msgstr, except literals the user types or finds in their own files
  (column names of a catalogue, an accepted date spelling), listed in ``CJK_LITERALS``;
- two msgids share an English text only where the Chinese are synonyms in that place (listed in
  ``SYNONYMS``); a new pair must either get distinct English or be added here on purpose;
- every msgid that `makemessages` finds in the code and templates is translated, and no entry is
  left that the code no longer uses (run on a copy of the package: the real file is never
  rewritten).

The file is read with a small parser (polib is not a dependency)."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "lantai"
CATALOGUE = Path("locale/en/LC_MESSAGES/django.po")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]+")

# Chinese that an English msgstr may quote: what the user types or sees in their own files.
CJK_LITERALS = {
    "题名",
    "档号",
    "日期",
    "2023年1月15日",
    "文件",
    "页号",
    "百色",
    "全州县",
}  # 文件, 页号: manifest columns; 百色, 全州县: place names to type

# msgids that may share one English text: synonyms in the places they are used.
SYNONYMS = [
    {"已受理", "已接收", "已验收"},  # an access request / a transfer / a scanning batch: accepted
    {"受理", "接收", "验收"},
    {"接收说明", "验收说明"},
    {"失败", "不通过", "失败数", "不合格"},
    {"通过", "合格"},
    {"已排队", "排队等待", "排队中"},
    {"检测结果汇总", "汇总"},
    {"检测项目", "检测项"},
    {"没有页面的档案", "无页面的档案"},
    {"已审批", "已批准"},
    {"审批", "审批同意"},
    {"已拒绝", "已驳回"},
    {"档案检索", "检索档案"},
    {"格式信息", "格式"},
    {"检测中", "正在检测"},
    {"理由", "原因"},
    {"新建", "创建于", "建立时间"},
    {"删除", "确定删除"},
    {"行数", "总行数"},
    {"结果", "检测结果"},
    {"代码", "编号"},
    {"消息", "内容"},
    {"副本数", "副本"},
    {"问题数", "问题"},
    {"可访问", "在线"},
    {"移交人", "提交人"},
    {"运行中", "进行中"},
    {"检测属性", "属性"},
    {"检测时间", "检查时间"},
]


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgstrs: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False
    line: int = 0


def parse(path: Path) -> list[Entry]:
    """The entries of a .po file (header excluded)."""
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry, current = Entry(), ""
        strings: dict[str, str] = {}
        for raw in block.splitlines():
            line = raw
            if line.startswith("#~"):
                entry.obsolete, line = True, line[2:].strip()
            if line.startswith("#,"):
                entry.flags |= {f.strip() for f in line[2:].split(",")}
                continue
            if not line or line.startswith("#"):
                continue
            if line.startswith('"'):
                strings[current] += ast.literal_eval(line)
                continue
            current, _, value = line.partition(" ")
            strings[current] = ast.literal_eval(value)
        if "msgid" not in strings or strings["msgid"] == "":
            continue
        entry.msgid = strings["msgid"]
        entry.msgctxt = strings.get("msgctxt")
        entry.msgstrs = [v for k, v in strings.items() if k.startswith("msgstr")]
        entries.append(entry)
    return entries


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return parse(PACKAGE / CATALOGUE)


def test_each_msgid_once_none_fuzzy_or_obsolete(entries: list[Entry]) -> None:
    seen: dict[tuple[str | None, str], int] = defaultdict(int)
    for e in entries:
        seen[(e.msgctxt, e.msgid)] += 1
    assert [k for k, n in seen.items() if n > 1] == []
    assert [e.msgid for e in entries if "fuzzy" in e.flags] == []
    assert [e.msgid for e in entries if e.obsolete] == []


def test_no_translation_is_doubled(entries: list[Entry]) -> None:
    doubled = []
    for e in entries:
        for s in e.msgstrs:
            half = len(s) // 2
            if s and len(s) % 2 == 0 and s[:half] == s[half:]:
                doubled.append(e.msgid)
    assert doubled == []


def test_english_has_no_chinese_but_quoted_literals(entries: list[Entry]) -> None:
    bad = {}
    for e in entries:
        for s in e.msgstrs:
            for literal in CJK_LITERALS:
                if literal in e.msgid:
                    s = s.replace(literal, "")
            runs = CJK.findall(s)
            if runs:
                bad[e.msgid] = runs
    assert bad == {}


def test_one_english_text_for_two_msgids_only_for_synonyms(entries: list[Entry]) -> None:
    by_english: dict[tuple[str | None, str], set[str]] = defaultdict(set)
    for e in entries:
        if e.msgstrs and e.msgstrs[0]:
            by_english[(e.msgctxt, e.msgstrs[0])].add(e.msgid)
    shared = {en: ids for (_, en), ids in by_english.items() if len(ids) > 1}
    unexplained = {
        en: sorted(ids) for en, ids in shared.items() if not any(ids <= group for group in SYNONYMS)
    }
    assert unexplained == {}


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs gettext (scripts/setup.sh)")
def test_every_msgid_in_the_code_is_translated_and_none_is_stale(tmp_path: Path) -> None:
    copy = tmp_path / "lantai"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    django_admin = Path(sys.executable).with_name("django-admin")
    subprocess.run(
        [str(django_admin), "makemessages", "-l", "en", "--ignore=standards", "-v", "0"],
        cwd=copy,
        check=True,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DJANGO_SETTINGS_MODULE": "lantai.settings",
            "LANTAI_DATA_DIR": str(tmp_path / "data"),
            "LANTAI_SECRET_KEY": "test",
        },
    )
    remade = parse(copy / CATALOGUE)
    assert [e.msgid for e in remade if not e.obsolete and not any(e.msgstrs)] == []
    assert [e.msgid for e in remade if not e.obsolete and "fuzzy" in e.flags] == []
    assert [e.msgid for e in remade if e.obsolete] == []
