"""Marriage registration profile: kinds, certificate numbers, 广西 region codes, export headers and
row validation (every rule, full-width input, 15/18-digit ID numbers)."""

from __future__ import annotations

from datetime import date

import pytest

from lantai.standards import marriage_profile as m
from lantai.standards.personal_ids import id15_to_18, id18_check_char

TODAY = date(2026, 12, 7)


def _id18(first17: str) -> str:
    return first17 + id18_check_char(first17)


HUSBAND = _id18("45010219800101011")  # sequence 011: odd → 男
WIFE = _id18("45010219820202002")  # sequence 002: even → 女
HUSBAND15 = "450102800101011"  # the same man's 15-digit number (1980-01-01, sequence 011)


def _row(**changes: str | None) -> dict[str, str]:
    row = {
        "登记类别": "结婚",
        "登记日期": "2010-05-01",
        "登记机关": "南宁市兴宁区民政局",
        "行政区划代码": "450102",
        "结婚证字号": "J450102-2010-000001",
        "男方姓名": "张三",
        "男方身份证件号": HUSBAND,
        "女方姓名": "李四",
        "女方身份证件号": WIFE,
    }
    for header, value in changes.items():
        if value is None:
            row.pop(header, None)
        else:
            row[header] = value
    return row


def _rules(row: dict[str, str]) -> list[str]:
    registration, problems = m.validate_row(row, today=TODAY)
    if problems:
        assert registration is None
    return [p.rule for p in problems]


# ------------------------------------------------------------------------------- kinds


def test_kinds_have_the_certificate_prefixes() -> None:
    assert [(k.code, k.label_zh, k.prefix) for k in m.kinds()] == [
        ("marriage", "结婚", "J"),
        ("divorce", "离婚", "L"),
        ("annulment", "撤销婚姻", "CX"),
        ("reissue_marriage", "补发结婚证", "BJ"),
        ("reissue_divorce", "补发离婚证", "BL"),
    ]
    assert m.kind("annulment").evidence == "[I]"  # CX is Lantai's own choice


@pytest.mark.parametrize(
    "name,code",
    [
        ("结婚", "marriage"),
        ("J", "marriage"),
        ("j", "marriage"),
        ("Ｊ", "marriage"),
        ("marriage", "marriage"),
        ("结婚登记", "marriage"),
        ("复婚", "marriage"),
        ("离婚", "divorce"),
        ("L", "divorce"),
        ("撤销婚姻", "annulment"),
        ("CX", "annulment"),
        ("补领结婚证", "reissue_marriage"),
        ("BJ", "reissue_marriage"),
        ("补发离婚证", "reissue_divorce"),
        (" BL ", "reissue_divorce"),
    ],
)
def test_kind_by_code_prefix_label_or_alias(name: str, code: str) -> None:
    assert m.kind(name).code == code


def test_unknown_kind_names_the_choices() -> None:
    with pytest.raises(m.MarriageProfileError) as exc:
        m.kind("订婚")
    assert "订婚" in exc.value.message_zh and "撤销婚姻" in exc.value.message_zh


def test_components_follow_the_regulation() -> None:
    marriage = {c.label_zh: c.required for c in m.kind("结婚").components}
    assert marriage["结婚登记审查处理表"] and marriage["申请结婚登记声明书"]
    assert marriage["当事人身份证件复印件"]
    assert "离婚协议书" in {c.label_zh for c in m.kind("离婚").components}
    assert "撤销婚姻申请书" in {c.label_zh for c in m.kind("撤销婚姻").components}


def test_retention_and_id_types() -> None:
    assert m.retention_choices() == ("D100", "Y")
    assert m.id_types()[0] == "居民身份证" and m.id_types()[-1] == "其他"
    assert "台湾居民来往大陆通行证" in m.id_types()


# ------------------------------------------------------------------------------- certificate numbers


@pytest.mark.parametrize(
    "text,expected",
    [
        ("J450102-2010-000001", ("J", "450102", 2010, "000001")),
        ("ｊ４５０１０２－２０１０－０００００１", ("J", "450102", 2010, "000001")),
        ("BL 450103-2021-012345", ("BL", "450103", 2021, "012345")),
        ("L4501032015000007", ("L", "450103", 2015, "000007")),
    ],
)
def test_parse_modern_certificate_numbers(text: str, expected: tuple[object, ...]) -> None:
    parsed = m.parse_certificate_number(text)
    assert parsed is not None and tuple(parsed) == expected
    assert parsed.text == f"{expected[0]}{expected[1]}-{expected[2]}-{expected[3]}"


@pytest.mark.parametrize(
    "text",
    ["桂南结字第000123号", "J45010-2010-000001", "J450102-2010-00001", "X450102-2010-000001", ""],
)
def test_other_forms_are_not_modern(text: str) -> None:
    assert m.parse_certificate_number(text) is None


