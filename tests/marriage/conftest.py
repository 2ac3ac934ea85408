"""Helpers of the marriage tests: synthetic people with valid identity numbers, registrations
written with the real services (records.write) into a city archives' fonds."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from lantai.standards import marriage_profile as mp

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(region: str, born: date, sequence: int) -> str:
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def person(name: str, sex: str, born: date, sequence: int, region: str = "450103") -> mp.Party:
    number = resident_id(region, born, sequence)
    return mp.Party(name=name, sex=sex, id_type="居民身份证", id_number=number,
                    nationality="中国", birth_date=born)  # fmt: skip


HUSBAND = person("王建华", "男", date(1984, 3, 1), 111)
WIFE = person("李秀英", "女", date(1986, 5, 2), 222)
OTHER = person("陈国强", "男", date(1990, 8, 8), 333)
OTHER_WIFE = person("黄玉兰", "女", date(1992, 1, 9), 444)


def registration(kind: str, when: date, a: mp.Party, b: mp.Party, n: int = 1) -> mp.Registration:
    prefix = mp.kind(kind).prefix
    return mp.Registration(
        kind=kind, date=when, office="南州市民政局婚姻登记处", region_code="490102",
        certificate_number=f"{prefix}490102-{when.year}-{n:06d}", retention="D100",
        parties=(a, b),
    )  # fmt: skip


@pytest.fixture
def fonds(db: Any) -> Any:
    from lantai.catalog.models import Fonds, Repository

    repo = Repository.objects.create(code="490101", name="南州市档案馆", level="city",
                                     region="岭南省南州市", is_default=True)  # fmt: skip
    return Fonds.objects.create(repository=repo, code="MZHY", name="南州市民政局（婚姻登记档案）",
                                creator="南州市民政局")  # fmt: skip


@pytest.fixture
def couple(fonds: Any) -> dict[str, int]:
    """王建华 and 李秀英 married in 2010 and divorced in 2016; 陈国强 and 黄玉兰 married in 2012."""
    from lantai.marriage import records

    written = records.write(fonds, [
        registration("marriage", date(2010, 5, 20), HUSBAND, WIFE, 123),
        registration("divorce", date(2016, 9, 1), HUSBAND, WIFE, 45),
        registration("marriage", date(2012, 10, 1), OTHER, OTHER_WIFE, 321),
    ])  # fmt: skip
    marriage, divorce, other = written.created
    return {"marriage": marriage, "divorce": divorce, "other": other}


def self_request(party: mp.Party, **extra: Any) -> Any:
    from lantai.standards.marriage_rights import Request

    return Request(requester_type="self", requester_name=party.name,
                   requester_id=party.id_number or "", proofs={"id_document": "原件已核验"},
                   purpose="办理房产过户", **extra)  # fmt: skip
