from typing import Any

from django.apps import AppConfig
from django.db.models import Q, QuerySet


class AccessConfig(AppConfig):
    name = "lantai.access"
    label = "access"
    verbose_name = "利用"

    def ready(self) -> None:
        from lantai.core import figures

        figures.register("access_requests", _requests_in)
        figures.register("access_provisions", _provisions_in)
        figures.register("access_users", _users_in)


def _of_repository(rows: QuerySet[Any], repository_id: int) -> QuerySet[Any]:
    """The rows (requests or provisions) of one archives: those naming one of its records; those
    naming no catalogued record (records_text only) count for the default archives."""
    from lantai.catalog.models import Repository

    mine = Q(records__repository_id=repository_id)
    if Repository.objects.filter(pk=repository_id, is_default=True).exists():
        mine |= Q(records__isnull=True)
    return rows.filter(pk__in=rows.filter(mine).values("pk"))


def _requests_in(year: int, repository_id: int) -> int:
    """查档申请 submitted within `year` for the archives `repository_id` (statistics report)."""
    from .models import AccessRequest

    rows = AccessRequest.objects.filter(submitted_at__year=year)
    return _of_repository(rows, repository_id).count()


def _provisions_in(year: int, repository_id: int) -> int:
    """利用登记 made within `year` for the archives `repository_id`."""
    from .models import Provision

    rows = Provision.objects.filter(provided_at__year=year)
    return _of_repository(rows, repository_id).count()


def _users_in(year: int, repository_id: int) -> int:
    """利用者人数: distinct identity documents in the use register of the archives
    `repository_id` within `year`."""
    from .models import Provision

    rows = _of_repository(Provision.objects.filter(provided_at__year=year), repository_id)
    return rows.values("id_type", "id_number").distinct().count()