def test_normalise_certificate_number() -> None:
    assert m.normalise_certificate_number(" 桂南结字第 ０００１２３号 ") == "桂南结字第000123号"
    assert m.normalise_certificate_number("bj450102-2010-000001") == "BJ450102-2010-000001"


# ------------------------------------------------------------------------------- regions


def test_region_names_and_paths() -> None:
    assert m.region_name("450000") == "广西壮族自治区"
    assert m.region_name("450100") == "南宁市"
    assert m.region_name("450102") == "兴宁区"
    assert m.region_name("451481") == "凭祥市"
    assert m.region_name("450127") == "横县"  # before 2021 (now 横州市 450181)
    assert m.region_name("110101") is None
    assert m.region_path("450181") == ("广西壮族自治区", "南宁市", "横州市")


def test_region_file_covers_all_fourteen_cities() -> None:
    cities = [f"45{i:02d}00" for i in range(1, 15)]
    assert all(m.region_name(c) for c in cities)
    assert m.region_name("451500") is None


@pytest.mark.parametrize(
    "code,problem",
    [
        ("450102", None),
        ("450122", None),  # 武鸣县, former
        ("110101", None),  # outside 广西: only the province is checked
        ("459999", "unknown"),
        ("990101", "province"),
        ("45010", "format"),
        ("45010A", "format"),
    ],
)
def test_region_problem(code: str, problem: str | None) -> None:
    assert m.region_problem(code) == problem


# ------------------------------------------------------------------------------- headers


def test_headers_of_civil_affairs_exports() -> None:
    hm = m.map_headers(
        ["业务类型", "登记日期", "婚姻登记机关", "区划代码", "证件字号", "男方姓名", "男方身份证件号", "女方 姓名",
         "女方（身份证号码）", "备注"]
    )  # fmt: skip
    assert hm.fields["业务类型"] == "kind"
    assert hm.fields["证件字号"] == "certificate_number"
    assert hm.fields["女方 姓名"] == "party2_name"
    assert hm.fields["女方（身份证号码）"] == "party2_id_number"
    assert hm.implied_sex == {1: "男", 2: "女"}
    assert hm.unknown == ("备注",)


def test_headers_party_numbering_and_field_names() -> None:
    hm = m.map_headers(
        ["当事人1姓名", "当事人2性别", "甲方证件类型", "party2_birth_date", "证号", "结婚证字号"]
    )
    assert hm.fields == {
        "当事人1姓名": "party1_name",
        "当事人2性别": "party2_sex",
        "甲方证件类型": "party1_id_type",
        "party2_birth_date": "party2_birth_date",
        "证号": "certificate_number",
        "结婚证字号": "certificate_number",
    }
    assert hm.implied_sex == {}
    assert hm.duplicates == ("结婚证字号",)


def test_header_map_is_column_index_to_header_and_names_missing_columns() -> None:
    headers = ["序号", "业务类型", "登记日期", None, "男方姓名", "男方身份证件号", "女方姓名"]
    hm = m.map_headers(headers)
    assert dict(hm) == {
        1: "业务类型",
        2: "登记日期",
        4: "男方姓名",
        5: "男方身份证件号",
        6: "女方姓名",
    }
    assert len(hm) == 5
    assert m.missing_columns(hm) == ["登记机关", "行政区划代码"]
    assert m.missing_columns(m.map_headers(list(_row()))) == []
    assert m.missing_columns(m.map_headers(["当事人1姓名"])) == [
        "登记类别", "登记日期", "登记机关", "行政区划代码", "女方姓名"
    ]  # fmt: skip


def test_importer_flow_rows_keyed_by_header_keep_the_implied_sex() -> None:
    headers = list(_row())
    cells = list(_row().values())
    hm = m.map_headers(["备注", *headers])
    row = {header: (["无", *cells])[i] for i, header in hm.items()}
    registration, problems = m.validate_row(row, today=TODAY)
    assert problems == [] and registration is not None
    bad = dict(row, 男方身份证件号=_id18("45010219800101022"))  # a woman's number as 男方
    _, problems = m.validate_row(bad, today=TODAY)
    assert [p.rule for p in problems] == ["id_sex"]


# ------------------------------------------------------------------------------- valid rows


def test_valid_row() -> None:
    registration, problems = m.validate_row(_row(), today=TODAY)
    assert problems == []
    assert registration is not None
    assert registration.kind == "marriage"
    assert registration.date == date(2010, 5, 1)
    assert registration.region_code == "450102"
    assert registration.certificate_number == "J450102-2010-000001"
    assert registration.retention == "D100"
    husband, wife = registration.parties
    assert (husband.name, husband.sex, husband.id_type) == ("张三", "男", "居民身份证")
    assert husband.nationality == "中国"
    assert husband.birth_date == date(1980, 1, 1)  # from the ID number
    assert (wife.sex, wife.birth_date) == ("女", date(1982, 2, 2))


