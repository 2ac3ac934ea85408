"""Staff pages of the stacks (库房管理): the home (buildings → rooms → shelves, alerts, loans), a
room (climate chart, readings, alerts, shelves), a shelf, a box (contents, location, movements,
place / move / lend / return), censuses, the import of sensor readings and "where is it".
Looking needs VIEW; every form needs STACKS. Views are thin: the rules are in services."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from lantai.catalog.models import Record
from lantai.core.roles import STACKS, VIEW
from lantai.standards import stacks as std
from lantai.web.views.common import forbidden, not_found, permission_required, whole_number

from . import censuses, charts, climate, importing, lending
from . import services as st
from .models import (
    Box,
    CensusBox,
    ClimateAlert,
    Discrepancy,
    Loan,
    Movement,
    ReadingImport,
    Room,
)

PERIODS = (7, 30, 90, 365)
# the column names of the import report (importing.LABELS, stored in Chinese), shown translated
COLUMN_LABELS = {
    "传感器/库房编号": gettext_lazy("传感器/库房编号"),
    "时间": gettext_lazy("时间"),
    "温度": gettext_lazy("温度"),
    "相对湿度": gettext_lazy("相对湿度"),
}
TABLE_ROWS = 500
MAX_UPLOAD = 50 * 1024 * 1024
T = TypeVar("T")


def _user(request: HttpRequest) -> Any:
    return request.user


def _refused(request: HttpRequest, error: st.StacksError) -> HttpResponse | None:
    """Show a refusal as messages (a Forbidden one as the 403 page)."""
    if isinstance(error, st.Forbidden):
        return forbidden(request, error.message_zh)
    messages.error(request, error.message_zh)
    for problem in error.problems:
        messages.error(request, problem)
    return None


def _post_action(
    request: HttpRequest, do: Callable[[], T], done: str | Callable[[T], str], back: HttpResponse
) -> HttpResponse:
    """Run a form's service call `do`: on success show `done` (the message, or a function of the
    call's result that makes it), on refusal `_refused`'s messages or 403 page; then go `back`."""
    try:
        result = do()
    except st.StacksError as e:
        if (page := _refused(request, e)) is not None:
            return page
    else:
        messages.success(request, done if isinstance(done, str) else done(result))
    return back


def _can_change(request: HttpRequest) -> bool:
    return bool(_user(request).has_perm_code(STACKS))


# --- home --------------------------------------------------------------------------------------
@permission_required(VIEW)
def home(request: HttpRequest) -> HttpResponse:
    data = st.overview(_user(request))
    today = timezone.localdate()
    return render(request, "stacks/home.html", {
        **data, "can_change": _can_change(request), "kinds": std.room_kinds(), "today": today,
        "censuses": list(st.censuses_for(_user(request)).filter(status="open")[:20]),
    })  # fmt: skip


@permission_required(STACKS)
@require_POST
def building_create(request: HttpRequest) -> HttpResponse:
    from lantai.catalog.services import default_repository

    p = request.POST
    return _post_action(
        request,
        lambda: st.create_building(_user(request), default_repository(), p.get("code", ""),
                                   p.get("name", ""), p.get("address", "")),
        _("库房楼已登记"), redirect("stacks:home"),
    )  # fmt: skip


@permission_required(STACKS)
@require_POST
def room_create(request: HttpRequest) -> HttpResponse:
    building = (
        st.buildings_for(_user(request))
        .filter(pk=whole_number(request.POST.get("building")) or 0)
        .first()
    )
    if building is None:
        messages.error(request, _("请选择库房楼"))
        return redirect("stacks:home")
    try:
        room = st.create_room(_user(request), building, request.POST.get("code", ""),
                              request.POST.get("name", ""), request.POST.get("kind", ""))  # fmt: skip
    except st.StacksError as e:
        if (page := _refused(request, e)) is not None:
            return page
        return redirect("stacks:home")
    messages.success(request, _("库房已登记"))
    return redirect("stacks:room", room.pk)


# --- where is it ---------------------------------------------------------------------------------
@permission_required(VIEW)
def locate(request: HttpRequest) -> HttpResponse:
    """A typed or scanned 档号 (or a box number: then its box page)."""
    code = (request.GET.get("code") or "").strip()
    rows: list[dict[str, Any]] = []
    if code:
        box = st.boxes_for(_user(request)).filter(code=code).first()
        if box is not None:
            return redirect("stacks:box", box.pk)
        try:
            rows = st.locate(_user(request), code)
        except st.StacksError as e:
            if (page := _refused(request, e)) is not None:
                return page
    return render(request, "stacks/locate.html", {"code": code, "rows": rows})


# --- rooms -------------------------------------------------------------------------------------
def _period(request: HttpRequest) -> tuple[int, dt.datetime, dt.datetime]:
    days = whole_number(request.GET.get("days")) or 30
    if days not in PERIODS:
        days = 30
    end = timezone.now()
    return days, end - dt.timedelta(days=days), end


@permission_required(VIEW)
def room(request: HttpRequest, pk: int) -> HttpResponse:
    room = st.rooms_for(_user(request)).filter(pk=pk).first()
    if room is None:
        return not_found(request, _("库房不存在"))
    days, start, end = _period(request)
    limits = st.room_limits(room)
    readings = climate.readings_between(room, start, end)
    chart_list = []
    for quantity, label, unit in (
        ("temperature", _("温度"), "°C"),
        ("humidity", _("相对湿度"), "%"),
    ):
        points = [charts.Point(r.taken_at, r.temperature if quantity == "temperature" else r.humidity)
                  for r in readings]  # fmt: skip
        low, high = limits.band(quantity)
        outside = sum(1 for p in points if p.value < low or p.value > high)
        desc = _("%(room)s 最近 %(days)s 天的%(label)s读数 %(n)s 条，限值 %(low)s–%(high)s%(unit)s，超出限值 %(out)s 条。") % {
            "room": room.name, "days": days, "label": label, "n": len(points), "low": low, "high": high,
            "unit": unit, "out": outside,
        }  # fmt: skip
        chart_list.append({
            "label": label,
            "svg": mark_safe(charts.svg(quantity=quantity, points=points, limits=limits, start=start, end=end,
                                        title=f"{room.name} · {label}", description=desc, unit=unit,
                                        ident=f"chart-{quantity}")),  # noqa: S308 (escaped in charts.svg)
        })  # fmt: skip
    rows = [
        {"r": r, "out": std.breaches(limits, r.temperature, r.humidity)}
        for r in reversed(readings[-TABLE_ROWS:])
    ]
    shelves = list(room.shelves.all())
    occ = st.occupancy(shelves)
    kind = std.room_kind(room.kind)
    return render(request, "stacks/room.html", {
        "room": room, "days": days, "periods": PERIODS, "charts": chart_list, "rows": rows,
        "total": len(readings), "table_rows": TABLE_ROWS, "limits": limits, "kind": kind,
        "kinds": std.room_kinds(), "fluctuation": {q: std.fluctuation_limit(q) for q in std.QUANTITIES},
        "alerts": list(climate.open_alerts(room)),
        "resolved": list(ClimateAlert.objects.filter(room=room, resolved_at__isnull=False)[:20]),
        "shelves": [{"shelf": s, "occ": occ[s.pk]} for s in shelves],
        "can_change": _can_change(request),
        "now": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    })  # fmt: skip


def _room_or_404(request: HttpRequest, pk: int) -> Room | None:
    return st.rooms_for(_user(request)).filter(pk=pk).first()


@permission_required(STACKS)
@require_POST
def room_reading(request: HttpRequest, pk: int) -> HttpResponse:
    room = _room_or_404(request, pk)
    if room is None:
        return not_found(request, _("库房不存在"))
    try:
        _reading, alerts = climate.enter_reading(_user(request), room, request.POST.get("taken_at", ""),
                                            request.POST.get("temperature", ""), request.POST.get("humidity", ""))  # fmt: skip
    except st.StacksError as e:
        if (page := _refused(request, e)) is not None:
            return page
        return redirect("stacks:room", room.pk)
    if alerts:
        messages.warning(
            request, _("读数已保存，超出限值，已产生 %(n)s 条告警") % {"n": len(alerts)}
        )
    else:
        messages.success(request, _("读数已保存"))
    return redirect("stacks:room", room.pk)


@permission_required(STACKS)
@require_POST
def room_climate(request: HttpRequest, pk: int) -> HttpResponse:
    room = _room_or_404(request, pk)
    if room is None:
        return not_found(request, _("库房不存在"))
    return _post_action(
        request,
        lambda: st.set_room_climate(_user(request), room, request.POST.get("kind", ""), request.POST),
        _("温湿度限值已保存"), redirect("stacks:room", room.pk),
    )  # fmt: skip


@permission_required(STACKS)
@require_POST
def shelf_create(request: HttpRequest, pk: int) -> HttpResponse:
    room = _room_or_404(request, pk)
    if room is None:
        return not_found(request, _("库房不存在"))
    p = request.POST
    return _post_action(
        request,
        lambda: st.create_shelf(_user(request), room, p.get("code", ""), p.get("length_m", ""),
                                p.get("capacity_boxes", "")),
        _("架已登记"), redirect("stacks:room", room.pk),
    )  # fmt: skip


@permission_required(STACKS)
@require_POST
def alert_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    alert = (
        ClimateAlert.objects.select_related("room")
        .filter(pk=pk, room__in=st.rooms_for(_user(request)).values("pk"))
        .first()
    )
    if alert is None:
        return not_found(request, _("告警不存在"))
    home = request.POST.get("next") == "home"
    return _post_action(
        request,
        lambda: climate.resolve_alert(_user(request), alert, request.POST.get("note", "")),
        _("告警已处理"), redirect("stacks:home") if home else redirect("stacks:room", alert.room_id),
    )  # fmt: skip


# --- shelves and boxes ---------------------------------------------------------------------------
@permission_required(VIEW)
def shelf(request: HttpRequest, pk: int) -> HttpResponse:
    shelf = st.shelves_for(_user(request)).filter(pk=pk).first()
    if shelf is None:
        return not_found(request, _("架不存在"))
    boxes = list(shelf.boxes.all())
    counts = st.unit_counts(boxes)
    return render(request, "stacks/shelf.html", {
        "shelf": shelf, "occ": st.occupancy([shelf])[shelf.pk],
        "boxes": [{"box": b, "units": counts[b.pk]} for b in boxes],
        "thicknesses": std.box_thicknesses(), "default_thickness": std.default_box_thickness(),
        "can_change": _can_change(request),
    })  # fmt: skip


@permission_required(STACKS)
@require_POST
def box_create(request: HttpRequest, pk: int) -> HttpResponse:
    shelf = st.shelves_for(_user(request)).filter(pk=pk).first()
    if shelf is None:
        return not_found(request, _("架不存在"))
    p = request.POST
    return _post_action(
        request,
        lambda: st.create_box(_user(request), shelf.code, p.get("code", ""), p.get("thickness_mm", ""),
                              p.get("label", "")),
        lambda box: _("档案盒 %(code)s 已上架") % {"code": box.code}, redirect("stacks:shelf", shelf.pk),
    )  # fmt: skip


def _box(request: HttpRequest, pk: int) -> Box | None:
    return st.boxes_for(_user(request)).filter(pk=pk).first()


@permission_required(VIEW)
def box(request: HttpRequest, pk: int) -> HttpResponse:
    box = _box(request, pk)
    if box is None:
        return not_found(request, _("档案盒不存在"))
    contents = st.box_contents(_user(request), box)
    return render(request, "stacks/box.html", {
        "box": box, "contents": contents,
        "units": [{"p": p, "loan": contents.out.get(p.record_id)} for p in contents.placements],
        "loan": Loan.objects.filter(box=box, returned_at__isnull=True).first(),
        "movements": _movements(request, box),
        "purposes": Loan.PURPOSES, "can_change": _can_change(request),
        "default_due": (timezone.localdate() + dt.timedelta(days=14)).isoformat(),
        "today": timezone.localdate(),
    })  # fmt: skip


def _movements(request: HttpRequest, box: Box) -> list[Movement]:
    """The box's movements; a unit the viewer may not see (above their clearance) keeps its
    line but not its 档号 (`hidden` set)."""
    from lantai.catalog.services import visible_records

    rows = list(Movement.objects.filter(box=box).select_related("loan")[:200])
    ids = {m.record_id for m in rows if m.record_id}
    seen = set(visible_records(_user(request)).filter(pk__in=ids).values_list("pk", flat=True))
    for m in rows:
        m.hidden = bool(m.record_id and m.record_id not in seen)  # type: ignore[attr-defined]
        if m.hidden:  # type: ignore[attr-defined]
            m.reference_code = ""
    return rows


def _box_action(request: HttpRequest, pk: int) -> Box | HttpResponse:
    box = _box(request, pk)
    if box is None:
        return not_found(request, _("档案盒不存在"))
    return box


@permission_required(STACKS)
@require_POST
def box_place(request: HttpRequest, pk: int) -> HttpResponse:
    box = _box_action(request, pk)
    if isinstance(box, HttpResponse):
        return box
    return _post_action(
        request,
        lambda: st.place_records(_user(request), box, request.POST.get("codes", ""),
                                 relocate=request.POST.get("relocate") == "1"),
        lambda units: _("已装盒 %(n)s 件") % {"n": len(units)}, redirect("stacks:box", box.pk),
    )  # fmt: skip


@permission_required(STACKS)
@require_POST
def box_remove(request: HttpRequest, pk: int) -> HttpResponse:
    box = _box_action(request, pk)
    if isinstance(box, HttpResponse):
        return box

    def remove() -> Record:
        record = lending.find_unit(
            _user(request), request.POST.get("code", ""), st._repository_of(box)
        )
        st.remove_record(_user(request), record, request.POST.get("reason", ""))
        return record

    return _post_action(
        request, remove, lambda record: _("已出盒：%(code)s") % {"code": record.reference_code},
        redirect("stacks:box", box.pk),
    )  # fmt: skip


@permission_required(STACKS)
@require_POST
def box_move(request: HttpRequest, pk: int) -> HttpResponse:
    box = _box_action(request, pk)
    if isinstance(box, HttpResponse):
        return box
    return _post_action(
        request,
        lambda: st.move_box(_user(request), box, request.POST.get("shelf", ""), request.POST.get("reason", "")),
        lambda moved: _("已移至架 %(shelf)s") % {"shelf": moved.shelf.code}, redirect("stacks:box", box.pk),
    )  # fmt: skip


@permission_required(STACKS)
@require_POST
def box_lend(request: HttpRequest, pk: int) -> HttpResponse:
    box = _box_action(request, pk)
    if isinstance(box, HttpResponse):
        return box
    p = request.POST
    return _post_action(
        request,
        lambda: lending.lend_box(_user(request), box, p.get("purpose", ""), p.get("due_on", ""),
                            p.get("borrower", ""), p.get("reason", "")),
        _("档案盒已借出"), redirect("stacks:box", box.pk),
    )  # fmt: skip


@permission_required(STACKS)
@require_POST
def unit_lend(request: HttpRequest, pk: int) -> HttpResponse:
    box = _box_action(request, pk)
    if isinstance(box, HttpResponse):
        return box
    p = request.POST

    def lend() -> Record:
        record = lending.find_unit(_user(request), p.get("code", ""), st._repository_of(box))
        lending.lend_record(_user(request), record, p.get("purpose", ""), p.get("due_on", ""), p.get("borrower", ""),
                       p.get("reason", ""))  # fmt: skip
        return record

    return _post_action(
        request, lend, lambda record: _("已借出：%(code)s") % {"code": record.reference_code},
        redirect("stacks:box", box.pk),
    )  # fmt: skip


@permission_required(STACKS)
@require_POST
def loan_return(request: HttpRequest, pk: int) -> HttpResponse:
    loan = st.loans_for(_user(request)).filter(pk=pk).first()
    if loan is None:
        return not_found(request, _("借出记录不存在"))
    box_pk = whole_number(request.POST.get("box"))
    return _post_action(
        request,
        lambda: lending.return_loan(_user(request), loan, request.POST.get("note", "")),
        _("已归还"), redirect("stacks:home") if box_pk is None else redirect("stacks:box", box_pk),
    )  # fmt: skip


# --- census ------------------------------------------------------------------------------------
@permission_required(VIEW)
def census_list(request: HttpRequest) -> HttpResponse:
    censuses = list(st.censuses_for(_user(request))[:100])
    return render(request, "stacks/census_list.html", {"censuses": censuses})


@permission_required(STACKS)
@require_POST
def census_start(request: HttpRequest) -> HttpResponse:
    box = st.boxes_for(_user(request)).filter(pk=whole_number(request.POST.get("box")) or 0).first()
    shelf = (
        st.shelves_for(_user(request))
        .filter(pk=whole_number(request.POST.get("shelf")) or 0)
        .first()
    )
    try:
        census = censuses.start_census(_user(request), box=box, shelf=shelf)
    except st.StacksError as e:
        if (page := _refused(request, e)) is not None:
            return page
        return (
            redirect("stacks:box", box.pk)
            if box
            else redirect("stacks:shelf", shelf.pk)
            if shelf
            else redirect("stacks:home")
        )
    return redirect("stacks:census", census.pk)


@permission_required(VIEW)
def census(request: HttpRequest, pk: int) -> HttpResponse:
    census = st.censuses_for(_user(request)).filter(pk=pk).first()
    if census is None:
        return not_found(request, _("清点不存在"))
    report = censuses.census_report(census)
    pending = [b for b in report.boxes if b.counted_at is None]
    current = next((b for b in report.boxes if str(b.pk) == request.GET.get("box")), None) or (
        pending[0] if pending else None
    )
    return render(request, "stacks/census.html", {
        "census": census, "report": report, "current": current, "pending": pending,
        "kinds": Discrepancy.KINDS, "can_change": _can_change(request),
        "recountable": censuses.recountable(census),
    })  # fmt: skip


@permission_required(STACKS)
@require_POST
def census_count(request: HttpRequest, pk: int) -> HttpResponse:
    cbox = (
        CensusBox.objects.select_related("census", "box")
        .filter(pk=pk, census__in=st.censuses_for(_user(request)).values("pk"))
        .first()
    )
    if cbox is None:
        return not_found(request, _("清点不存在"))
    try:
        found = censuses.enter_count(_user(request), cbox, request.POST.get("codes", ""))
        if found:
            messages.warning(
                request,
                _("盒 %(box)s 清点完毕：发现 %(n)s 处差异")
                % {"box": cbox.box.code, "n": len(found)},
            )
        else:
            messages.success(request, _("盒 %(box)s 清点完毕：账实相符") % {"box": cbox.box.code})
    except st.StacksError as e:
        if (page := _refused(request, e)) is not None:
            return page
    return redirect("stacks:census", cbox.census_id)


@permission_required(STACKS)
@require_POST
def discrepancy_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    found = (
        Discrepancy.objects.select_related("box")
        .filter(pk=pk, census__in=st.censuses_for(_user(request)).values("pk"))
        .first()
    )
    if found is None:
        return not_found(request, _("差异不存在"))
    return _post_action(
        request,
        lambda: censuses.resolve_discrepancy(_user(request), found, request.POST.get("note", ""),
                                       relocate=request.POST.get("relocate") == "1"),
        _("差异已处理"), redirect("stacks:census", found.census_id),
    )  # fmt: skip


# --- readings import -----------------------------------------------------------------------------
@permission_required(STACKS)
def readings_import(request: HttpRequest) -> HttpResponse:
    rooms = list(st.rooms_for(_user(request)))
    recent = list(
        ReadingImport.objects.select_related("room").filter(
            Q(room__isnull=True) | Q(room__in=[r.pk for r in rooms])
        )[:20]
    )
    if request.method == "POST":
        upload = request.FILES.get("file")
        room_pk = whole_number(request.POST.get("room"))
        room = next((r for r in rooms if r.pk == room_pk), None)
        if upload is None:
            messages.error(request, _("请选择要导入的 CSV 文件"))
        elif upload.size is not None and upload.size > MAX_UPLOAD:
            messages.error(request, _("文件过大：温湿度读数文件不得超过 50 MB"))
        else:
            name = Path(upload.name or "readings.csv").name
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / ("upload" + Path(name).suffix.lower())
                with path.open("wb") as f:
                    for chunk in upload.chunks():
                        f.write(chunk)
                try:
                    batch = importing.import_readings(_user(request), path, room=room,
                                                      valid_rows_only=request.POST.get("valid_rows_only") == "1",
                                                      file_name=name)  # fmt: skip
                except st.StacksError as e:
                    if (page := _refused(request, e)) is not None:
                        return page
                else:
                    return redirect("stacks:readings_import_result", batch.pk)
    return render(request, "stacks/readings_import.html", {"rooms": rooms, "recent": recent})


@permission_required(VIEW)
def readings_import_result(request: HttpRequest, pk: int) -> HttpResponse:
    batch = importing.visible_import(pk, _user(request))
    if batch is None:
        return not_found(request, _("导入记录不存在"))
    errors = [{**e, "column": COLUMN_LABELS.get(e.get("column", ""), e.get("column", ""))}
              for e in batch.errors]  # fmt: skip
    return render(request, "stacks/readings_import_result.html", {"batch": batch, "errors": errors})
