"""Whether an exhibition's draft may go public now: its content complete and valid, and every
record, page image and recording it names public at this moment (`lantai.catalog.public`).
Each problem names its place in Chinese."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lantai.catalog import holds, open_copies, public
from lantai.exhibits.models import Exhibition
from lantai.standards import exhibit_blocks as eb


def resolve_place(name: str) -> object | None:
    try:
        from lantai.standards import gazetteer
    except ImportError:  # the gazetteer is not installed: no place can be checked
        return object()
    return gazetteer.resolve(name)


def publication_problems(exhibition: Exhibition) -> list[str]:
    """Why the draft cannot go public now: invalid content, and every item, record link and
    recording that is not public at this moment (in Chinese, with its place)."""
    content = exhibition.content or {}
    problems = [
        p.zh for p in eb.validate_content(content, complete=True, resolve_place=resolve_place)
    ]
    ids = eb.record_ids(content, exhibition.cover)
    open_ids = {r.pk for r in public.public_records(ids)}
    images = {c.pk for cs in public.public_images(open_ids).values() for c in cs}
    codes = _reference_codes(ids)

    def check_record(place: str, record: Any) -> None:
        if isinstance(record, int) and record not in open_ids:
            problems.append(f"{place}：档案 {codes.get(record, record)} 不是开放档案，不能公开展出")

    def check_item(place: str, item: Mapping[str, Any]) -> None:
        check_record(place, item.get("record"))
        if item.get("record") in open_ids and item.get("component") not in images:
            problems.append(f"{place}：页面图像 {item.get('component')} 不是该档案可公开的页面图像")

    if exhibition.cover:
        check_item("封面图", exhibition.cover)
    recordings = _public_recording_ids(eb.recording_ids(content))
    for s, section in enumerate(content.get("sections") or [], 1):
        for p, page in enumerate(section.get("pages") or [], 1):
            for b, block in enumerate(page.get("blocks") or [], 1):
                known = eb.kind(block.get("kind", ""))
                place = f"第{s}部分第{p}页第{b}块（{known.label if known else '?'}）"
                for i, item in enumerate(block.get("items") or [], 1):
                    check_item(f"{place}第{i}幅图", item)
                for i, event in enumerate(block.get("events") or [], 1):
                    check_record(f"{place}第{i}个事件", event.get("record"))
                    if event.get("item"):
                        check_item(f"{place}第{i}个事件的配图", event["item"])
                for i, spot in enumerate(block.get("places") or [], 1):
                    check_record(f"{place}第{i}个地点", spot.get("record"))
                check_record(place, block.get("record"))
                if block.get("kind") == "media" and block.get("recording") not in recordings:
                    problems.append(
                        f"{place}：音视频 {block.get('recording')} 不属于开放档案或尚未挂接"
                    )
    return problems


def _reference_codes(ids: set[int]) -> dict[int, str]:
    from lantai.catalog.models import Record

    return dict(Record.objects.filter(pk__in=ids).values_list("pk", "reference_code"))


def _public_recording_ids(ids: set[int]) -> set[int]:
    from lantai.digitization.models import Recording

    rows = Recording.objects.filter(pk__in=ids, component__isnull=False).values_list(
        "pk", "record_id"
    )
    record_ids = {rid for _, rid in rows}
    # a record under a donor's publication hold serves no recording to the public
    open_ids = {r.pk for r in public.public_records(record_ids)} - holds.held_ids(
        "publication", record_ids
    )
    return {pk for pk, rid in rows if rid in open_ids and open_copies.open_copy_of(rid) is None}
