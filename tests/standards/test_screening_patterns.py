"""The pattern layer of the pre-screen: what it finds in archive text, what it must leave alone."""

from __future__ import annotations

import random
from datetime import date

import pytest

from lantai.standards.personal_ids import id18_check_char, luhn_ok
from lantai.standards.screening_patterns import PATTERNS_VERSION, pattern_spans
from lantai.standards.sensitivity import KINDS, Span

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def _id18(first17: str) -> str:
    return first17 + id18_check_char(first17)


def _card(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def _found(text: str) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in pattern_spans(text)]


def _check_offsets(text: str, spans: list[Span]) -> None:
    for s in spans:
        assert text[s.start : s.end] == s.text
        assert s.kind in KINDS
        assert s.version == PATTERNS_VERSION
        assert 0 < s.score <= 1


def test_ids_born_1900_to_2005_are_all_found_with_exact_offsets() -> None:
    rng = random.Random(15)
    parts, planted = [], []
    for year in range(1900, 2006):
        born = date(year, rng.randint(1, 12), rng.randint(1, 28))
        value = _id18(
            f"{rng.choice(['450102', '452701', '110105'])}{born:%Y%m%d}{rng.randint(0, 999):03d}"
        )
        parts.append(rng.choice(["身份证号：", "公民身份号码", "（", "持证人", "\n"]))
        planted.append((sum(map(len, parts)), value))
        parts.append(value)
        parts.append(rng.choice(["。", "，男，汉族。", "\n", " "]))
    text = "".join(parts)
    spans = pattern_spans(text)
    _check_offsets(text, spans)
    assert [(s.start, s.text) for s in spans] == planted
    assert {s.kind for s in spans} == {"id18"}
    assert {(s.category, s.ground, s.rule) for s in spans} == {
        ("personal_info", "art8-3", "pattern:id18")
    }


def test_id18_scores_higher_with_a_context_word() -> None:
    value = "11010519491231002X"
    (with_word,) = pattern_spans(f"身份证号：{value}。")
    (bare,) = pattern_spans(f"张三 {value}。")
    assert with_word.score > bare.score >= 0.9


def test_lower_case_x_and_full_width_digits() -> None:
    assert _found("证号11010519491231002x。") == [("id18", "11010519491231002x")]
    wide = "11010519491231002X".translate(FULL_WIDTH)
    text = f"身份证号：{wide}，电话{'13812345678'.translate(FULL_WIDTH)}。"
    spans = pattern_spans(text)
    _check_offsets(text, spans)
    assert [(s.kind, s.text) for s in spans] == [
        ("id18", wide),
        ("phone", "１３８１２３４５６７８"),
    ]


@pytest.mark.parametrize(
    "decoy",
    [
        "110105194912310021",  # wrong check digit (should be X)
        "450102198001010112",  # wrong check digit (should be 1)
        _id18("11010519491331002"),  # month 13
        "桂政发〔1998〕12号",
        "1998年3月12日",
        "19980312",
        "1998.03.12",
        "Z109-WS·2011-Y-BGS-0001",
        "9" + "11010519491231002X".replace("X", "0") + "7",  # 20 digits around a near-ID
        "9" + _id18("45010219800101011") + "7",  # 20 digits with a valid ID inside
        "12345678901234567890123",
        "201103120001",  # 12-digit serial
        "19980312001",  # 11-digit serial starting with a date, not a phone
    ],
)
def test_decoys_give_no_spans(decoy: str) -> None:
    assert pattern_spans(f"编号：{decoy}。") == []
    assert pattern_spans(f"根据{decoy}文件精神办理") == []


def test_digits_inside_longer_runs_are_ignored() -> None:
    valid = "11010519491231002X"
    assert _found(f"档案条码1{valid}") == []  # 19 characters
    assert _found(f"身份证号{valid}0") == []
    assert _found(f"身份证号{valid}。") == [("id18", valid)]
    assert _found(f"身份证号{valid}号") == [("id18", valid)]


def test_mistyped_id_is_not_taken_for_a_credit_code() -> None:
    # all digits, ID-shaped, wrong check digit: neither an ID nor a 统一社会信用代码
    for tail in "0123456789":
        value = "45100219461622048" + tail
        assert all(s.kind != "uscc" for s in pattern_spans(f"编号：{value}。"))


