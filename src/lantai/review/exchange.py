"""鉴定成果数据对接: export the archives' appraisal results as a signed file (JSON or XML, format
in docs/formats/appraisal-exchange-1.0.md), and read one from a forming unit or another archives:
it is checked and previewed — what would change, record by record — before it is applied, and
applying never decides anything: the results become proposals in a review task for people."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import transaction

from lantai.catalog import services as catalog
from lantai.catalog.models import Record
from lantai.core import audit, signing, sm3
from lantai.core.models import User
from lantai.core.roles import REVIEW_MANAGE
from lantai.review.models import ExchangeImport, ReviewItem, ReviewTask
from lantai.review.services import ReviewError, create_task, under_review
from lantai.standards import appraisal_exchange as fmt

MAX_BYTES = 50 * 1024 * 1024


def _result(item: ReviewItem) -> dict[str, Any]:
    last = item.decisions.select_related("reviewer").last()
    record = item.record
    return {
        "fonds_code": record.fonds.code, "reference_code": record.reference_code,
        "title": record.title, "year": record.year, "decision": item.decision,
        "ground": item.ground, "rule": item.rule, "rereview_year": item.rereview_year,
        "passages": [
            {"section": p["section"], "start": p["start"], "end": p["end"],
             "text_sm3": sm3.sm3_hex(str(p.get("text", "")).encode()),
             "category": p.get("category", "")}
            for p in item.passages
        ],
        "reviewer": (last.reviewer.get_full_name() or last.reviewer.get_username()) if last else "",
        "reviewer_unit": record.repository.name,
        "decided_at": (last.at if last else item.updated_at).isoformat(),
        "stage": last.stage if last else item.stage, "opinion": last.note if last else "",
        "source": "archives",
    }  # fmt: skip


def export(user: User, items: Sequence[ReviewItem], *, as_xml: bool = False) -> bytes:
    """The decided items as a signed exchange document."""
    catalog.require(user, REVIEW_MANAGE)
    decided = [i for i in items if i.decision]
    if not decided:
        raise ReviewError("没有已作出审核结论的档案可导出", "No decided items to export")
    repository = decided[0].record.repository
    key = signing.archive_key()
    exporter = {
        "archives_code": repository.code, "archives_name": repository.name,
        "key_fingerprint": key.fingerprint, "public_key": key.public_key_hex,
    }  # fmt: skip
    doc = fmt.build(exporter, [_result(i) for i in decided])
    doc = fmt.sign(doc, key.sign)
    audit.record("review_exchange_export", "review_exchange", "", {
        "results": len(decided), "format": "xml" if as_xml else "json",
        "sm3": sm3.sm3_hex(fmt.canonical_bytes(doc)),
    })  # fmt: skip
    return fmt.to_xml(doc) if as_xml else fmt.to_json(doc)


def preview(user: User, data: bytes, file_name: str) -> ExchangeImport:
    """Read and check an exchange file and list what applying it would change; nothing changes."""
    catalog.require(user, REVIEW_MANAGE)
    if len(data) > MAX_BYTES:
        raise ReviewError("文件超过 50 MB", "The file is larger than 50 MB")
    try:
        doc = fmt.parse(data)
    except fmt.ExchangeError as e:
        raise ReviewError(f"鉴定成果文件“{file_name}”无效：{e.message_zh}",
                          f"{file_name}: {e.message_en}") from e  # fmt: skip
    signed = fmt.verify_signature(doc, signing.verify)
    if not signed:
        raise ReviewError(
            f"鉴定成果文件“{file_name}”的签名验证未通过：文件在签名后被改动，或签名不是所附公钥做出的；未导入",
            f"{file_name}: the signature does not verify; nothing was imported",
        )
    visible = catalog.visible_records(user)
    reviewing = set(under_review().values_list("record_id", flat=True))
    changes = []
    for n, result in enumerate(doc["results"], 1):
        record = visible.filter(
            fonds__code=result["fonds_code"], reference_code=result["reference_code"]
        ).first()
        change: dict[str, Any] = {
            "n": n, "fonds_code": result["fonds_code"],
            "reference_code": result["reference_code"], "decision": result["decision"],
            "ground": result["ground"], "rule": result["rule"],
            "rereview_year": result.get("rereview_year"), "passages": len(result["passages"]),
        }  # fmt: skip
        if record is None:
            change["action"] = "not_found"
        elif record.open_status == "open":
            change.update(action="already_open", record=record.pk)
        elif record.pk in reviewing:
            change.update(action="under_review", record=record.pk)
        else:
            current = (
                ReviewItem.objects.filter(record=record)
                .exclude(decision="")
                .order_by("-pk")
                .first()
            )
            change.update(
                action="propose", record=record.pk,
                current=current.decision if current else "", same=bool(
                    current and current.decision == result["decision"]
                    and current.ground == result["ground"]
                ),
            )  # fmt: skip
        changes.append(change)
    fingerprint = str(doc["exporter"].get("key_fingerprint", "")).lower()
    trusted = fingerprint in settings.REVIEW_EXCHANGE_TRUSTED_KEYS or (
        fingerprint == signing.archive_key().fingerprint
    )
    row = ExchangeImport.objects.create(
        file_name=file_name[:255], file_sm3=sm3.sm3_hex(data), exporter=doc["exporter"],
        signature_ok=True, key_trusted=trusted, changes=changes, created_by=user,
    )  # fmt: skip
    audit.record("review_exchange_preview", "review_exchange", row.pk, {
        "file": row.file_name, "sm3": row.file_sm3, "exporter": doc["exporter"].get("archives_code"),
        "results": len(changes), "key_trusted": trusted,
    })  # fmt: skip
    return row


def apply(user: User, row: ExchangeImport) -> ReviewTask | None:
    """Make the previewed proposals a review task (people decide; nothing opens here)."""
    catalog.require(user, REVIEW_MANAGE)
    if row.status != "previewed":
        raise ReviewError("该导入已处理过", "This import was handled already")
    # put under review since the preview: skipped (never two tasks at once for a record)
    busy = set(under_review().values_list("record_id", flat=True))
    wanted = [c for c in row.changes if c["action"] == "propose" and c["record"] not in busy]
    records = {r.pk: r for r in Record.objects.filter(pk__in=[c["record"] for c in wanted])}
    with transaction.atomic():
        task = None
        if wanted:
            source = row.exporter.get("archives_name") or row.exporter.get("archives_code", "")
            task = create_task(
                user, name=f"鉴定成果导入：{source}（{row.file_name}）",
                records=[records[c["record"]] for c in wanted], kind="due",
                criteria={"exchange_import": row.pk, "exporter": row.exporter},
            )  # fmt: skip
            for change in wanted:
                ReviewItem.objects.filter(task=task, record_id=change["record"]).update(
                    decision=change["decision"], ground=change["ground"],
                    rule=change["rule"][:200], rereview_year=change.get("rereview_year"),
                )  # fmt: skip
        row.status, row.task = "applied", task
        row.save(update_fields=["status", "task"])
        audit.record("review_exchange_apply", "review_exchange", row.pk, {
            "proposals": len(wanted), "task": task.pk if task else None,
        })  # fmt: skip
    return task
