from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "lantai.access"
    label = "access"
    verbose_name = "利用"

    def ready(self) -> None:
        from lantai.core import figures

        figures.register("access_requests", _requests_in)
        figures.register("access_provisions", _provisions_in)
        figures.register("access_users", _users_in)


def _requests_in(year: int) -> int:
    """查档申请 submitted within `year` (for the statistics report)."""
    from .models import AccessRequest

    return AccessRequest.objects.filter(submitted_at__year=year).count()


def _provisions_in(year: int) -> int:
    """利用登记 made within `year`."""
    from .models import Provision

    return Provision.objects.filter(provided_at__year=year).count()


def _users_in(year: int) -> int:
    """利用者人数: distinct identity documents in the use register within `year`."""
    from .models import Provision

    rows = Provision.objects.filter(provided_at__year=year).values("id_type", "id_number")
    return rows.distinct().count()
