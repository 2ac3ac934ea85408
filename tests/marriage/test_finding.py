"""查档 of marriage records: the three ways in, what each requester may see, and the query log."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lantai.marriage import finding, identity
from lantai.marriage.models import Party, Query
from lantai.standards.marriage_rights import Request
from tests.marriage.conftest import HUSBAND, OTHER, WIFE, self_request

pytestmark = pytest.mark.django_db


def _find(criteria: finding.Criteria, request: Request) -> finding.Outcome:
    return finding.find(criteria, request, channel="cli", actor="tester")


def test_a_party_finds_her_own_records_by_id_and_by_its_15_digit_form(
    couple: dict[str, int],
) -> None:
    out = _find(finding.Criteria(id_number=WIFE.id_number or ""), self_request(WIFE))
    assert [h.record_id for h in out.hits] == [couple["marriage"], couple["divorce"]]
    assert out.hits[1].kind_label == "离婚" and out.withheld == 0
    legacy = (WIFE.id_number or "")[:6] + (WIFE.id_number or "")[8:17]  # 15 digits: YYMMDD
    again = _find(finding.Criteria(id_number=legacy), self_request(WIFE))
    assert [h.record_id for h in again.hits] == [couple["marriage"], couple["divorce"]]


def test_a_party_does_not_see_another_persons_records(couple: dict[str, int]) -> None:
    out = _find(finding.Criteria(id_number=OTHER.id_number or ""), self_request(WIFE))
    assert out.hits == [] and out.withheld == 1 and not out.refused


def test_a_court_with_letter_and_work_id_sees_any_record_without_them_nothing(
    couple: dict[str, int],
) -> None:
    court = Request(requester_type="court", requester_name="张法官", requester_id="",
                    proofs={"unit_letter": "（2026）岭01民初123号协查函", "work_id": "法001"})  # fmt: skip
    out = _find(finding.Criteria(id_number=OTHER.id_number or ""), court)
    assert [h.record_id for h in out.hits] == [couple["other"]]
    bare = Request(requester_type="court", requester_name="张法官", requester_id="", proofs={})
    refused = _find(finding.Criteria(id_number=OTHER.id_number or ""), bare)
    assert refused.hits == [] and refused.withheld == 0 and refused.refused
    logged = Query.objects.get(pk=refused.query_id)
    assert logged.refused and logged.shown == [] and logged.requester_type == "court"


def test_names_find_homophones_and_a_missing_middle_character_within_the_years(
    couple: dict[str, int],
) -> None:
    court = Request(requester_type="court", requester_name="张法官", requester_id="",
                    proofs={"unit_letter": "协查函", "work_id": "法001"})  # fmt: skip
    homophone = _find(finding.Criteria(names=("李秀瑛",), year=2011), court)  # 瑛 = 英 ying
    assert couple["marriage"] in [h.record_id for h in homophone.hits]
    missing = _find(finding.Criteria(names=("王华",), year=2010, years=0), court)
    assert [h.record_id for h in missing.hits] == [couple["marriage"]]
    too_far = _find(finding.Criteria(names=("王建华",), year=2013, years=2), court)
    assert couple["marriage"] not in [h.record_id for h in too_far.hits]
    both = _find(finding.Criteria(names=("王建华", "李秀英"), year=2016, years=1), court)
    assert [h.record_id for h in both.hits] == [couple["divorce"]]
    exact_first = _find(finding.Criteria(names=("李秀英",)), court)
    assert exact_first.hits[0].score >= exact_first.hits[-1].score


def test_a_certificate_number_typed_in_full_width_finds_its_record(couple: dict[str, int]) -> None:
    out = _find(
        finding.Criteria(cert_number="ｊ４９０１０２－２０１０－０００１２３"),
        self_request(HUSBAND),
    )
    assert [h.record_id for h in out.hits] == [couple["marriage"]]


@pytest.mark.parametrize(
    ("criteria", "field"),
    [
        (finding.Criteria(id_number="450103198605022221"), "id_number"),  # bad check character
        (finding.Criteria(id_number="4501"), "id_number"),
        (finding.Criteria(), "criteria"),
        (finding.Criteria(id_number="x", names=("王建华",)), "criteria"),
        (finding.Criteria(names=("王",)), "names"),
        (finding.Criteria(names=("王建华",), years=40), "years"),
    ],
)
def test_a_malformed_search_is_an_input_error_and_logs_nothing(
    couple: dict[str, int], criteria: finding.Criteria, field: str
) -> None:
    with pytest.raises(finding.FindError) as caught:
        _find(criteria, self_request(WIFE))
    assert caught.value.field == field and caught.value.message_zh
    assert not Query.objects.exists()


def test_no_full_identity_number_is_stored_or_logged(couple: dict[str, int]) -> None:
    from lantai.catalog.models import Record
    from lantai.core.models import AuditEntry

    _find(finding.Criteria(id_number=WIFE.id_number or ""), self_request(WIFE))
    numbers = [p.id_number for p in (HUSBAND, WIFE) if p.id_number]
    rows: list[Any] = [
        *Party.objects.values(), *Query.objects.values(), *AuditEntry.objects.values(),
        *Record.objects.values(),
    ]  # fmt: skip
    text = json.dumps(rows, default=str, ensure_ascii=False)
    for number in numbers:
        assert number not in text and number[:-1] not in text
    party = Party.objects.filter(name=WIFE.name).first()
    assert party is not None and identity.unseal(party.id_sealed) == WIFE.id_number
    assert party.id_masked == identity.mask(WIFE.id_number or "")


def test_numbers_typed_into_proofs_are_masked_and_the_scope_basis_is_logged(
    couple: dict[str, int],
) -> None:
    proxy = Request(requester_type="proxy", requester_name="代理人", requester_id=OTHER.id_number or "",
                    proofs={"id_document": f"身份证 {OTHER.id_number}",
                            "notarised_power_of_attorney": "（2026）岭南证字第12号"},
                    principal_id=WIFE.id_number or "")  # fmt: skip
    out = finding.find(finding.Criteria(id_number=WIFE.id_number or ""), proxy, channel="counter",
                       actor="clerk", access_request_id=7)  # fmt: skip
    assert [h.record_id for h in out.hits] == [couple["marriage"], couple["divorce"]]
    logged = Query.objects.get(pk=out.query_id)
    text = json.dumps([logged.proofs, logged.criteria], ensure_ascii=False)
    assert (OTHER.id_number or "") not in text and (WIFE.id_number or "") not in text
    assert logged.criteria["basis"] == {
        "principal": identity.mask(WIFE.id_number or ""), "case_parties": [], "access_request": 7,
    }  # fmt: skip
