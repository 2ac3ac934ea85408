"""The 查档窗口 (counter) pages with the Django test client, a real SQLite database and real
certificates (WeasyPrint, pyHanko, SM2): the walk from the requester to the certificate PDF, a
refused requester who sees nothing, records withheld from a requester, full identity numbers that
never reach the page of a counter clerk, a 查档申请 served at the counter and its certificate on the
citizen's status page, and revocation by two people."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from lantai.access import services as access_services
from lantai.access.models import AccessRequest, RequestNote
from lantai.catalog.models import Repository
from lantai.catalog.services import create_fonds, create_repository
from lantai.certificates.models import Certificate
from lantai.core import accounts
from lantai.core.models import AuditEntry
from lantai.marriage import identity, records
from lantai.marriage.models import Query
from lantai.standards.marriage_profile import Party, Registration

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite_run_only]

PASSWORD = "Counter#Password2026"


def resident_id(prefix17: str) -> str:
    """A resident ID number with its GB 11643 (MOD 11-2) check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(prefix17, weights, strict=True))
    return prefix17 + "10X98765432"[total % 11]


CITIZEN = resident_id("44030519850301123")
SPOUSE = resident_id("44030519870615562")
STRANGER = resident_id("44030419900101431")
NOBODY = resident_id("44030519950505001")  # no registration anywhere
CODE = "440305"
OURS = f"J{CODE}-2010-001234"  # 张三 (CITIZEN) and 李四 (SPOUSE)
THEIRS = f"J{CODE}-2012-000777"  # 王五 (STRANGER) and 赵六 (SPOUSE)


def registration(day: date, number: str, a: tuple[str, str], b: tuple[str, str]) -> Registration:
    def party(name: str, id_number: str, sex: str) -> Party:
        born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
        return Party(name, sex, identity.RESIDENT_ID, id_number, "中国", born)

    return Registration(
        kind="marriage", date=day, office="深圳市南山区民政局", region_code=CODE,
        certificate_number=number, retention="Y", parties=(party(*a, "男"), party(*b, "女")),
    )  # fmt: skip


def make_archives() -> Repository:
    repository = create_repository(CODE, "深圳市南山区档案馆", level="county", region=CODE)
    fonds = create_fonds("MZ01", "南山区民政局", repository=repository)
    records.write(fonds, [
        registration(date(2010, 5, 20), OURS, ("张三", CITIZEN), ("李四", SPOUSE)),
        registration(date(2012, 8, 8), THEIRS, ("王五", STRANGER), ("赵六", SPOUSE)),
    ])  # fmt: skip
    return repository


