"""库房管理: buildings, rooms, shelves and boxes, where each physical unit is, its movements, stack
censuses and the climate readings of each room."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Building(models.Model):
    """A building of the archives with stack rooms (库房楼)."""

    repository = models.ForeignKey(
        "catalog.Repository", on_delete=models.PROTECT, related_name="+", verbose_name=_("档案馆")
    )
    code = models.CharField(_("楼号"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    address = models.CharField(_("地址"), max_length=300, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("库房楼")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Room(models.Model):
    """A stack room (库房) of a kind (standards/data/stack-climate.yaml); its own limits, where set,
    replace those of its kind."""

    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="rooms")
    code = models.CharField(_("库房编号"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    kind = models.CharField(_("库房类型"), max_length=16, default="paper")
    temp_min = models.DecimalField(
        _("最低温度"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    temp_max = models.DecimalField(
        _("最高温度"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    rh_min = models.DecimalField(
        _("最低相对湿度"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    rh_max = models.DecimalField(
        _("最高相对湿度"), max_digits=5, decimal_places=2, null=True, blank=True
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("库房")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Sensor(models.Model):
    """A temperature and humidity sensor of a room, named in imported CSV files."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="sensors")
    code = models.CharField(_("传感器编号"), max_length=64, unique=True)

    class Meta:
        ordering = ["code"]