def test_full_width_and_spaced_values_are_normalised() -> None:
    fw = "".join(chr(ord(c) + 0xFEE0) if c.isalnum() and c.isascii() else c for c in HUSBAND)
    registration, problems = m.validate_row(
        _row(
            登记日期="２０１０年５月１日",
            行政区划代码="４５０１０２",
            结婚证字号="Ｊ４５０１０２－２０１０－０００００１",
            男方姓名="张　三",
            男方身份证件号=fw,
        ),
        today=TODAY,
    )
    assert problems == []
    assert registration is not None
    assert registration.parties[0].name == "张三"
    assert registration.parties[0].id_number == HUSBAND
    assert registration.certificate_number == "J450102-2010-000001"


def test_lower_case_x_becomes_upper_case() -> None:
    wife_x = "11010519491231002X"  # hand-checked in test_personal_ids; sequence 002: 女
    registration, problems = m.validate_row(
        _row(女方身份证件号=wife_x.lower(), 登记日期="1990-01-01", 结婚证字号=None), today=TODAY
    )
    assert problems == []
    assert registration is not None and registration.parties[1].id_number == wife_x


def test_fifteen_digit_id_is_kept_as_given() -> None:
    registration, problems = m.validate_row(
        _row(男方身份证件号=HUSBAND15, 登记日期="1995-03-08", 结婚证字号=None), today=TODAY
    )
    assert problems == []
    assert registration is not None
    assert registration.parties[0].id_number == HUSBAND15
    assert registration.parties[0].birth_date == date(1980, 1, 1)


def test_party_numbering_with_sex_columns_and_old_records_without_ids() -> None:
    row = {
        "登记类型": "离婚登记",
        "办理日期": "1962/3/4",
        "登记机关": "桂林市民政局",
        "行政区划代码": "450300",
        "证号": "桂林离字第12号",
        "保管期限": "永久",
        "当事人1姓名": "王五",
        "当事人1性别": "1",
        "当事人2姓名": "赵六",
        "当事人2性别": "女",
        "当事人2出生日期": "1940-07-01",
    }
    registration, problems = m.validate_row(row, today=TODAY)
    assert problems == []
    assert registration is not None
    assert registration.kind == "divorce"
    assert registration.retention == "Y"
    assert registration.certificate_number == "桂林离字第12号"
    assert registration.parties[0].id_number is None and registration.parties[0].sex == "男"
    assert registration.parties[1].birth_date == date(1940, 7, 1)


def test_foreign_party_with_passport_and_latin_name() -> None:
    registration, problems = m.validate_row(
        _row(
            女方姓名="Nguyễn Thị Hoa",
            女方身份证件号="C1234567",
            女方证件类型="护照",
            女方国籍="越南",
        ),
        today=TODAY,
    )
    assert problems == []
    assert registration is not None
    wife = registration.parties[1]
    assert (wife.id_type, wife.id_number, wife.nationality, wife.birth_date) == (
        "护照",
        "C1234567",
        "越南",
        None,
    )


def test_region_outside_guangxi_with_a_valid_province() -> None:
    registration, problems = m.validate_row(
        _row(行政区划代码="110101", 结婚证字号="J110101-2010-000001"), today=TODAY
    )
    assert problems == [] and registration is not None


def test_minority_name_with_middle_dot_variants() -> None:
    registration, problems = m.validate_row(_row(女方姓名="阿依古丽•买买提"), today=TODAY)
    assert problems == []
    assert registration is not None and registration.parties[1].name == "阿依古丽·买买提"


# ------------------------------------------------------------------------------- bad rows


