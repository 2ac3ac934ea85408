"""Who may see marriage records: each requester type allowed and refused, and rules files with
mistakes (place and rule named)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from lantai.standards import marriage_rights as r
from lantai.standards._data import load_data
from lantai.standards.personal_ids import id18_check_char

RULES = r.load_rules()


def _id18(first17: str) -> str:
    return first17 + id18_check_char(first17)


HUSBAND = _id18("45010219800101011")
HUSBAND15 = "450102800101011"
WIFE = _id18("45010219820202002")
STRANGER = _id18("45030219750505013")
PARTIES = [HUSBAND, WIFE]


def _request(requester_type: str, **fields: Any) -> r.Request:
    base: dict[str, Any] = {
        "requester_type": requester_type,
        "requester_name": "王律",
        "requester_id": STRANGER,
        "proofs": {},
    }
    base.update(fields)
    return r.Request(**base)


# ------------------------------------------------------------------------------- shipped rules


def test_shipped_rules_cover_every_requester_type() -> None:
    assert set(RULES.requester_types) == set(r.REQUESTER_TYPES)
    assert RULES.version_label.startswith("婚姻登记档案管理办法")
    assert RULES.requester_types["lawyer"].scope == "case_parties"
    assert RULES.requester_types["police"].proofs == ("unit_letter", "work_id")


def test_dict_and_text_give_the_same_rules() -> None:
    data = load_data("marriage-rights.yaml")
    assert r.load_rules(dict(data)) == r.load_rules(yaml.safe_dump(dict(data), allow_unicode=True))


# ------------------------------------------------------------------------------- per requester type


def test_self_sees_own_records_only() -> None:
    request = _request("self", requester_id=HUSBAND, proofs={"id_document": "身份证原件已核验"})
    assert r.check_request(RULES, request) == []
    assert r.may_see(RULES, request, PARTIES)
    assert not r.may_see(RULES, request, [WIFE, STRANGER])


def test_self_with_15_digit_id_sees_record_stored_with_18_digits() -> None:
    request = _request("self", requester_id=HUSBAND15, proofs={"id_document": "旧身份证"})
    assert r.may_see(RULES, request, PARTIES)
    request18 = _request("self", requester_id=HUSBAND.lower(), proofs={"id_document": "x"})
    assert r.may_see(RULES, request18, [HUSBAND15, WIFE])


def test_self_without_id_document_is_refused() -> None:
    request = _request("self", requester_id=HUSBAND, proofs={"id_document": "  "})
    problems = r.check_request(RULES, request)
    assert [p.field for p in problems] == ["proofs.id_document"]
    assert "本人有效身份证件" in problems[0].message_zh and problems[0].message_en
    assert not r.may_see(RULES, request, PARTIES)


def test_self_without_requester_id_is_refused() -> None:
    request = _request("self", requester_id="", proofs={"id_document": "x"})
    assert [p.field for p in r.check_request(RULES, request)] == ["requester_id"]
    assert not r.may_see(RULES, request, PARTIES)


def test_proxy_sees_the_principals_records() -> None:
    proofs = {"id_document": "x", "notarised_power_of_attorney": "(2026)桂南证字第123号"}
    request = _request("proxy", principal_id=WIFE, proofs=proofs)
    assert r.check_request(RULES, request) == []
    assert r.may_see(RULES, request, PARTIES)
    assert not r.may_see(RULES, request, [STRANGER, HUSBAND])


def test_proxy_without_notarised_power_of_attorney_is_refused() -> None:
    request = _request("proxy", principal_id=WIFE, proofs={"id_document": "x"})
    problems = r.check_request(RULES, request)
    assert [p.field for p in problems] == ["proofs.notarised_power_of_attorney"]
    assert "经公证的授权委托书" in problems[0].message_zh
    assert not r.may_see(RULES, request, PARTIES)
    no_principal = _request(
        "proxy", proofs={"id_document": "x", "notarised_power_of_attorney": "y"}
    )
    assert [p.field for p in r.check_request(RULES, no_principal)] == ["principal_id"]


@pytest.mark.parametrize("requester_type", ["court", "procuratorate", "police", "state_security"])
def test_state_organs_with_letter_and_work_id_see_any_record(requester_type: str) -> None:
    request = _request(requester_type, proofs={"unit_letter": "介字第7号", "work_id": "警号012345"})
    assert r.check_request(RULES, request) == []
    assert r.may_see(RULES, request, [STRANGER, WIFE])


@pytest.mark.parametrize("requester_type", ["court", "procuratorate", "police", "state_security"])
def test_state_organs_without_work_id_are_refused(requester_type: str) -> None:
    request = _request(requester_type, proofs={"unit_letter": "介字第7号"})
    problems = r.check_request(RULES, request)
    assert [p.field for p in problems] == ["proofs.work_id"]
    assert "本人工作证件" in problems[0].message_zh
    assert not r.may_see(RULES, request, PARTIES)


def test_lawyer_sees_only_records_of_the_case_parties() -> None:
    proofs = {"id_document": "x", "court_case_certificate": "(2026)桂0102民初100号"}
    request = _request("lawyer", proofs=proofs, case_party_ids=[HUSBAND15])
    assert r.check_request(RULES, request) == []
    assert r.may_see(RULES, request, PARTIES)  # 15-digit on the certificate = 18-digit stored
    assert not r.may_see(RULES, request, [WIFE, STRANGER])


def test_lawyer_case_parties_by_name_alone_are_refused_namesakes_would_match() -> None:
    proofs = {"id_document": "x", "court_case_certificate": "y"}
    request = _request("lawyer", proofs=proofs, case_party_ids=["李 四"])
    assert [p.field for p in r.check_request(RULES, request)] == ["case_party_ids"]
    assert not r.may_see(RULES, request, PARTIES, party_names=["张三", "李四"])
    both = _request("lawyer", proofs=proofs, case_party_ids=["李四", HUSBAND])
    assert r.may_see(RULES, both, PARTIES, party_names=["张三", "李四"])


def test_lawyer_without_court_certificate_or_parties_is_refused() -> None:
    request = _request("lawyer", proofs={"id_document": "x"}, case_party_ids=[HUSBAND])
    assert [p.field for p in r.check_request(RULES, request)] == ["proofs.court_case_certificate"]
    assert not r.may_see(RULES, request, PARTIES)
    empty = _request("lawyer", proofs={"id_document": "x", "court_case_certificate": "y"})
    assert [p.field for p in r.check_request(RULES, empty)] == ["case_party_ids"]
    assert not r.may_see(RULES, empty, PARTIES)


def test_other_needs_purpose_and_a_named_approver() -> None:
    approved = _request(
        "other",
        proofs={"id_document": "x", "leader_approval": "批字12号"},
        purpose="继承公证",
        approved_by="馆长 刘某",
    )
    assert r.check_request(RULES, approved) == []
    assert r.may_see(RULES, approved, [STRANGER])
    unnamed = _request(
        "other", proofs={"id_document": "x", "leader_approval": "批字12号"}, purpose="继承公证"
    )
    assert [p.field for p in r.check_request(RULES, unnamed)] == ["approved_by"]
    assert not r.may_see(RULES, unnamed, [STRANGER])
    no_purpose = _request("other", proofs={"id_document": "x"}, approved_by="刘某")
    assert [p.field for p in r.check_request(RULES, no_purpose)] == ["proofs.stated_purpose"]


def test_unknown_requester_type_and_missing_name() -> None:
    problems = r.check_request(RULES, _request("journalist"))
    assert [p.rule for p in problems] == ["requester_type"]
    assert "journalist" in problems[0].message_zh
    assert not r.may_see(RULES, _request("journalist"), PARTIES)
    nameless = _request("court", requester_name=" ", proofs={"unit_letter": "a", "work_id": "b"})
    assert [p.field for p in r.check_request(RULES, nameless)] == ["requester_name"]


def test_edited_rules_change_the_outcome() -> None:
    data = copy.deepcopy(dict(load_data("marriage-rights.yaml")))
    data["requester_types"]["police"]["proofs"] = ["unit_letter"]  # an edited, versioned rule
    data["version"] = "2026-2"
    edited = r.load_rules(data)
    request = _request("police", proofs={"unit_letter": "介字第7号"})
    assert r.may_see(edited, request, PARTIES)
    assert not r.may_see(RULES, request, PARTIES)
    assert edited.version == "2026-2"


# ------------------------------------------------------------------------------- bad rules files


def _edited(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(dict(load_data("marriage-rights.yaml")))
    change(data)
    return data


@pytest.mark.parametrize(
    "change,place,rule",
    [
        (lambda d: d["requester_types"].pop("lawyer"), "requester_types.lawyer", "missing_type"),
        (
            lambda d: d["requester_types"]["lawyer"]["proofs"].append("court_letter"),
            "requester_types.lawyer.proofs[2]",
            "unknown_proof",
        ),
        (
            lambda d: d["requester_types"]["court"].update(scope="everything"),
            "requester_types.court.scope",
            "scope",
        ),
        (
            lambda d: d["requester_types"]["court"].update(proofs=[]),
            "requester_types.court.proofs",
            "proofs",
        ),
        (
            lambda d: d["requester_types"]["court"].update(proofs=["work_id", "work_id"]),
            "requester_types.court.proofs[1]",
            "duplicate_proof",
        ),
        (
            lambda d: d["requester_types"]["other"].update(proofs=["id_document"]),
            "requester_types.other.proofs",
            "approval_proof",
        ),
        (
            lambda d: d["requester_types"]["self"].update(proof=["id_document"]),
            "requester_types.self.proof",
            "unknown_key",
        ),
        (
            lambda d: d["requester_types"]["self"].pop("label_zh"),
            "requester_types.self.label_zh",
            "required",
        ),
        (
            lambda d: d["proof_kinds"]["work_id"].update(request_field="password"),
            "proof_kinds.work_id.request_field",
            "request_field",
        ),
        (lambda d: d["proof_kinds"].update({"Bad Code": {}}), "proof_kinds.Bad Code", "code"),
        (lambda d: d.update(proof_kinds=[]), "proof_kinds", "mapping"),
        (lambda d: d.update(version_label=""), "(顶层).version_label", "required"),
        (lambda d: d.update(extra=1), "extra", "unknown_key"),
    ],
)
def test_bad_rules_name_place_and_rule(change: Any, place: str, rule: str) -> None:
    with pytest.raises(r.RulesError) as exc:
        r.load_rules(_edited(change))
    assert (exc.value.place, exc.value.rule) == (place, rule)
    assert place in exc.value.message_zh and exc.value.message_en


def test_broken_yaml_names_the_line() -> None:
    with pytest.raises(r.RulesError) as exc:
        r.load_rules("version: 1\nrequester_types: [unclosed\n")
    assert exc.value.rule == "yaml" and exc.value.place.startswith("第")
    with pytest.raises(r.RulesError) as top:
        r.load_rules("- just a list")
    assert top.value.rule == "mapping"


def test_an_edited_version_with_a_nested_proof_list_or_an_unknown_type_is_refused() -> None:
    nested = copy.deepcopy(load_data("marriage-rights.yaml"))
    nested["requester_types"]["self"]["proofs"] = [["id_document"]]
    with pytest.raises(r.RulesError) as caught:
        r.load_rules(nested)
    assert caught.value.rule == "unknown_proof" and "self.proofs[0]" in caught.value.place
    extra = copy.deepcopy(load_data("marriage-rights.yaml"))
    extra["requester_types"][7] = extra["requester_types"]["self"]
    with pytest.raises(r.RulesError) as unknown:
        r.load_rules(extra)
    assert unknown.value.rule == "unknown_type"
