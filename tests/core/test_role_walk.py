"""Every role against every URL of the site and every operation of the API (issue 12, 三员分立).

The URLs come from Django's resolver and the API operations from django-ninja, so a new page or
endpoint fails here until it is added to the table below with the permission it needs. Each role
(core/roles.py) and an anonymous visitor then ask for it: those whose role lacks the permission
must be refused (403; anonymous: sent to sign in, or 401 on the API), and those who hold it must
not be (an unknown id answers 404, an empty form re-displays, both count as "let in").
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from ninja import NinjaAPI

from lantai import api as api_module
from lantai.core import accounts
from lantai.core.api_auth import issue_token
from lantai.core.models import AuditEntry
from lantai.core.roles import (
    APPRAISE,
    AUDIT,
    CURATE,
    DIGITIZE,
    DIGITIZE_MANAGE,
    EDIT,
    EXPORT,
    GRANTS,
    IMPORT,
    MARRIAGE,
    MARRIAGE_MANAGE,
    PRESERVE,
    PUBLISH,
    RECEIVE,
    REVIEW,
    REVIEW_MANAGE,
    ROLES,
    SERVE,
    SETTINGS,
    STACKS,
    STRUCTURE,
    SUBMIT,
    UNIT_REVIEW,
    USERS,
    VIEW,
    has_permission,
    is_administrator,
)

pytestmark = pytest.mark.django_db

EVERYONE = "everyone"  # no sign-in (the public portal, the sign-in page)
SIGNED_IN = "signed-in"  # any signed-in user, whatever the role
ADMINISTRATORS = "三员"  # the three administrators only
Requirement = str | tuple[str, ...]  # a permission, any of several, or one of the words above

TRANSFERS = (SUBMIT, RECEIVE)  # filing units (their own transfers) and receiving staff
DIGITIZING = (DIGITIZE, DIGITIZE_MANAGE)  # scanning vendors (their own batches) and managers
REVIEWING = (REVIEW, REVIEW_MANAGE, UNIT_REVIEW)  # 开放审核: reviewers, seniors, forming units

WEB: dict[str, Requirement] = {
    # 专题数据库, 网上展厅 and IIIF (issue 18): public pages for everyone, editors for curators
    "access:record_by_code": EVERYONE,
    "exhibit_databases:action": CURATE,
    "exhibit_databases:add": CURATE,
    "exhibit_databases:condition": CURATE,
    "exhibit_databases:create": CURATE,
    "exhibit_databases:detail": CURATE,
    "exhibit_databases:edit": CURATE,
    "exhibit_databases:entry": CURATE,
    "exhibit_databases:fields": CURATE,
    "exhibit_databases:list": CURATE,
    "exhibit_databases:publish": CURATE,
    "exhibit_databases:remove": CURATE,
    "exhibit_databases:rule": CURATE,
    "exhibit_databases:search_add": CURATE,
    "exhibitions:cover": EVERYONE,
    "exhibitions:hall": EVERYONE,
    "exhibitions:page": EVERYONE,
    "exhibitions_staff:block_add": CURATE,
    "exhibitions_staff:block_edit": CURATE,
    "exhibitions_staff:decide": PUBLISH,
    "exhibitions_staff:edit": CURATE,
    "exhibitions_staff:list": CURATE,
    "exhibitions_staff:preview": CURATE,
    "exhibitions_staff:preview_page": CURATE,
    "exhibitions_staff:recall": CURATE,
    "exhibitions_staff:restore": CURATE,
    "exhibitions_staff:structure": CURATE,
    "exhibitions_staff:submit": CURATE,
    "iiif_exhibits:database": EVERYONE,
    "iiif_exhibits:exhibition": EVERYONE,
    "iiif_image:base": EVERYONE,
    "iiif_image:image": EVERYONE,
    "iiif_image:info": EVERYONE,
    "iiif_image_staff:base": VIEW,
    "iiif_image_staff:image": VIEW,
    "iiif_image_staff:info": VIEW,
    "iiif_presentation:fonds_collection": EVERYONE,
    "iiif_presentation:manifest": EVERYONE,
    "iiif_presentation:search": EVERYONE,
    "public_databases:database": EVERYONE,
    "public_databases:list": EVERYONE,
    "public_databases:map": EVERYONE,
    "public_databases:record": EVERYONE,
    "public_databases:timeline": EVERYONE,
    "set_language": EVERYONE,
    "admin:index": "django-staff",  # Django's own admin: is_staff accounts only, no Lantai role
    "web:login": EVERYONE,
    "web:logout": EVERYONE,
    "web:login_verify": EVERYONE,  # the second step: sends back to sign-in with none in progress
    "web:login_enroll": EVERYONE,
    "web:login_expired": EVERYONE,
    "web:two_factor": SIGNED_IN,
    "ops:healthz": EVERYONE,  # probes for the load balancer
    "ops:readyz": EVERYONE,
    "ops:metrics": EVERYONE,  # from loopback (the test client's address) or a listed network
    "web:password_change": SIGNED_IN,
    "web:home": SIGNED_IN,
    "web:search": SIGNED_IN,  # results are filtered to the user's own view
    "web:search_suggest": SIGNED_IN,
    "web:browse": VIEW,
    "web:fonds": VIEW,
    "web:category": VIEW,
    "web:records": VIEW,
    "web:export": EXPORT,
    "web:record_create": EDIT,
    "web:record": VIEW,
    "web:category_gaps": VIEW,
    "web:record_edit": EDIT,
    "web:record_delete": EDIT,
    "web:component_upload": EDIT,
    "web:record_add_to_collection": EDIT,
    "web:component_download": VIEW,
    "web:structure": STRUCTURE,
    "web:repository_create": STRUCTURE,
    "web:repository_default": STRUCTURE,
    "web:fonds_create": STRUCTURE,
    "web:category_create": STRUCTURE,
    "web:code_rule_create": STRUCTURE,
    "web:collections": VIEW,
    "web:collection_create": STRUCTURE,
    "web:collection": VIEW,
    "web:import_upload": IMPORT,
    "web:import_mapping": IMPORT,
    "web:import_preview": IMPORT,
    "web:import_run": IMPORT,
    "web:imports": IMPORT,
    "web:import_result": IMPORT,
    "web:import_progress": IMPORT,
    "web:import_errors": IMPORT,
    "web:transfers": TRANSFERS,
    "web:transfer_create": TRANSFERS,
    "web:transfer_inbox": RECEIVE,
    "web:transfer_upload_start": TRANSFERS,
    "web:transfer_upload": TRANSFERS,
    "web:transfer": TRANSFERS,
    "web:transfer_progress": TRANSFERS,
    "web:transfer_report": TRANSFERS,
    "web:transfer_report_pdf": TRANSFERS,
    "web:transfer_register_pdf": TRANSFERS,
    "web:transfer_accept": RECEIVE,
    "web:transfer_return": RECEIVE,
    "web:transfer_resubmit": TRANSFERS,
    "web:digitization_batches": DIGITIZING,
    "web:digitization_create": DIGITIZING,
    "web:digitization_inbox": DIGITIZE_MANAGE,
    "web:digitization_batch": DIGITIZING,
    "web:digitization_progress": DIGITIZING,
    "web:digitization_report": DIGITIZING,
    "web:digitization_report_pdf": DIGITIZING,
    "web:digitization_inspect": DIGITIZE_MANAGE,
    "web:digitization_accept": DIGITIZE_MANAGE,
    "web:digitization_return": DIGITIZE_MANAGE,
    "web:digitization_recheck": DIGITIZING,
    "web:digitization_corrections": DIGITIZE_MANAGE,
    "web:page_image": (VIEW, DIGITIZE, DIGITIZE_MANAGE),  # the record, or the batch, visible
    "web:digitization_correct": DIGITIZE_MANAGE,
    "web:record_pages": VIEW,
    "web:record_pages_pdf": VIEW,
    "web:recording_segment_add": (EDIT, DIGITIZE_MANAGE),
    "web:recording_file": VIEW,
    "web:review_home": REVIEWING,
    "web:review_plan": REVIEW_MANAGE,
    "web:review_queue": REVIEW,
    "web:review_doubts": REVIEW,
    "web:review_unit": UNIT_REVIEW,
    "web:review_task": (REVIEW, REVIEW_MANAGE),
    "web:review_publish": REVIEW_MANAGE,
    "web:review_deferrals": REVIEW_MANAGE,
    "web:review_export": REVIEW_MANAGE,
    "web:review_item": REVIEW,
    "web:review_request": REVIEW_MANAGE,
    "web:review_lexicons": REVIEW_MANAGE,
    "web:review_lexicon": REVIEW_MANAGE,
    "web:review_classifier": REVIEW_MANAGE,
    "web:review_exchange": REVIEW_MANAGE,
    "web:review_exchange_import": REVIEW_MANAGE,
    "web:review_evaluation": REVIEW_MANAGE,
    "web:storage": PRESERVE,
    "web:storage_check": PRESERVE,
    "web:storage_audit": PRESERVE,
    "web:storage_alert_resolve": PRESERVE,
    "web:storage_locations": PRESERVE,
    "web:storage_packages": PRESERVE,
    "web:storage_package": PRESERVE,
    "web:storage_package_verify": PRESERVE,
    "web:storage_package_check": PRESERVE,
    "web:storage_deletion_request": PRESERVE,
    "web:storage_deletion_decide": PRESERVE,
    "web:storage_checks": PRESERVE,
    "web:storage_checks_run": PRESERVE,
    "web:storage_check_report": PRESERVE,
    "web:audit": AUDIT,
    "web:audit_verify": AUDIT,
    "web:audit_export": AUDIT,
    "web:users": USERS,
    "web:user_create": USERS,
    "web:user_active": USERS,
    "web:user_password": USERS,
    "web:user_two_factor": USERS,
    "web:account_changes": ADMINISTRATORS,
    "web:account_change_decide": ADMINISTRATORS,
    "web:grants": GRANTS,
    "web:grant_edit": GRANTS,
    "access_staff:requests": SERVE,
    "access_staff:request": SERVE,
    "access_staff:request_action": SERVE,
    "access_staff:register": SERVE,
    "access_staff:register_create": SERVE,
    "access_staff:register_csv": SERVE,
    # 婚姻档案: the counter (MARRIAGE) and the marriage archivist's pages (MARRIAGE_MANAGE)
    "marriage:counter": MARRIAGE,
    "marriage:certify_records": MARRIAGE,
    "marriage:certify_none": MARRIAGE,
    "marriage:certificates": MARRIAGE,
    "marriage:certificate": MARRIAGE,
    "marriage:certificate_pdf": MARRIAGE,
    "marriage:certificate_ofd": MARRIAGE,
    "marriage:certificate_revoke": MARRIAGE,
    "marriage:certificate_confirm": MARRIAGE_MANAGE,
    "marriage:record": MARRIAGE,
    "marriage:record_full_id": MARRIAGE_MANAGE,
    "marriage:import": MARRIAGE_MANAGE,
    "marriage:import_run": MARRIAGE_MANAGE,
    "marriage:rules": MARRIAGE,  # reading; saving a version needs MARRIAGE_MANAGE (403 inside)
    "marriage:rules_version": MARRIAGE,
    "marriage:queries": MARRIAGE_MANAGE,
    "marriage:keys": MARRIAGE_MANAGE,
    "marriage:key_create": MARRIAGE_MANAGE,
    "marriage:key_rotate": MARRIAGE_MANAGE,
    "marriage:key_withdraw": MARRIAGE_MANAGE,
    "marriage:trust_list": MARRIAGE_MANAGE,
    "marriage:status_list": MARRIAGE_MANAGE,
    # 全区平台, staff: the region-wide window and requests across archives (MARRIAGE), and the
    # platform's operations page (SETTINGS, the system administrator)
    "platform_staff:window": MARRIAGE,
    "platform_staff:window_request": MARRIAGE,
    "platform_staff:requests": MARRIAGE,
    "platform_staff:request": MARRIAGE,
    "platform_staff:request_pdf": MARRIAGE,
    "platform_staff:request_informed": MARRIAGE,
    "platform_staff:request_answer": MARRIAGE,
    "platform_staff:ops": SETTINGS,
    "platform_staff:ops_verify": SETTINGS,
    # 全区平台, the machine endpoints: no sign-in, every message authenticates itself by its SM2
    # signature and the member list (platform/transport.py); the hub's public search
    "platform:inbox": EVERYONE,
    "platform:join": EVERYONE,
    "platform:members": EVERYONE,
    "platform:hub_search": EVERYONE,
    "platform:hub_search_api": EVERYONE,
    # OAI-PMH (open records only) and the staff's EAD downloads
    "interop:oai": EVERYONE,
    "interop_staff:fonds_ead": EXPORT,
    # 证明核验: anyone, offline once loaded
    "verify:page": EVERYONE,
    "verify:trust_list": EVERYONE,
    "verify:status_lists": EVERYONE,
    # the public portal (互联网): no sign-in, open records only
    "access:home": EVERYONE,
    "access:search": EVERYONE,
    "access:suggest": EVERYONE,
    "access:record": EVERYONE,
    "access:image": EVERYONE,
    "access:pdf": EVERYONE,
    "access:open_copy": EVERYONE,  # the redacted open copy of a partly opened record
    "access:recording_media": EVERYONE,
    "access:recording_poster": EVERYONE,
    "access:request": EVERYONE,
    "access:request_done": EVERYONE,
    "access:status": EVERYONE,
    # the APIs' own documents: the staff API's for signed-in users, the public one for everyone
    "api:openapi-json": SIGNED_IN,
    "api:openapi-view": SIGNED_IN,
    "public-api:openapi-json": EVERYONE,
    "public-api:openapi-view": EVERYONE,
    "appraisal:close": APPRAISE,
    "appraisal:decide": APPRAISE,
    "appraisal:disposal": APPRAISE,
    "appraisal:disposal_approve": APPRAISE,
    "appraisal:disposal_cancel": APPRAISE,
    "appraisal:disposal_execute": APPRAISE,
    "appraisal:disposal_list_pdf": APPRAISE,
    "appraisal:disposal_report_pdf": APPRAISE,
    "appraisal:disposal_request_again": APPRAISE,
    "appraisal:disposals": APPRAISE,
    "appraisal:propose": APPRAISE,
    "appraisal:report": APPRAISE,
    "appraisal:report_pdf": APPRAISE,
    "appraisal:task": APPRAISE,
    "appraisal:tasks": APPRAISE,
    "holdings:accession": VIEW,
    "holdings:accession_edit": EDIT,
    "holdings:accession_new": EDIT,
    "holdings:accession_status": EDIT,
    "holdings:accessions": VIEW,
    "holdings:campaign": VIEW,
    "holdings:campaign_edit": EDIT,
    "holdings:campaign_new": EDIT,
    "holdings:campaigns": VIEW,
    "holdings:document_issue": EDIT,
    "holdings:document_pdf": VIEW,
    "holdings:donor": VIEW,
    "holdings:donor_edit": EDIT,
    "holdings:donor_new": EDIT,
    "holdings:donors": VIEW,
    "holdings:item_add": EDIT,
    "holdings:item_edit": EDIT,
    "holdings:records_link": EDIT,
    "holdings:records_unlink": EDIT,
    "holdings:restriction_add": EDIT,
    "holdings:restriction_end": EDIT,
    "stacks:alert_resolve": STACKS,
    "stacks:box": VIEW,
    "stacks:box_create": STACKS,
    "stacks:box_lend": STACKS,
    "stacks:box_move": STACKS,
    "stacks:box_place": STACKS,
    "stacks:box_remove": STACKS,
    "stacks:building_create": STACKS,
    "stacks:census": VIEW,
    "stacks:census_count": STACKS,
    "stacks:census_list": VIEW,
    "stacks:census_start": STACKS,
    "stacks:discrepancy_resolve": STACKS,
    "stacks:home": VIEW,
    "stacks:loan_return": STACKS,
    "stacks:locate": VIEW,
    "stacks:readings_import": STACKS,
    "stacks:readings_import_result": VIEW,
    "stacks:room": VIEW,
    "stacks:room_climate": STACKS,
    "stacks:room_create": STACKS,
    "stacks:room_reading": STACKS,
    "stacks:shelf": VIEW,
    "stacks:shelf_create": STACKS,
    "stacks:unit_lend": STACKS,
    "transfer_quality:due": TRANSFERS,
    "transfer_quality:home": TRANSFERS,
    "transfer_quality:profile": RECEIVE,
    "transfer_quality:remind": RECEIVE,
    "transfer_quality:self_check": TRANSFERS,
    "transfer_quality:self_check_new": TRANSFERS,
    "transfer_quality:unit": RECEIVE,
    "transfer_quality:visit_add": RECEIVE,
    "transfer_quality:visit_follow_up": RECEIVE,
    "transfer_quality:visits": RECEIVE,
    "stats_staff:export": EXPORT,
    "stats_staff:report": VIEW,
}

# (API namespace, method, path) -> requirement
API: dict[tuple[str, str, str], Requirement] = {
    ("api", "GET", "/repositories"): VIEW,
    ("api", "GET", "/fonds"): VIEW,
    ("api", "POST", "/fonds"): STRUCTURE,
    ("api", "GET", "/fonds/{fonds_id}"): VIEW,
    ("api", "GET", "/fonds/{fonds_id}/categories"): VIEW,
    ("api", "POST", "/fonds/{fonds_id}/categories"): STRUCTURE,
    ("api", "GET", "/code-rules"): VIEW,
    ("api", "GET", "/categories/{category_id}/years"): VIEW,
    ("api", "GET", "/records"): VIEW,
    ("api", "POST", "/records"): EDIT,
    ("api", "GET", "/records/{record_id}"): VIEW,
    ("api", "PATCH", "/records/{record_id}"): EDIT,
    ("api", "DELETE", "/records/{record_id}"): EDIT,
    ("api", "POST", "/imports"): IMPORT,
    ("api", "GET", "/imports/{batch_id}"): IMPORT,
    ("api", "GET", "/records/{record_id}/components"): VIEW,
    ("api", "POST", "/records/{record_id}/components"): EDIT,
    ("api", "GET", "/components/{component_id}/download"): VIEW,
    ("api", "GET", "/collections"): VIEW,
    ("api", "GET", "/collections/{collection_id}/records"): VIEW,
    ("public-api", "GET", "/search"): EVERYONE,
    ("public-api", "GET", "/suggest"): EVERYONE,
    ("public-api", "GET", "/records/{record_id}"): EVERYONE,
}

MISSING_ID = 987654  # an id no object has: a permitted user gets 404, never 403
ARGS = {"int": MISSING_ID, "string": "nothing", "slug": "nothing", "path": "nothing"}


def may(requirement: Requirement, role: str | None) -> bool:
    """Whether a user of `role` (None: anonymous) is let in, by the table and core/roles.py."""
    if requirement == EVERYONE:
        return True
    if role is None or requirement == "django-staff":
        return False
    if requirement == SIGNED_IN:
        return True
    if requirement == ADMINISTRATORS:
        return is_administrator(role)
    needed = requirement if isinstance(requirement, tuple) else (requirement,)
    return any(has_permission(role, p) for p in needed)


# --- enumeration ----------------------------------------------------------------------------------
def _walk(patterns: list[Any], namespace: str = "") -> list[tuple[str, URLPattern]]:
    out: list[tuple[str, URLPattern]] = []
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or ""
            out.extend(_walk(p.url_patterns, f"{namespace}{ns}:" if ns else namespace))
        else:
            out.append((f"{namespace}{p.name or ''}", p))
    return out


def _apis() -> dict[str, NinjaAPI]:
    found = [a for a in vars(api_module).values() if isinstance(a, NinjaAPI)]
    return {a.urls_namespace: a for a in found}


def _is_api_operation(name: str) -> bool:
    namespace, _, url_name = name.partition(":")
    return namespace in _apis() and url_name not in ("openapi-json", "openapi-view")


def web_urls() -> list[tuple[str, str]]:
    """(name, URL) of every page; Django admin's model pages follow admin:index (admin_view)."""
    out = []
    for name, pattern in _walk(get_resolver().url_patterns):
        if name.startswith("admin:") and name != "admin:index":
            continue
        if _is_api_operation(name):
            continue
        assert name and not name.endswith(":"), (
            f"unnamed URL {pattern.pattern}: name it, add to WEB"
        )
        converters = getattr(pattern.pattern, "converters", {})
        kwargs = {
            k: ARGS[type(c).__name__.removesuffix("Converter").lower()]
            for k, c in converters.items()
        }
        out.append((name, reverse(name, kwargs=kwargs)))
    return out