class Shelf(models.Model):
    """A shelf (架) of a room: its length in metres and, where counted so, its box positions."""

    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="shelves")
    code = models.CharField(_("架号"), max_length=32, unique=True)
    length_m = models.DecimalField(_("长度（米）"), max_digits=7, decimal_places=2)
    capacity_boxes = models.PositiveIntegerField(_("盒位数"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("架")

    def __str__(self) -> str:
        return self.code


class Box(models.Model):
    """An archives box (档案盒) with its number or barcode, on a shelf; it holds catalog records."""

    STATUSES = [("shelved", _("在架")), ("out", _("已借出"))]
    code = models.CharField(_("盒号"), max_length=64, unique=True)
    shelf = models.ForeignKey(Shelf, on_delete=models.PROTECT, related_name="boxes")
    thickness_mm = models.PositiveSmallIntegerField(_("盒脊厚度（毫米）"), default=40)
    label = models.CharField(_("盒标签"), max_length=200, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=STATUSES, default="shelved")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("档案盒")

    def __str__(self) -> str:
        return self.code


class Placement(models.Model):
    """Where a physical unit (案卷 or 件) is: in one box (the 卷内文件 of a volume follow it)."""

    record = models.OneToOneField(
        "catalog.Record", on_delete=models.CASCADE, related_name="stacks_placement"
    )
    box = models.ForeignKey(Box, on_delete=models.PROTECT, related_name="placements")
    placed_at = models.DateTimeField(auto_now_add=True)
    placed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["box", "record__reference_code"]


class Loan(models.Model):
    """A box or one unit lent out of the stacks (出库) until it is returned."""

    PURPOSES = [
        ("digitization", _("数字化")),
        ("exhibition", _("展览")),
        ("repair", _("修复")),
        ("other", _("其他")),
    ]
    box = models.ForeignKey(
        Box, on_delete=models.PROTECT, null=True, blank=True, related_name="loans"
    )
    record = models.ForeignKey(
        "catalog.Record", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    purpose = models.CharField(_("用途"), max_length=16, choices=PURPOSES)
    borrower = models.CharField(_("借出至"), max_length=200, blank=True)
    reason = models.TextField(_("事由"), blank=True)
    due_on = models.DateField(_("应还日期"))
    lent_at = models.DateTimeField()
    lent_by = models.CharField(max_length=150, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    returned_by = models.CharField(max_length=150, blank=True)
    return_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-lent_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(box__isnull=False) | models.Q(record__isnull=False),
                name="stacks_loan_of_something",
            ),
            # one open loan per box and per unit: the database refuses a second one
            models.UniqueConstraint(
                fields=["box"],
                condition=models.Q(returned_at__isnull=True, box__isnull=False),
                name="stacks_one_open_loan_per_box",
            ),
            models.UniqueConstraint(
                fields=["record"],
                condition=models.Q(returned_at__isnull=True, record__isnull=False),
                name="stacks_one_open_loan_per_record",
            ),
        ]


class Movement(models.Model):
    """The movement log: a box shelved, moved, lent or returned; a unit placed, removed, lent or
    returned. Who, when, why."""

    KINDS = [
        ("shelve", _("上架")),
        ("move", _("移架")),
        ("lend", _("借出")),
        ("return", _("归还")),
        ("place", _("装盒")),
        ("remove", _("出盒")),
    ]
    kind = models.CharField(_("类型"), max_length=16, choices=KINDS)
    box = models.ForeignKey(
        Box, on_delete=models.CASCADE, null=True, blank=True, related_name="movements"
    )
    record = models.ForeignKey(
        "catalog.Record", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reference_code = models.CharField(max_length=100, blank=True)  # kept when a record goes
    from_place = models.CharField(_("原位置"), max_length=200, blank=True)
    to_place = models.CharField(_("新位置"), max_length=200, blank=True)
    loan = models.ForeignKey(
        Loan, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(_("事由"), blank=True)
    actor = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["box", "at"], name="stacks_movement_box")]


class Census(models.Model):
    """A stack census (清点) of one box or of every box on a shelf."""

    STATUSES = [("open", _("清点中")), ("completed", _("已完成"))]
    box = models.ForeignKey(Box, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    shelf = models.ForeignKey(
        Shelf, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("状态"), max_length=16, choices=STATUSES, default="open")
    started_by = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]


class CensusBox(models.Model):
    """One box of a census: what it should hold (frozen at the start) and what was counted."""

    census = models.ForeignKey(Census, on_delete=models.CASCADE, related_name="boxes")
    box = models.ForeignKey(Box, on_delete=models.PROTECT, related_name="+")
    expected = models.JSONField(default=list)  # 档号 of the units placed in it at the start
    counted = models.JSONField(default=list)  # 档号 entered, in the order counted
    counted_at = models.DateTimeField(null=True, blank=True)
    counted_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["box__code"]
        constraints = [
            models.UniqueConstraint(fields=["census", "box"], name="stacks_census_box_unique")
        ]


class Discrepancy(models.Model):
    """A difference found by a census: a unit missing from its box, one found that belongs to no
    box (unexpected) or to another box (misplaced). Resolved with a note."""

    KINDS = [("missing", _("缺失")), ("unexpected", _("多出")), ("misplaced", _("错放"))]
    census = models.ForeignKey(Census, on_delete=models.CASCADE, related_name="discrepancies")
    box = models.ForeignKey(Box, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("差异类型"), max_length=16, choices=KINDS)
    reference_code = models.CharField(_("档号"), max_length=100)
    record = models.ForeignKey(
        "catalog.Record", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_box = models.ForeignKey(
        Box, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )  # misplaced: the box it is recorded in
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    resolution = models.TextField(_("处理说明"), blank=True)
    relocated = models.BooleanField(default=False)  # the record's location was set to this box

    class Meta:
        ordering = ["box__code", "kind", "reference_code"]


class ReadingImport(models.Model):
    """One CSV file of sensor readings and its outcome, with the rows refused."""

    STATUSES = [("imported", _("已导入")), ("rejected", _("已拒绝"))]
    room = models.ForeignKey(
        Room, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file_name = models.CharField(max_length=255)
    file_sm3 = models.CharField(max_length=64)
    encoding = models.CharField(max_length=16, blank=True)
    valid_rows_only = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=STATUSES)
    rows_total = models.IntegerField(default=0)
    rows_imported = models.IntegerField(default=0)
    rows_duplicate = models.IntegerField(default=0)
    rows_rejected = models.IntegerField(default=0)
    alerts_opened = models.IntegerField(default=0)
    errors = models.JSONField(default=list)  # row, column, rule, value, message (first N)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]


class ClimateReading(models.Model):
    """A temperature and humidity reading of a room, entered or imported from a sensor's CSV."""

    SOURCES = [("entered", _("人工录入")), ("csv", _("CSV 导入"))]
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="readings")
    taken_at = models.DateTimeField(_("时间"))
    temperature = models.DecimalField(_("温度"), max_digits=5, decimal_places=2)
    humidity = models.DecimalField(_("相对湿度"), max_digits=5, decimal_places=2)
    source = models.CharField(_("来源"), max_length=8, choices=SOURCES)
    sensor = models.CharField(_("传感器编号"), max_length=64, blank=True)
    batch = models.ForeignKey(
        ReadingImport, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    entered_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["room", "taken_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["room", "taken_at", "sensor"], name="stacks_reading_unique"
            )
        ]


class ClimateAlert(models.Model):
    """A room outside its limits. Readings that break the same limit while the alert is open
    extend it (count, last and worst value); acknowledging it with a note resolves it, and the
    next breach opens a new one. Fluctuation alerts are per day."""

    KINDS = [
        ("temperature_high", _("温度过高")),
        ("temperature_low", _("温度过低")),
        ("humidity_high", _("湿度过高")),
        ("humidity_low", _("湿度过低")),
        ("temperature_fluctuation", _("温度日波动过大")),
        ("humidity_fluctuation", _("湿度日波动过大")),
    ]
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(_("告警类型"), max_length=32, choices=KINDS)
    limit = models.DecimalField(_("限值"), max_digits=5, decimal_places=2)
    worst = models.DecimalField(_("最不利值"), max_digits=6, decimal_places=2)
    first_at = models.DateTimeField(_("首次时间"))
    last_at = models.DateTimeField(_("最近时间"))
    readings = models.PositiveIntegerField(default=1)
    day = models.DateField(null=True, blank=True)  # fluctuation alerts: the day
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=150, blank=True)
    note = models.TextField(_("处理说明"), blank=True)

    class Meta:
        ordering = ["-last_at", "-pk"]
        indexes = [models.Index(fields=["room", "resolved_at"], name="stacks_alert_open")]
