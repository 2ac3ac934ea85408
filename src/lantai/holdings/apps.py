from django.apps import AppConfig


class HoldingsConfig(AppConfig):
    name = "lantai.holdings"
    label = "holdings"
    verbose_name = "征集与馆藏"

    def ready(self) -> None:
        from lantai.core import figures

        figures.register("accessions", accessions_in)
        figures.register("accession_items", accession_items_in)


def accessions_in(year: int, repository_id: int) -> int:
    """Accessions of the archives `repository_id` received within `year` and taken in (status
    accepted: registered or appraised ones are not yet accessioned, returned ones never were)."""
    from .models import Accession

    return Accession.objects.filter(
        repository_id=repository_id, received_on__year=year, status="accepted"
    ).count()


def accession_items_in(year: int, repository_id: int) -> int:
    """Items of the accessions counted by accessions_in."""
    from django.db.models import Sum

    from .models import Accession

    rows = Accession.objects.filter(
        repository_id=repository_id, received_on__year=year, status="accepted"
    )
    return int(rows.aggregate(n=Sum("item_count"))["n"] or 0)
