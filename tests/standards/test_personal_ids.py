"""公民身份号码, bank cards, 统一社会信用代码 and passport numbers: validation by hand-computed examples."""

from __future__ import annotations

import random
from datetime import date

import pytest

from lantai.standards import personal_ids as p


def _id18(first17: str) -> str:
    return first17 + p.id18_check_char(first17)


def test_id18_check_digit_computed_by_hand() -> None:
    # 1·7+1·9+0·10+1·5+0·8+5·4+1·2+9·1+4·6+9·3+1·7+2·9+3·10+1·5+0·8+0·4+2·2 = 167;
    # 167 mod 11 = 2 → "10X98765432"[2] = X
    assert p.id18_check_char("11010519491231002") == "X"
    assert p.id18_problem("11010519491231002X") is None
    assert p.id18_problem("11010519491231002x") is None  # lower-case x accepted
    # 4·7+5·9+0·10+1·5+0·8+2·4+1·2+9·1+8·6+0·3+0·7+1·9+0·10+1·5+0·8+1·4+1·2 = 165 → 0 → "1"
    assert p.id18_check_char("45010219800101011") == "1"
    assert p.id18_problem("450102198001010111") is None


@pytest.mark.parametrize(
    "value,problem",
    [
        ("110105194912310021", "checksum"),  # last digit should be X
        ("11010519491231002", "length"),
        ("11010519491231002X1", "length"),
        ("1101051949123100AX", "format"),
        ("11010519491231002Y", "format"),
        ("１１０１０５１９４９１２３１００２Ｘ", "format"),  # full-width: callers normalise first
    ],
)
def test_id18_problems(value: str, problem: str) -> None:
    assert p.id18_problem(value) == problem


def test_id18_date_must_be_real_and_between_1860_and_today() -> None:
    assert p.id18_problem(_id18("11010519490229002")) == "date"  # 1949 is not a leap year
    assert p.id18_problem(_id18("11010519480229002")) is None
    assert p.id18_problem(_id18("11010519491301002")) == "date"
    assert p.id18_problem(_id18("11010518591231002")) == "date"
    assert p.id18_problem(_id18("11010518600101002")) is None
    assert p.id18_problem(_id18("11010520300101002")) == "date"  # in the future
    assert p.id18_problem(_id18("11010520300101002"), today=date(2031, 1, 1)) is None


def test_id18_region_only_needs_a_province() -> None:
    assert p.id18_problem(_id18("00010519491231002")) == "region"
    assert p.id18_problem(_id18("99010519491231002")) == "region"
    # a county code that does not exist today (or never did) is fine: old IDs keep old codes
    assert p.id18_problem(_id18("45999919491231002")) is None
    assert p.id18_problem(_id18("83000019491231002")) is None  # 台湾居民居住证


def test_id18_births_1900_to_2005_all_valid() -> None:
    rng = random.Random(7)
    for year in range(1900, 2006):
        born = date(year, rng.randint(1, 12), rng.randint(1, 28))
        region = rng.choice(["450102", "110101", "510202", "460001", "820000"])
        value = _id18(f"{region}{born:%Y%m%d}{rng.randint(0, 999):03d}")
        assert p.id18_problem(value) is None, value


def test_id15() -> None:
    assert p.id15_problem("110105491231002") is None
    assert p.id15_problem("110105490229002") == "date"
    assert p.id15_problem("000105491231002") == "region"
    assert p.id15_problem("11010549123100") == "length"
    assert p.id15_problem("11010549123100A") == "format"
    assert p.id15_to_18("110105491231002") == "11010519491231002X"
    with pytest.raises(p.PersonalIdError) as err:
        p.id15_to_18("110105491331002")
    assert err.value.problem == "date"
    assert "15位身份证号码" in err.value.message_zh and "出生日期" in err.value.message_zh


def test_luhn_and_bank_cards() -> None:
    assert p.luhn_ok("79927398713")  # the textbook example
    assert not p.luhn_ok("79927398710")
    assert not p.luhn_ok("7992739871a")
    assert not p.luhn_ok("0")
    assert p.bankcard_problem("4111111111111111") is None  # Visa test number
    assert p.bankcard_problem("6222020200112345678") == "checksum"
    assert p.bankcard_problem("6222020200112345679") is None
    assert p.bankcard_strong_prefix("6222020200112345679")
    assert p.bankcard_problem("1234567812345670") == "issuer"  # Luhn passes, no such issuer
    assert p.bankcard_problem("411111111111") == "length"
    assert p.bankcard_problem("41111111111111111111") == "length"


# codes of well-known companies (published on their licences)
REAL_USCC = ["91350100M000100Y43", "91110108551385082Q", "91330100716105852F", "9144030071526726XG"]


@pytest.mark.parametrize("code", REAL_USCC)
def test_uscc_valid(code: str) -> None:
    assert p.uscc_problem(code) is None
    assert p.uscc_check_char(code[:17]) == code[17]


def test_uscc_problems() -> None:
    assert p.uscc_problem("91110108551385083Q") == "checksum"
    assert p.uscc_problem("9111010855138508IQ") == "format"  # I is not in the alphabet
    assert p.uscc_problem("91110108551385082q") == "format"  # upper case only
    assert p.uscc_problem("9111010855138508Q") == "length"
    body = "B1110108551385082"  # B is no registration authority
    assert p.uscc_problem(body + p.uscc_check_char(body)) == "authority"
    body = "9107A108551385082"  # positions 3–8 must be a region code
    assert p.uscc_problem(body + p.uscc_check_char(body)) == "region"
    body = "91110108551385083"  # organisation code check character broken, USCC check redone
    assert p.uscc_problem(body + p.uscc_check_char(body)) == "organisation"


@pytest.mark.parametrize(
    "value,kind",
    [
        ("E12345678", "cn-passport"),
        ("G12345678", "cn-passport"),
        ("EA1234567", "cn-passport"),
        ("EI1234567", None),  # no I or O after E
        ("E1234567", None),
        ("H12345678", "hk-mo-home-return-permit"),
        ("M1234567890", "hk-mo-home-return-permit"),
        ("H123456789", None),
        ("C12345678", "to-hk-mo-permit"),
        ("CA1234567", "to-hk-mo-permit"),
        ("12345678", None),  # 台胞证 numbers are bare digits: only with a context word
        ("X12345678", None),
    ],
)
def test_passport_kind(value: str, kind: str | None) -> None:
    assert p.passport_kind(value) == kind


def test_taiwan_permit_needs_context() -> None:
    assert p.passport_kind("12345678", with_context=True) == "tw-compatriot-permit"