def signed_in(role: str, name: str | None = None) -> Client:
    user = accounts.create_user(
        name or f"web-{role}", role=role, password=PASSWORD, clearance=4, scope_all=True
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def archives(settings: Any) -> Repository:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_archives()


@pytest.fixture
def clerk(archives: Repository) -> Client:
    return signed_in("reading_room", "clerk")


@pytest.fixture
def archivist(archives: Repository) -> Client:
    return signed_in("marriage_archivist", "archivist")


def citizen_form(**changes: str) -> dict[str, str]:
    data = {
        "step": "requester", "requester_type": "self", "requester_name": "张三",
        "id_type": "resident_id", "requester_id": CITIZEN, "proof_id_document": "居民身份证（现场核验）",
        "purpose": "办理房产过户",
    }  # fmt: skip
    data.update(changes)
    return data


def search(client: Client, **given: str) -> str:
    data = {"step": "search", "mode": "id", "years": "2", **given}
    response = client.post(reverse("marriage:counter"), data)
    assert response.status_code == 200
    return response.content.decode()


def record_id(number: str) -> int:
    from lantai.marriage.models import Registration as Reg

    return Reg.objects.get(certificate_number=number).pk


def assert_no_full_ids(html: str) -> None:
    for number in (CITIZEN, SPOUSE, STRANGER):
        assert number not in html
        assert number[:6] + number[6:14] not in html  # nor its first 14 characters


def test_the_counter_walk_ends_with_a_certificate_pdf(clerk: Client) -> None:
    page = clerk.get(reverse("marriage:counter")).content.decode()
    assert "第一步：查询人" in page and "本人有效身份证件" in page  # the proofs each type needs
    # each proof field says which requester types need it (the page shows only those)
    assert 'data-types="court procuratorate police state_security"' in page
    assert page.count("data-types=") == 8  # 5 proofs, principal, case parties, approver
    response = clerk.post(reverse("marriage:counter"), citizen_form())
    assert response.status_code == 302
    page = clerk.get(reverse("marriage:counter")).content.decode()
    assert identity.mask(CITIZEN) in page and "第二步" in page
    assert_no_full_ids(page)

    page = search(clerk, id_number=CITIZEN)
    assert OURS in page and THEIRS not in page
    assert identity.mask(SPOUSE) in page
    assert_no_full_ids(page)  # the searched number is not echoed back either
    assert_no_full_ids(str(dict(clerk.session)))  # kept in the session only sealed
    assert "出具婚姻登记记录证明" in page and "出具无婚姻登记记录证明" not in page

    response = clerk.post(reverse("marriage:certify_records"), {"record": [record_id(OURS)]})
    assert response.status_code == 302
    cert = Certificate.objects.get()
    assert response["Location"] == reverse("marriage:certificate", args=[cert.number])
    page = clerk.get(response["Location"]).content.decode()
    assert cert.number in page and OURS in page and "申请撤销" in page
    assert_no_full_ids(page)
    pdf = clerk.get(reverse("marriage:certificate_pdf", args=[cert.number]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert cert.requester_type == "self" and cert.purpose == "办理房产过户"
    # the find and the certificate are both logged, as the citizen in person, by the clerk
    assert (
        list(Query.objects.values_list("requester_type", "actor", "channel"))
        == [("self", "clerk", "counter")] * 2
    )
    listing = clerk.get(reverse("marriage:certificates")).content.decode()
    assert cert.number in listing


def test_a_refused_requester_sees_nothing_but_the_rules_messages(clerk: Client) -> None:
    clerk.post(reverse("marriage:counter"), citizen_form(proof_id_document=""))
    page = search(clerk, id_number=CITIZEN)
    assert "婚姻当事人本人查档须提供：本人有效身份证件" in page
    assert OURS not in page and THEIRS not in page and "张三" not in page.split("查找结果")[1]
    assert 'id="hits"' not in page and "出具无婚姻登记记录证明" not in page
    query = Query.objects.get()
    assert query.refused and query.shown == []
    # nor can a certificate be had by posting the record straight to the certify step
    response = clerk.post(reverse("marriage:certify_records"), {"record": [record_id(OURS)]})
    assert response.status_code == 302 and not Certificate.objects.exists()


def test_records_of_others_are_withheld_and_only_staff_are_told(clerk: Client) -> None:
    clerk.post(reverse("marriage:counter"), citizen_form())
    page = search(clerk, mode="names", name1="赵六", year="2012")
    assert THEIRS not in page and "王五" not in page
    assert 'id="withheld"' in page and "另有 1 条" in page
    # a certificate of the withheld record is refused although its id is posted
    response = clerk.post(reverse("marriage:certify_records"), {"record": [record_id(THEIRS)]})
    assert response.status_code == 302 and not Certificate.objects.exists()
    messages = [str(m) for m in response.wsgi_request._messages]  # type: ignore[attr-defined]
    assert any("无权获得" in m for m in messages)


def test_a_court_sees_any_record_and_a_lawyer_only_the_case_parties(clerk: Client) -> None:
    clerk.post(reverse("marriage:counter"), citizen_form(
        requester_type="court", requester_name="南山区人民法院 陈法官", requester_id=STRANGER,
        proof_id_document="", proof_unit_letter="（2026）粤0305民初123号函", proof_work_id="法官证 0042",
    ))  # fmt: skip
    page = search(clerk, id_number=SPOUSE)
    assert OURS in page and THEIRS in page
    clerk.get(reverse("marriage:counter") + "?change=1")
    clerk.post(reverse("marriage:counter"), citizen_form(
        requester_type="lawyer", requester_name="刘律师", requester_id=STRANGER,
        proof_id_document="律师执业证", proof_court_case_certificate="（2026）粤0305民初9号",
        case_party_ids=CITIZEN,
    ))  # fmt: skip
    page = search(clerk, id_number=SPOUSE)
    assert OURS in page and THEIRS not in page and 'id="withheld"' in page
    assert_no_full_ids(page)


def test_no_record_certificate_for_an_id_search_with_nothing_visible(clerk: Client) -> None:
    clerk.post(reverse("marriage:counter"), citizen_form(
        requester_name="孙七", requester_id=NOBODY
    ))  # fmt: skip
    page = search(clerk, id_number=NOBODY)
    assert 'id="no-hits"' in page and "出具无婚姻登记记录证明" in page
    assert NOBODY not in page and identity.mask(NOBODY) in page
    response = clerk.post(reverse("marriage:certify_none"), {"subject_name": "孙七"})
    cert = Certificate.objects.get()
    assert cert.kind == "none_found" and response.status_code == 302
    # a names search offers no no-record certificate; posting one anyway is refused
    search(clerk, mode="names", name1="孙七")
    clerk.post(reverse("marriage:certify_none"), {"subject_name": "孙七"})
    assert Certificate.objects.count() == 1


def test_bad_input_is_a_form_error_not_a_query(clerk: Client) -> None:
    response = clerk.post(
        reverse("marriage:counter"), citizen_form(requester_id="440305198503011234")
    )
    assert response.status_code == 200 and "不是有效的居民身份证号码" in response.content.decode()
    clerk.post(reverse("marriage:counter"), citizen_form())
    page = search(clerk, id_number="<script>alert(1)</script>")
    assert "<script>alert(1)" not in page and "不是有效的居民身份证号码" in page
    page = search(clerk, mode="names", name1="张", name2="")
    assert "应为 2 至 30 个字" in page
    assert not Query.objects.exists()
    for bad in ({"record": ["x", "-1", "99999999999999999999"]}, {}):
        response = clerk.post(reverse("marriage:certify_records"), bad)
        assert response.status_code == 302
    assert not Certificate.objects.exists()


def test_full_ids_only_for_the_marriage_archivist_and_audited(
    clerk: Client, archivist: Client
) -> None:
    url = reverse("marriage:record", args=[record_id(OURS)])
    assert clerk.get(url).status_code == 404  # not shown to a requester: not for browsing
    clerk.post(reverse("marriage:counter"), citizen_form())
    search(clerk, id_number=CITIZEN)
    page = clerk.get(url).content.decode()
    assert identity.mask(CITIZEN) in page and "显示完整证件号码" not in page
    assert_no_full_ids(page)
    full_url = reverse("marriage:record_full_id", args=[record_id(OURS)])
    assert clerk.post(full_url).status_code == 403
    page = archivist.get(url).content.decode()
    assert "显示完整证件号码" in page
    assert_no_full_ids(page)
    response = archivist.post(full_url)
    page = response.content.decode()
    assert CITIZEN in page and SPOUSE in page and response["Cache-Control"] == "no-store"
    entry = AuditEntry.objects.filter(action="marriage_full_id").get()
    assert entry.actor == "archivist" and entry.target_id == str(record_id(OURS))
    assert archivist.get(full_url).status_code == 405  # a GET (a link, a prefetch) shows nothing


def test_a_reading_room_request_is_served_and_its_certificate_offered_to_the_citizen(
    clerk: Client,
) -> None:
    req = access_services.submit_request(access_services.RequestInput(
        applicant_name="张三", id_type="resident_id", id_number=CITIZEN, phone="13809311234",
        purpose="proof", purpose_detail="办理房产过户", certified_copy=True,
        records_text="本人2010年结婚登记档案",
    ))  # fmt: skip
    AccessRequest.objects.filter(pk=req.pk).update(status="accepted")
    staff_page = clerk.get(reverse("access_staff:request", args=[req.pk])).content.decode()
    assert f"{reverse('marriage:counter')}?request={req.pk}" in staff_page
    page = clerk.get(reverse("marriage:counter") + f"?request={req.pk}").content.decode()
    assert req.reference in page and 'value="张三"' in page
    assert CITIZEN not in page and identity.mask(CITIZEN) in page  # prefilled, not written out
    form = citizen_form(requester_id="")
    assert clerk.post(reverse("marriage:counter"), form).status_code == 302
    search(clerk, id_number=CITIZEN)
    clerk.post(reverse("marriage:certify_records"), {"record": [record_id(OURS)]})
    cert = Certificate.objects.get()
    assert Query.objects.filter(channel="online").count() == 2
    note = RequestNote.objects.get(request=req)
    assert cert.number in note.text

    citizen = Client()
    status = {"reference": req.reference, "phone": "13809311234"}
    page = citizen.post(reverse("access:status"), status).content.decode()
    assert cert.number in page and "下载证明（PDF）" in page
    pdf = citizen.post(reverse("access:status"), {**status, "certificate": cert.number})
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    wrong = citizen.post(reverse("access:status"), {**status, "phone": "13900000000",
                                                    "certificate": cert.number})  # fmt: skip
    assert (
        wrong["Content-Type"].startswith("text/html") and cert.number not in wrong.content.decode()
    )
    Certificate.objects.filter(pk=cert.pk).update(revoked_at=cert.issued_at)
    page = citizen.post(reverse("access:status"), status).content.decode()
    assert cert.number not in page  # a revoked certificate is no longer offered


def issue_one(client: Client) -> Certificate:
    client.post(reverse("marriage:counter"), citizen_form())
    search(client, id_number=CITIZEN)
    client.post(reverse("marriage:certify_records"), {"record": [record_id(OURS)]})
    return Certificate.objects.get()


def test_revocation_takes_two_people(
    clerk: Client, archivist: Client, django_capture_on_commit_callbacks: Any
) -> None:
    cert = issue_one(clerk)
    url = reverse("marriage:certificate", args=[cert.number])
    revoke = reverse("marriage:certificate_revoke", args=[cert.number])
    confirm = reverse("marriage:certificate_confirm", args=[cert.number])
    page = clerk.post(revoke, {"reason": ""}, follow=True).content.decode()
    assert "撤销证明须写明原因" in page
    clerk.post(revoke, {"reason": "出证时选错记录"})
    assert clerk.post(confirm).status_code == 403  # the counter clerk cannot confirm at all
    page = clerk.get(url).content.decode()
    assert "待确认撤销" in page and confirm not in page  # no confirm button for the clerk
    second = signed_in("marriage_archivist", "second")
    second.post(revoke, {"reason": "again"})  # already pending: refused with its message
    cert.refresh_from_db()
    assert cert.revoke_requested_by == "clerk" and cert.revoked_at is None
    page = archivist.get(url).content.decode()
    assert 'action="' + confirm + '"' in page
    with django_capture_on_commit_callbacks(execute=True):
        archivist.post(confirm)
    cert.refresh_from_db()
    assert cert.revoked_by == "archivist" and cert.revoked_at is not None
    assert "已撤销" in archivist.get(url).content.decode()


def test_the_one_who_asked_cannot_confirm(archivist: Client) -> None:
    cert = issue_one(archivist)
    archivist.post(reverse("marriage:certificate_revoke", args=[cert.number]), {"reason": "错"})
    page = archivist.get(reverse("marriage:certificate", args=[cert.number])).content.decode()
    assert "请另一位婚姻档案管理员确认" in page
    confirm = reverse("marriage:certificate_confirm", args=[cert.number])
    page = archivist.post(confirm, follow=True).content.decode()
    assert "申请人不能确认自己的申请" in page
    cert.refresh_from_db()
    assert cert.revoked_at is None


@pytest.mark.parametrize("role", ["public", "cataloguer", "filing_unit"])
def test_roles_without_marriage_permissions_get_403(archives: Repository, role: str) -> None:
    client = signed_in(role)
    for name, args in [
        ("marriage:counter", []), ("marriage:certificates", []),
        ("marriage:record", [record_id(OURS)]), ("marriage:rules", []),
        ("marriage:import", []), ("marriage:queries", []), ("marriage:keys", []),
    ]:  # fmt: skip
        assert client.get(reverse(name, args=args)).status_code == 403, name
    assert client.post(reverse("marriage:counter"), citizen_form()).status_code == 403
    assert not Query.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(archives: Repository) -> None:
    response = Client().get(reverse("marriage:counter"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_navigation_shows_the_marriage_section_by_role(clerk: Client, archivist: Client) -> None:
    home = clerk.get(reverse("marriage:counter")).content.decode()
    assert "查档窗口" in home and reverse("marriage:import") not in home
    home = archivist.get(reverse("marriage:counter")).content.decode()
    assert reverse("marriage:import") in home and reverse("marriage:keys") in home
    cataloguer = signed_in("cataloguer").get(reverse("web:home")).content.decode()
    assert reverse("marriage:counter") not in cataloguer


def test_masked_ids_in_every_counter_page(clerk: Client) -> None:
    """No page a clerk reaches shows a full number: walk them all after a certificate."""
    cert = issue_one(clerk)
    pages = [
        reverse("marriage:counter"), reverse("marriage:certificates"),
        reverse("marriage:certificate", args=[cert.number]),
        reverse("marriage:record", args=[record_id(OURS)]), reverse("marriage:rules"),
    ]  # fmt: skip
    for url in pages:
        html = clerk.get(url).content.decode()
        assert_no_full_ids(html)
        assert re.search(r"4403\*+", html) or url in (pages[1], pages[4]), url
    # a record never shown to this requester stays closed to the clerk
    assert clerk.get(reverse("marriage:record", args=[record_id(THEIRS)])).status_code == 404


def online_request() -> AccessRequest:
    req = access_services.submit_request(access_services.RequestInput(
        applicant_name="张三", id_type="resident_id", id_number=CITIZEN, phone="13809311234",
        purpose="proof", purpose_detail="办理房产过户", certified_copy=True,
        records_text="本人2010年结婚登记档案",
    ))  # fmt: skip
    AccessRequest.objects.filter(pk=req.pk).update(status="accepted")
    return req


def test_changing_the_requester_ends_the_online_request(clerk: Client) -> None:
    req = online_request()
    clerk.get(reverse("marriage:counter") + f"?request={req.pk}")
    clerk.post(reverse("marriage:counter"), citizen_form(requester_id=""))
    page = clerk.get(reverse("marriage:counter") + "?change=1").content.decode()
    assert req.reference not in page  # the banner of the request is gone
    walk_in = citizen_form(requester_name="王五", requester_id=STRANGER)
    assert clerk.post(reverse("marriage:counter"), walk_in).status_code == 302
    search(clerk, id_number=STRANGER)
    clerk.post(reverse("marriage:certify_records"), {"record": [record_id(THEIRS)]})
    cert = Certificate.objects.get()
    assert cert.access_request_id is None
    assert not RequestNote.objects.filter(request=req).exists()
    assert Query.objects.filter(channel="online").count() == 0


def test_a_requester_other_than_the_applicant_is_served_as_a_walk_in(clerk: Client) -> None:
    req = online_request()
    clerk.get(reverse("marriage:counter") + f"?request={req.pk}")
    walk_in = citizen_form(requester_name="王五", requester_id=STRANGER)
    response = clerk.post(reverse("marriage:counter"), walk_in, follow=True)
    assert "不归入该申请" in response.content.decode()
    search(clerk, id_number=STRANGER)
    clerk.post(reverse("marriage:certify_records"), {"record": [record_id(THEIRS)]})
    assert Certificate.objects.get().access_request_id is None
    citizen = Client()
    page = citizen.post(
        reverse("access:status"), {"reference": req.reference, "phone": "13809311234"}
    ).content.decode()
    assert "下载证明（PDF）" not in page


def test_the_applicant_typed_in_full_width_is_still_the_applicant(clerk: Client) -> None:
    req = online_request()
    clerk.get(reverse("marriage:counter") + f"?request={req.pk}")
    wide = "".join(chr(ord(c) + 0xFEE0) for c in CITIZEN)  # ４４０３… as an IME may type it
    clerk.post(reverse("marriage:counter"), citizen_form(requester_id=f" {wide} "))
    search(clerk, id_number=CITIZEN)
    clerk.post(reverse("marriage:certify_records"), {"record": [record_id(OURS)]})
    assert Certificate.objects.get().access_request_id == req.pk


def test_the_reset_step_ends_the_online_request(clerk: Client) -> None:
    req = online_request()
    clerk.get(reverse("marriage:counter") + f"?request={req.pk}")
    clerk.post(reverse("marriage:counter"), {"step": "reset"})
    clerk.post(reverse("marriage:counter"), citizen_form())
    search(clerk, id_number=CITIZEN)
    clerk.post(reverse("marriage:certify_records"), {"record": [record_id(OURS)]})
    assert Certificate.objects.get().access_request_id is None


@pytest.mark.parametrize("pk", ["99999999999999999999999", str(2**63), "0"])
def test_record_numbers_past_the_column_are_not_found(archivist: Client, pk: str) -> None:
    assert archivist.get(f"/marriage/records/{pk}/").status_code == 404
    assert archivist.post(f"/marriage/records/{pk}/full-id/").status_code == 404


def test_certificates_signed_by_a_withdrawn_key_are_not_offered(clerk: Client) -> None:
    from django.utils import timezone

    from lantai.access.views import certificates_of
    from lantai.certificates.models import IssuerKey

    req = online_request()
    clerk.get(reverse("marriage:counter") + f"?request={req.pk}")
    clerk.post(reverse("marriage:counter"), citizen_form(requester_id=""))
    search(clerk, id_number=CITIZEN)
    clerk.post(reverse("marriage:certify_records"), {"record": [record_id(OURS)]})
    cert = Certificate.objects.get()
    assert certificates_of(req) == [cert]
    key = IssuerKey.objects.filter(pk=cert.issuer_key_id)
    key.update(compromised_since=cert.issued_at + timezone.timedelta(seconds=1))
    assert certificates_of(req) == [cert]  # compromised only after signing: still good
    key.update(compromised_since=cert.issued_at)
    assert certificates_of(req) == []
    key.update(compromised_since=None, withdrawn_at=timezone.now())
    assert certificates_of(req) == []
    page = (
        Client()
        .post(reverse("access:status"), {"reference": req.reference, "phone": "13809311234"})
        .content.decode()
    )
    assert cert.number not in page


def test_the_english_interface_shows_the_english_labels(clerk: Client, archivist: Client) -> None:
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    page = clerk.get(reverse("marriage:counter"), **english).content.decode()
    assert "valid identity document" in page  # proof kinds, in the type table
    assert "本人有效身份证件" not in page and "records where the requester is a party" in page
    clerk.post(reverse("marriage:counter"), citizen_form(), **english)
    page = clerk.get(reverse("marriage:counter"), **english).content.decode()
    assert "本人有效身份证件" not in page  # the requester summary
    query = {"step": "search", "mode": "id", "years": "2", "id_number": CITIZEN}
    page = clerk.post(reverse("marriage:counter"), query, **english).content.decode()
    assert OURS in page and "<label" in page and ">marriage</label>" in page
    clerk.post(reverse("marriage:certify_records"), {"record": [record_id(OURS)]})
    cert = Certificate.objects.get()
    page = clerk.get(reverse("marriage:certificate", args=[cert.number]), **english)
    html = page.content.decode()
    assert "<td>marriage</td>" in html and "<td>结婚</td>" not in html
    assert cert.content["records"][0]["kind_label"] == "结婚"  # the document stays Chinese
    html = clerk.get(reverse("marriage:record", args=[record_id(OURS)]), **english).content.decode()
    heading = re.search(r"<h1>(.*?)</h1>", html, re.S)
    assert heading and "结婚" not in heading[1] and "marriage" in heading[1]
    log = archivist.get(reverse("marriage:queries"), **english).content.decode()
    assert "本人有效身份证件" not in log and "valid identity document" in log
    chinese = clerk.get(reverse("marriage:record", args=[record_id(OURS)])).content.decode()
    assert "<h1>结婚登记 " in chinese
