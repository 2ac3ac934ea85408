"""Field definitions of a 专题数据库 and an entry's values: problems in Chinese naming the field
and the rule; the kinds and conservation terms as data."""

from __future__ import annotations

from lantai.standards import exhibit_fields as ef


def test_kinds_and_their_default_fields() -> None:
    assert {k.code for k in ef.kinds()} >= {"red", "intangible", "event"}
    red = ef.default_fields("red")
    assert [f["label"] for f in red] == ["历史时期", "革命事件", "人物", "地点", "载体与保护状况"]
    period = red[0]["choices"]
    assert (
        period.index("新民主主义革命时期") < period.index("建党初期") < period.index("解放战争时期")
    )
    assert "社会主义革命和建设时期" in period
    assert red[4]["choices"][:2] == ["纸质", "照片"]
    ich = {f["key"]: f for f in ef.default_fields("intangible")}
    assert ich["level"]["choices"] == ["国家级", "自治区级", "市级", "县级"]
    assert (
        len(ich["category"]["choices"]) == 10
        and "传统体育、游艺与杂技" in ich["category"]["choices"]
    )
    assert [f["label"] for f in ef.default_fields("event")] == [
        "活动名称",
        "时间",
        "地点",
        "主办单位",
    ]
    assert ef.default_fields("no-such-kind") == ef.default_fields("other")
    assert ef.choice_years("red", "period")["抗日战争时期"] == (1937, 1945)
    for field in red + list(ich.values()):
        assert not ef.check_fields([field])[1]


def test_conservation_terms() -> None:
    grades = [g.value for g in ef.conservation_terms("grades")]
    assert grades[:4] == ["特残破损", "严重破损", "中度破损", "轻度破损"]
    assert {"霉变", "虫蛀", "酸化", "脆化", "粘连", "字迹褪变", "撕裂", "缺失"} <= {
        d.value for d in ef.conservation_terms("damage")
    }
    assert {"去酸", "修裱", "加固", "脱霉", "杀虫", "仿真复制", "数字化抢救"} <= {
        a.value for a in ef.conservation_terms("actions")
    }


def test_bad_field_definitions_name_the_field_and_rule() -> None:
    fields = [
        {"key": "period", "label": "历史时期", "type": "choice", "choices": ["甲", "甲"]},
        {"key": "period", "label": "重复", "type": "text"},
        {"key": "Bad", "label": "", "type": "colour"},
        "not a dict",
    ]
    _clean, problems = ef.check_fields(fields)
    assert "第 1 个著录项“历史时期”：选项有重复" in problems
    assert "第 2 个著录项“重复”：代码“period”重复" in problems
    assert any(p.startswith("第 3 个著录项：代码应以小写字母开头") for p in problems)
    assert "第 3 个著录项：名称不能为空" in problems
    assert any(p.startswith("第 3 个著录项：类型应为") for p in problems)
    assert "第 4 个著录项：应为键值对" in problems
    assert ef.check_fields("x")[1] == ["著录项定义应为列表"]
    assert any(
        "不能超过 30 个" in p
        for p in ef.check_fields(
            [{"key": f"k{n}", "label": "x", "type": "text"} for n in range(31)]
        )[1]
    )


def test_values_are_cleaned() -> None:
    fields = ef.default_fields("red") + [{"key": "when", "label": "时间", "type": "date"}]
    clean, problems = ef.check_values(
        fields, {"period": " 抗日战争时期 ", "people": "韦拔群、 邓小平；韦拔群", "places": ["百色", ""],
                 "event": "", "when": "1929-12"},
    )  # fmt: skip
    assert problems == []
    assert clean == {
        "period": "抗日战争时期",
        "people": ["韦拔群", "邓小平"],
        "places": ["百色"],
        "when": "1929-12",
    }


def test_bad_values_name_the_field_and_rule() -> None:
    fields = ef.default_fields("event") + [
        {"key": "level", "label": "级别", "type": "choice", "choices": ["国家级"]}
    ]
    _clean, problems = ef.check_values(
        fields, {"date": "1929/12/11", "level": "<b>省级</b>", "places": ["x" * 101], "ghost": 1},
    )  # fmt: skip
    assert "“活动名称”：必填" in problems
    assert any(p.startswith("“时间”：日期应写作") for p in problems)
    assert "“级别”：“<b>省级</b>”不在可选项中" in problems
    assert "“地点”：每项不能超过 100 个字符" in problems
    assert "“ghost”不是本数据库的著录项" in problems
    assert ef.check_values(fields, {"name": "x", "date": "1929-02-30"})[1] == [
        "“时间”：“1929-02-30”不是有效的日期"
    ]
    assert ef.check_values(fields, "x")[1] == ["著录内容应为键值对"]
    assert (
        "“地点”：不能超过 50 项"
        in ef.check_values(fields, {"name": "x", "places": [str(n) for n in range(51)]})[1]
    )