def api_operations() -> list[tuple[str, str, str, Any]]:
    """(namespace, method, path template, operation) of every API operation."""
    out = []
    for namespace, api in _apis().items():
        for _prefix, router in api._routers:
            for path, path_view in router.path_operations.items():
                for op in path_view.operations:
                    for method in op.methods:
                        out.append((namespace, method, path, op))
    return sorted(out, key=lambda o: o[1] == "DELETE")  # deletions last: the rest needs the record


# --- the walk --------------------------------------------------------------------------------------
@pytest.fixture
def people(settings: Any) -> dict[str | None, Any]:
    """One user of every role, cleared for everything and scoped to every archives, so that
    only the role decides; None stands for an anonymous visitor."""
    from lantai.catalog import services

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    services.default_repository()  # an archives to work in (else: "no repository in scope", 403)
    out: dict[str | None, Any] = {None: None}
    for code in ROLES:
        out[code] = accounts.create_user(
            f"walk-{code}", role=code, password="Walk#Password2026", clearance=4, scope_all=True
        )
    return out


def _refused(response: Any, requirement: Requirement) -> bool:
    """403 (401 on the API), or sent to a sign-in page (anonymous; Django admin's own)."""
    if response.status_code in (401, 403):
        return True
    location = response.get("Location", "") if response.status_code == 302 else ""
    return requirement != EVERYONE and "/login/" in location