@pytest.mark.parametrize(
    "changes,rule,column",
    [
        ({"登记类别": "订婚"}, "kind", "登记类别"),
        ({"登记类别": ""}, "required", "登记类别"),
        ({"登记日期": None}, "required", "登记日期"),
        ({"登记日期": "2010-13-01"}, "date_format", "登记日期"),
        ({"登记日期": "去年"}, "date_format", "登记日期"),
        ({"登记日期": "2027-01-01", "结婚证字号": None}, "date_future", "登记日期"),
        ({"登记日期": "1949-10-01", "结婚证字号": None}, "date_too_early", "登记日期"),
        ({"登记机关": ""}, "required", "登记机关"),
        ({"登记机关": "局" * 101}, "office_length", "登记机关"),
        ({"行政区划代码": "4501"}, "region_format", "行政区划代码"),
        ({"行政区划代码": "459901"}, "region_unknown", "行政区划代码"),
        ({"行政区划代码": "990101"}, "region_province", "行政区划代码"),
        ({"结婚证字号": "J450102-2010-01"}, "cert_format", "结婚证字号"),
        ({"结婚证字号": "L450102-2010-000001"}, "cert_kind", "结婚证字号"),
        ({"结婚证字号": "J450102-2011-000001"}, "cert_year", "结婚证字号"),
        ({"结婚证字号": "J450103-2010-000001"}, "cert_region", "结婚证字号"),
        ({"结婚证字号": "字" * 41}, "cert_length", "结婚证字号"),
        ({"保管期限": "30年"}, "retention", "保管期限"),
        ({"保管期限": "随便"}, "retention", "保管期限"),
        ({"男方姓名": "张3"}, "name_chars", "男方姓名"),
        ({"男方姓名": "<script>"}, "name_chars", "男方姓名"),
        ({"男方姓名": "张\x00三"}, "name_chars", "男方姓名"),
        ({"男方姓名": "张" * 31}, "name_length", "男方姓名"),
        ({"女方姓名": None}, "required", "女方姓名"),
        ({"男方性别": "未知"}, "sex", "男方性别"),
        ({"男方性别": "女"}, "sex_conflict", "男方性别"),
        ({"男方证件类型": "驾驶证"}, "id_type", "男方证件类型"),
        (
            {"男方身份证件号": HUSBAND[:-1] + ("0" if HUSBAND[-1] != "0" else "1")},
            "id_checksum",
            "男方身份证件号",
        ),
        ({"男方身份证件号": HUSBAND[:-2]}, "id_length", "男方身份证件号"),
        ({"男方身份证件号": _id18("99010219800101011")}, "id_region", "男方身份证件号"),
        ({"男方身份证件号": _id18("45010220300101011")}, "id_date", "男方身份证件号"),
        ({"男方身份证件号": "450102801301011"}, "id_date", "男方身份证件号"),
        ({"男方证件类型": "护照", "男方身份证件号": "E1"}, "id_format", "男方身份证件号"),
        ({"男方身份证件号": WIFE, "女方身份证件号": HUSBAND}, "id_sex", "男方身份证件号"),
        ({"男方出生日期": "1980/13/01"}, "birth_date_format", "男方出生日期"),
        ({"男方出生日期": "1980-01-02"}, "birth_date_conflict", "男方出生日期"),
        (
            {"男方身份证件号": _id18("45010220110101011")},
            "birth_after_registration",
            "男方身份证件号",
        ),
        ({"女方身份证件号": HUSBAND}, "same_person", "女方身份证件号"),
        (
            {"女方身份证件号": HUSBAND15},
            "same_person",
            "女方身份证件号",
        ),  # 15 = its 18-digit upgrade
        ({"证号": "J450102-2010-000002"}, "duplicate_column", "证号"),
    ],
)
def test_bad_rows(changes: dict[str, str | None], rule: str, column: str) -> None:
    registration, problems = m.validate_row(_row(**changes), today=TODAY)
    assert registration is None
    found = [p for p in problems if p.rule == rule]
    assert found, [p.rule for p in problems]
    assert found[0].column == column
    assert f"“{column}”" in found[0].message_zh
    assert repr(column) in found[0].message_en


def test_every_problem_names_its_column_in_both_languages() -> None:
    row = _row(登记类别="x", 登记日期="2099-01-01", 行政区划代码="459999", 男方姓名="3")
    _, problems = m.validate_row(row, today=TODAY)
    assert {p.rule for p in problems} >= {"kind", "date_future", "region_unknown", "name_chars"}
    for p in problems:
        assert f"“{p.column}”" in p.message_zh
        assert repr(p.column) in p.message_en


def test_same_person_in_other_kinds_too() -> None:
    rules = _rules(_row(登记类别="离婚", 结婚证字号=None, 女方身份证件号=HUSBAND, 女方性别="男"))
    assert "same_person" in rules


def test_hostile_values_do_not_crash() -> None:
    row: dict[str, object] = {k: v for k, v in _row().items()}
    row["登记日期"] = None
    row["男方姓名"] = 12345
    row["女方姓名"] = "李" * 10_000
    registration, problems = m.validate_row(row, today=TODAY)
    assert registration is None
    assert {"required", "name_chars", "name_length"} <= {p.rule for p in problems}


def test_id_key_equates_15_and_18_digit_numbers() -> None:
    assert m.id_key(HUSBAND15) == m.id_key(HUSBAND) == id15_to_18(HUSBAND15)
    assert m.id_key(" 11010519491231002x ") == "11010519491231002X"
    assert m.id_key("ｃ１２３４５６７") == "C1234567"
