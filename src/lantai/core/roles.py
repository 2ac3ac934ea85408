"""Roles and what each may do.

三员分立: the system administrator (users, settings), the security administrator (roles, clearance,
scopes) and the audit administrator (the audit log) hold disjoint permissions, and none of them
reads archival data. A user holds exactly one role, so no account can combine two of the three.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    code: str
    label_zh: str
    label_en: str
    permissions: frozenset[str]


def _role(code: str, zh: str, en: str, *perms: str) -> Role:
    return Role(code, zh, en, frozenset(perms))


VIEW = "catalog.view"
EDIT = "catalog.edit"
IMPORT = "catalog.import"
EXPORT = "catalog.export"
STRUCTURE = "catalog.structure"  # repositories, fonds, categories, code rules
USERS = "core.users"
SETTINGS = "core.settings"
GRANTS = "core.grants"  # roles, clearance, scopes
AUDIT = "core.audit"
PUBLIC = "public.search"
SUBMIT = "ingest.submit"  # upload transfer packages, read their reports, resubmit (own transfers)
RECEIVE = "ingest.receive"  # see every transfer, accept or return it
PRESERVE = "preservation.manage"  # storage locations, replicas, audits, deletion requests
SERVE = "access.serve"  # 查档申请: accept, approve, provide or refuse; 利用登记
DIGITIZE = "digitization.submit"  # bring in scanning batches, read their reports (own batches)
DIGITIZE_MANAGE = "digitization.manage"  # every batch: 抽检, accept or return; OCR correction
REVIEW = "review.review"  # 开放审核: the review queue, 初审/复审 decisions, the doubt list
# plan tasks and assign reviewers, 抽查, 馆审定, publish, deferral lists, lexicons, the classifier,
# exchange of appraisal results
REVIEW_MANAGE = "review.manage"
UNIT_REVIEW = "review.unit"  # 会同审核: a forming unit's opinion on its own records under review
# 婚姻档案 at the counter: find records for a requester, issue certificates, ask for a revocation
MARRIAGE = "marriage.query"
# import marriage records, edit the rights rules, see full identity numbers, confirm revocations,
# rotate and withdraw the certificate keys
MARRIAGE_MANAGE = "marriage.manage"
# 专题数据库 and 网上展厅: build databases and exhibitions, describe records in them, submit for review
CURATE = "exhibits.curate"
# review what a colleague submitted and publish, schedule or withdraw it (never one's own submission)
PUBLISH = "exhibits.publish"
STACKS = "stacks.manage"  # 库房管理: boxes, locations, movements, census, climate readings
APPRAISE = "appraisal.appraise"  # 鉴定: propose and decide as a member of the appraisal group

ROLES: dict[str, Role] = {
    r.code: r
    for r in [
        _role("system_admin", "系统管理员", "System administrator", USERS, SETTINGS),
        _role("security_admin", "安全保密管理员", "Security administrator", GRANTS),
        _role("audit_admin", "安全审计员", "Audit administrator", AUDIT),
        _role(
            "cataloguer",
            "整理著录员",
            "Cataloguer",
            *(VIEW, EDIT, IMPORT, EXPORT, STRUCTURE, RECEIVE, DIGITIZE, DIGITIZE_MANAGE, CURATE),
        ),
        # accepting a transfer creates catalogue records in the archivist's scope: EDIT with it
        _role(
            "receiving_archivist",
            "接收员",
            "Receiving archivist",
            *(VIEW, EDIT, EXPORT, RECEIVE, DIGITIZE, DIGITIZE_MANAGE),
        ),
        _role(
            "preservation_officer",
            "保管员",
            "Preservation officer",
            *(VIEW, PRESERVE, STACKS, APPRAISE),
        ),
        _role("reviewer", "审核员", "Open-review reviewer", VIEW, REVIEW, APPRAISE),
        _role(
            "senior_reviewer",
            "审核组长",
            "Senior open-review reviewer",
            *(VIEW, EXPORT, REVIEW, REVIEW_MANAGE, APPRAISE),
        ),
        _role("reading_room", "利用服务人员", "Reading-room staff", VIEW, EXPORT, SERVE, MARRIAGE),
        _role(
            "marriage_archivist",
            "婚姻档案管理员",
            "Marriage records archivist",
            *(VIEW, EXPORT, SERVE, MARRIAGE, MARRIAGE_MANAGE),
        ),
        _role("curator", "编研展览人员", "Curator", *(VIEW, EXPORT, CURATE, PUBLISH)),
        _role("filing_unit", "立档单位", "Filing unit", VIEW, SUBMIT, UNIT_REVIEW),
        # an outsourced scanning company: its own batches and their reports, nothing else
        _role("scanning_vendor", "数字化服务商", "Scanning vendor", DIGITIZE),
        _role("public", "公众", "Public", PUBLIC),
    ]
}
ADMIN_TRIAD = ("system_admin", "security_admin", "audit_admin")
ROLE_CHOICES = [(r.code, r.label_zh) for r in ROLES.values()]


def is_administrator(role_code: str) -> bool:
    """One of the three administrators (三员): their own accounts change only with a second one."""
    return role_code in ADMIN_TRIAD


def has_permission(role_code: str, permission: str) -> bool:
    role = ROLES.get(role_code)
    return role is not None and permission in role.permissions
