"""Fuzzy name keys: 同音 (pinyin), 形近 (shape groups), missing middle character, surname readings."""

from __future__ import annotations

import pytest

from lantai.standards import marriage_names as n
from lantai.standards._data import load_data


def test_pinyin_key_is_toneless_and_unseparated() -> None:
    assert n.name_keys("王小明").pinyin == "wangxiaoming"
    assert n.name_keys("吕丽").pinyin == "lvli"


@pytest.mark.parametrize(
    "name,pinyin",
    [
        ("单田芳", "shantianfang"),
        ("曾国藩", "zengguofan"),
        ("仇英", "qiuying"),
        ("尉迟恭", "yuchigong"),
    ],
)
def test_surnames_read_as_surnames(name: str, pinyin: str) -> None:
    assert n.name_keys(name).pinyin == pinyin


def test_surname_reading_only_for_the_first_character() -> None:
    assert n.name_keys("王单").pinyin == "wangdan"


def test_homophones_share_the_pinyin_key() -> None:
    assert n.name_keys("王晓明").pinyin == n.name_keys("汪小鸣").pinyin
    assert n.name_keys("张伟").pinyin != n.name_keys("章为民").pinyin


def test_look_alikes_share_the_shape_key() -> None:
    assert n.name_keys("玉小明").shape == n.name_keys("王小明").shape
    assert n.name_keys("戌己").shape == n.name_keys("戊巳").shape
    assert n.name_keys("侯宝林").shape == n.name_keys("候宝林").shape
    assert n.name_keys("苟晓").shape == n.name_keys("荀晓").shape
    assert n.name_keys("王小明").shape != n.name_keys("李小明").shape


def test_skeleton_for_three_characters_and_more() -> None:
    assert n.name_keys("王小明").skeleton == "wangming"
    assert n.name_keys("欧阳娜娜").skeleton == "ouyangna"  # the compound surname whole
    assert n.name_keys("王明").skeleton is None
    assert n.name_keys("John Smith").skeleton is None


def test_two_character_query_finds_name_without_middle_character() -> None:
    pairs = dict(n.query_keys("王明"))
    assert pairs["name_skeleton"] == n.name_keys("王小明").skeleton
    assert pairs["name_pinyin"] == "wangming"
    assert "name_skeleton" not in dict(n.query_keys("王小明"))
    assert "name_skeleton" not in dict(n.query_keys("Li"))


def test_stored_and_queried_names_are_normalised_alike() -> None:
    assert n.name_keys("Ｗａｎｇ　Ｗｅｉ") == n.name_keys("wang  wei")
    assert n.name_keys("张 三") == n.name_keys("张三")
    assert n.name_keys("阿依古丽•买买提") == n.name_keys("阿依古丽·买买提")
    assert n.name_keys("阿依古丽·买买提").pinyin == "ayigulimaimaiti"


def test_similarity_ranks_exact_pinyin_shape_skeleton() -> None:
    exact = n.similarity("王小明", "王小明")
    homophone = n.similarity("王晓明", "王小明")
    look_alike = n.similarity("玉小明", "王小明")
    skeleton = n.similarity("王明", "王小明")
    unrelated = n.similarity("李四", "王小明")
    assert exact == 1.0
    assert exact > homophone > look_alike > skeleton > unrelated
    assert n.similarity("侯明", "候明") == 0.95  # same sound and same shape group
    assert 0 < n.similarity("王明", "王强") <= 0.5
    assert n.similarity("", "王明") == 0.0


def test_shape_groups_are_disjoint_and_substantial() -> None:
    groups = [str(g) for g in load_data("similar-characters.yaml")["groups"]]
    chars = "".join(groups)
    assert len(chars) == len(set(chars))
    assert len(chars) >= 300
    for required in ("己已巳", "未末", "士土", "籍藉", "侯候", "析柝", "栗粟"):
        assert any(set(required) <= set(g) for g in groups), required


def test_overlapping_groups_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # A data-file editing mistake cannot be produced without editing the shipped file, so the
    # loader is fed a patched copy of the data.
    from lantai.standards import _data

    data = dict(load_data("similar-characters.yaml"))
    data["groups"] = ["王玉", "玉主"]
    n._shape_table.cache_clear()
    monkeypatch.setattr(
        n, "load_data", lambda name: data if "similar" in name else _data.load_data(name)
    )
    try:
        with pytest.raises(_data.DataFileError, match="two groups"):
            n._shape_table()
    finally:
        n._shape_table.cache_clear()


def test_a_compound_surname_with_the_middle_character_left_out() -> None:
    stored = n.name_keys("欧阳明华")
    assert stored.skeleton == "ouyanghua"
    assert ("name_skeleton", "ouyanghua") in n.query_keys("欧阳华")
    assert n.similarity("欧阳华", "欧阳明华") == 0.6
    assert n.name_keys("王建华").skeleton == "wanghua"  # single surnames as before