def test_id15_needs_a_real_date_and_scores_lower_without_context() -> None:
    (with_word,) = pattern_spans("原身份证号：450102490101011。")
    (bare,) = pattern_spans("张三，450102490101011。")
    assert with_word.kind == bare.kind == "id15"
    assert with_word.score > bare.score
    assert _found("身份证号：450102491301011。") == []  # month 13
    assert _found("流水号450102490101011。") == []  # a serial number


def test_phones() -> None:
    assert _found("张三13812345678。") == [("phone", "13812345678")]
    assert _found("手机：138-1234-5678。") == [("phone", "138-1234-5678")]
    assert _found("电话+8613812345678。") == [("phone", "+8613812345678")]
    assert _found("联系电话：0771-5881234。") == [("phone", "0771-5881234")]
    assert _found("电话：0771—5881234。") == [("phone", "0771—5881234")]
    assert _found("联系电话(0771)5881234。") == [("phone", "(0771)5881234")]
    assert _found("Tel: 010-62345678-801") == [("phone", "010-62345678-801")]
    assert _found("座机07715881234") == [("phone", "07715881234")]
    # fixed numbers without a context word are not reported
    assert _found("编号0771-5881234。") == []
    assert _found("（0771）5881234") == []
    assert _found("登记号12345678901") == []  # 11 digits not starting 13–19


def test_bank_cards() -> None:
    unionpay = _card("622202020011234567")
    visa = _card("411111111111111")
    assert _found(f"工资卡号：{unionpay}。") == [("bankcard", unionpay)]
    assert _found(f"开户银行账号{visa}") == [("bankcard", visa)]
    grouped = " ".join(visa[i : i + 4] for i in range(0, 16, 4))
    assert _found(f"卡号：{grouped}。") == [("bankcard", grouped)]
    broken = unionpay[:-1] + str((int(unionpay[-1]) + 1) % 10)
    assert _found(f"银行卡号：{broken}。") == []
    # without a context word: Luhn alone is not enough; the UnionPay prefix gives a low score
    assert _found(f"张三 {visa}。") == []
    (bare,) = pattern_spans(f"张三 {unionpay}。")
    assert bare.kind == "bankcard" and bare.score < 0.6
    assert _found(f"流水号{unionpay}。") == []


def test_passports_need_a_context_word() -> None:
    assert _found("护照号码：E12345678，") == [("passport", "E12345678")]
    assert _found("持往来港澳通行证C12345678") == [("passport", "C12345678")]
    assert _found("台胞证号码12345678") == [("passport", "12345678")]
    assert _found("型号E12345678") == []
    assert _found("编号12345678") == []
    (span,) = pattern_spans("护照EA1234567")
    assert span.rule == "pattern:passport:cn-passport"


def test_credit_code_is_an_entity() -> None:
    text = "统一社会信用代码：91350100M000100Y43，"
    (span,) = pattern_spans(text)
    assert (span.kind, span.category, span.ground, span.text) == (
        "uscc",
        "entity",
        "",
        "91350100M000100Y43",
    )
    assert _found("代码91350100M000100Y44") == []  # wrong check character


def test_secret_marks() -> None:
    text = "机密★10年\n关于……的通知\n密级：绝密\n密 级：秘密★５年\n绝密★长期"
    spans = pattern_spans(text)
    _check_offsets(text, spans)
    assert [s.text for s in spans] == ["机密★10年", "密级：绝密", "密 级：秘密★５年", "绝密★长期"]
    assert {(s.kind, s.category, s.ground) for s in spans} == {
        ("secret-mark", "state_secret", "art8-1")
    }
    assert _found("保守商业秘密，严守机密。") == []


def test_mixed_document_offsets() -> None:
    text = (
        "干部履历表\n姓名：王建国  身份证号：４５０１０２１９８００１０１０１１１\n"
        "联系电话：0771—5881234，手机13912345678。\n工资卡号："
        + _card("621700123456789012")
        + "。\n绝密★20年 档号Z109-WS·2011-Y-BGS-0001 桂政发〔1998〕12号"
    )
    spans = pattern_spans(text)
    _check_offsets(text, spans)
    assert [s.kind for s in spans] == ["id18", "phone", "phone", "bankcard", "secret-mark"]
    assert spans == sorted(spans, key=lambda s: s.start)