def test_every_url_and_operation_is_in_the_table() -> None:
    pages = {name for name, _ in web_urls()}
    assert sorted(pages - set(WEB)) == [], "new pages: add them to WEB with their permission"
    assert sorted(set(WEB) - pages) == [], "WEB names pages that no longer exist"
    ops = {(ns, m, p) for ns, m, p, _ in api_operations()}
    assert sorted(ops - set(API)) == [], "new API operations: add them to API"
    assert sorted(set(API) - ops) == [], "API names operations that no longer exist"


def _signed_in(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def test_every_role_on_every_page(people: dict[str | None, Any]) -> None:
    clients = {role: _signed_in(user) for role, user in people.items()}
    wrong = []
    for name, url in web_urls():
        requirement = WEB.get(name)
        if requirement is None:
            continue  # reported by test_every_url_and_operation_is_in_the_table
        for role, user in people.items():
            client = clients[role]
            response = client.get(url)
            if response.status_code == 405:
                response = client.post(url)
            if name == "web:logout":
                clients[role] = _signed_in(user)
            refused = _refused(response, requirement)
            if refused == may(requirement, role) or response.status_code >= 500:
                wrong.append(f"{name} {url} as {role or 'anonymous'}: {response.status_code}")
            if response.status_code == 403 and not _denial_logged(url, user):
                wrong.append(f"{name} {url} as {role}: 403 without an audit entry")
    assert not wrong, "\n".join(wrong)


def _denial_logged(url: str, user: Any) -> bool:
    """The newest entry is the refusal of `url` to `user` (issue 12: every 403 is audited)."""
    last = AuditEntry.objects.order_by("-seq").first()
    return bool(
        last
        and last.action == "access_denied"
        and last.detail.get("path", "").split("?")[0] == url
        and last.actor == (user.get_username() if user else "anonymous")
    )


def _value(schema: dict[str, Any], components: dict[str, Any], ids: dict[str, int]) -> Any:
    if "$ref" in schema:
        return _body(components[schema["$ref"].rsplit("/", 1)[-1]], components, ids)
    if "anyOf" in schema:
        first = next(s for s in schema["anyOf"] if s.get("type") != "null")
        return _value(first, components, ids)
    if "enum" in schema:
        return schema["enum"][0]
    return {"integer": MISSING_ID, "number": 1, "boolean": False, "array": [], "object": {}}.get(
        schema.get("type", "string"), "X1"
    )


def _body(
    schema: dict[str, Any], components: dict[str, Any], ids: dict[str, int]
) -> dict[str, Any]:
    """The required fields of `schema`, with the real object's id for a field named after it."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    props = schema.get("properties", {})
    return {
        k: ids[f"{k}_id"] if f"{k}_id" in ids else _value(props[k], components, ids)
        for k in schema.get("required", [])
    }


def _call(
    client: Client,
    method: str,
    url: str,
    op: dict[str, Any],
    components: dict[str, Any],
    ids: dict[str, int],
    headers: dict[str, str],
) -> Any:
    """Send the operation a body that passes its schema, so that only the role decides."""
    content = (op.get("requestBody") or {}).get("content", {})
    if "multipart/form-data" in content:
        data = _body(content["multipart/form-data"]["schema"], components, ids)
        data["file"] = SimpleUploadedFile("a.txt", b"x")
        return client.post(url, data, **headers)
    if "application/json" in content:
        body = json.dumps(_body(content["application/json"]["schema"], components, ids))
        return client.generic(method, url, body, content_type="application/json", **headers)
    return client.generic(method, url, **headers)


@pytest.fixture
def objects() -> dict[str, int]:
    """Ids of real objects for the API's path parameters: several endpoints look the object up
    (404 when not visible, decision 0004) before they check the write permission."""
    from lantai.catalog import services

    fonds = services.create_fonds("W1", "角色巡检全宗")
    category = services.create_category(fonds, "WS")
    record, issues = services.save_record(
        category,
        {
            "title": "巡检",
            "author": "巡检组",
            "date": "20230301",
            "year": "2023",
            "retention": "Y",
            "org_code": "BGS",
            "item_number": "1",
        },
    )
    assert record is not None, issues
    return {"fonds_id": fonds.pk, "category_id": category.pk, "record_id": record.pk}


def test_every_role_on_every_api_operation(
    people: dict[str | None, Any], objects: dict[str, int]
) -> None:
    tokens = {role: issue_token(user, "walk") for role, user in people.items() if user is not None}
    wrong = []
    for namespace, method, path, _op in api_operations():
        requirement = API.get((namespace, method, path))
        if requirement is None:
            continue  # reported by test_every_url_and_operation_is_in_the_table
        schema = _apis()[namespace].get_openapi_schema()
        components = schema.get("components", {}).get("schemas", {})
        full = min((p for p in schema["paths"] if p.endswith(path)), key=len)
        url = re.sub(r"{(\w+)}", lambda m: str(objects.get(m.group(1), MISSING_ID)), full)
        # the refused first: an allowed DELETE must not take the record from those after it
        for role in sorted(people, key=lambda r: may(requirement, r)):
            headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens[role]}"} if role else {}
            client = Client(raise_request_exception=False)
            response = _call(
                client,
                method,
                url,
                schema["paths"][full][method.lower()],
                components,
                objects,
                headers,
            )
            allowed = may(requirement, role)
            refused = response.status_code in (401, 403)
            if refused == allowed or response.status_code >= 500:
                wrong.append(f"{method} {url} as {role or 'anonymous'}: {response.status_code}")
            if response.status_code == 403 and not _denial_logged(url, people[role]):
                wrong.append(f"{method} {url} as {role}: 403 without an audit entry")
    assert not wrong, "\n".join(wrong)
