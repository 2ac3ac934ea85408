from django.apps import AppConfig


class HoldingsConfig(AppConfig):
    name = "lantai.holdings"
    label = "holdings"
    verbose_name = "征集与馆藏"

    def ready(self) -> None:
        from lantai.core import figures

        figures.register("accessions", accessions_in)
        figures.register("accession_items", accession_items_in)


def accessions_in(year: int) -> int:
    """Accessions registered (received) within `year`, those returned to the donor left out (for
    the statistics report)."""
    from .models import Accession

    return Accession.objects.filter(received_on__year=year).exclude(status="returned").count()


def accession_items_in(year: int) -> int:
    """Items of the accessions registered within `year` (returned ones left out)."""
    from django.db.models import Sum

    from .models import Accession

    rows = Accession.objects.filter(received_on__year=year).exclude(status="returned")
    return int(rows.aggregate(n=Sum("item_count"))["n"] or 0)
