"""The marriage registration archives of the demo region (issue 16): each city archives holds the
files its city's civil-affairs offices transferred — a few tens of thousands of registrations
(结婚, and for some couples later 离婚, 补发, a remarriage), all synthetic: the names are drawn from
the demo word lists and the identity numbers are made up (valid check characters, random
sequence numbers). A counter query, a certificate of records, a no-record certificate and a
revoked certificate show the counter at work.

The offices sit in the fictional 岭南省 (region codes 49…, a province code GB/T 2260 does not
use), so no office code is a real one; birthplaces in the identity numbers are 广西 codes from
standards/data/regions-45.yaml, as identity numbers must carry a real province."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from lantai.catalog.models import Fonds, Repository
from lantai.core.models import User
from lantai.marriage import records
from lantai.marriage.models import Registration
from lantai.standards import marriage_profile as mp
from lantai.standards._data import load_data

from .words import words

if TYPE_CHECKING:
    from lantai.demo.seed import Summary

FONDS_CODE = "MZHY"
SEED = 16
FIRST_YEAR, LAST_YEAR = 1981, 2024
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_number(rng: random.Random, born: date, male: bool, places: list[str]) -> str:
    sequence = rng.randrange(0, 999, 2) + (1 if male else 0)  # odd for men (GB 11643)
    body = f"{rng.choice(places)}{born:%Y%m%d}{sequence:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


@dataclass
class _City:
    repository: Repository
    fonds: Fonds
    offices: list[tuple[str, str]]  # (office name, region code)


def _cities(summary: Summary) -> list[_City]:
    region = words()["region"]
    counties = list(region["counties"])
    out = []
    for i, city in enumerate(region["cities"]):
        repo = Repository.objects.filter(code=city["archives_code"]).first()
        if repo is None:
            continue
        fonds, made = Fonds.objects.get_or_create(
            repository=repo, code=FONDS_CODE,
            defaults={"name": f"{city['name']}民政局（婚姻登记档案）",
                      "creator": f"{city['name']}民政局",
                      "description": f"{city['name']}及所辖县区婚姻登记机关移交的婚姻登记档案。"},
        )  # fmt: skip
        summary.count("fonds", made)
        base = city["archives_code"][:4]
        offices = [(f"{city['name']}民政局婚姻登记处", f"{base}02")]
        for n, county in enumerate(counties[i * 5 : i * 5 + 5], start=21):
            offices.append((f"{county}民政局婚姻登记处", f"{base}{n:02d}"))
        out.append(_City(repo, fonds, offices))
    return out


class _People:
    def __init__(self, rng: random.Random) -> None:
        w = words()
        self.rng, self.surnames, self.given = rng, w["surnames"], w["given_chars"]
        regions = load_data("regions-45.yaml")["cities"]
        self.places = [c for city in regions.values() for c in city["counties"]]

    def person(self, male: bool, married_on: date) -> mp.Party:
        rng = self.rng
        name = rng.choice(self.surnames) + "".join(
            rng.choice(self.given) for _ in range(1 if rng.random() < 0.3 else 2)
        )
        age = rng.randint(22 if male else 20, 38)
        born = married_on - timedelta(days=365 * age + rng.randint(0, 364))
        number = _id_number(rng, born, male, self.places)
        return mp.Party(name=name, sex="男" if male else "女", id_type="居民身份证",
                        id_number=number, nationality="中国", birth_date=born)  # fmt: skip


def _registrations(cities: list[_City], total: int) -> dict[int, list[mp.Registration]]:
    """city index -> registrations, drawn the same way on every run."""
    rng = random.Random(SEED)
    people = _People(rng)
    serial: dict[tuple[str, str, int], int] = {}
    out: dict[int, list[mp.Registration]] = {i: [] for i in range(len(cities))}

    def add(city: int, kind: str, when: date, couple: tuple[mp.Party, mp.Party]) -> None:
        office, code = rng.choice(cities[city].offices)
        prefix = mp.kind(kind).prefix
        n = serial[(prefix, code, when.year)] = serial.get((prefix, code, when.year), 0) + 1
        out[city].append(mp.Registration(
            kind=kind, date=when, office=office, region_code=code,
            certificate_number=f"{prefix}{code}-{when.year}-{n:06d}",
            retention="Y" if rng.random() < 0.05 else "D100", parties=couple,
        ))  # fmt: skip

    count = 0
    span = (date(LAST_YEAR, 12, 31) - date(FIRST_YEAR, 1, 1)).days
    while count < total:
        city = rng.randrange(len(cities))
        wed = date(FIRST_YEAR, 1, 1) + timedelta(days=rng.randint(0, span))
        couple = (people.person(True, wed), people.person(False, wed))
        add(city, "marriage", wed, couple)
        count += 1
        if rng.random() < 0.04 and wed.year < LAST_YEAR:
            later = wed + timedelta(days=rng.randint(200, 3000))
            if later.year <= LAST_YEAR:
                add(city, "reissue_marriage", later, couple)
                count += 1
        if rng.random() < 0.14:
            split = wed + timedelta(days=rng.randint(365, 365 * 15))
            if split.year <= LAST_YEAR:
                add(city, "divorce", split, couple)
                count += 1
                again = split + timedelta(days=rng.randint(180, 365 * 6))
                if rng.random() < 0.35 and again.year <= LAST_YEAR:
                    add(city, "marriage", again, (couple[0], people.person(False, again)))
                    count += 1
    return out


def make_marriage(records_total: int, summary: Summary) -> None:
    cities = _cities(summary)
    if not cities:
        summary.problems.append("演示婚姻档案未生成：没有市级档案馆")
        return
    total = max(300, records_total * 3 // 2)
    created = unchanged = 0
    for i, regs in _registrations(cities, total).items():
        written = records.write(cities[i].fonds, regs)
        created += len(written.created)
        unchanged += written.unchanged
    summary.alive.append(
        f"  婚姻档案 marriage records: {Registration.objects.count():,} 条"
        f"（本次新增 {created:,}，已有 {unchanged:,}），分属 {len(cities)} 个市级档案馆"
    )
    _counter(summary)


def _counter(summary: Summary) -> None:
    """A citizen's certificate, a no-record certificate and a revoked one, through the services
    as the demo counter staff."""
    from lantai.certificates import revocation
    from lantai.certificates.models import Certificate
    from lantai.marriage import certify
    from lantai.standards.marriage_rights import Request

    clerk = User.objects.filter(username="counter").first()
    if clerk is None or not User.objects.filter(username="marriage").exists():
        summary.problems.append("演示出证未完成：缺少演示用户 counter 或 marriage")
        return
    home = words()["region"]["cities"][0]["archives_code"]  # the counter user's archives
    divorce = (
        Registration.objects.filter(kind="divorce", record__repository__code=home)
        .order_by("date", "pk")
        .first()
    )
    if divorce is None:
        return
    wife = divorce.parties.get(position=2)
    from lantai.marriage import identity

    number = identity.unseal(wife.id_sealed)
    summary.alive.append(
        f"  婚姻档案示例 sample: 身份证号 {number}（{wife.name}，{divorce.date.year} 年离婚登记）"
    )
    if Certificate.objects.exists():
        summary.alive.append(f"  出证 certificates: {Certificate.objects.count()} 份（已有）")
        return
    me = Request(requester_type="self", requester_name=wife.name, requester_id=number,
                 proofs={"id_document": "居民身份证原件已核验"}, purpose="办理房产过户")  # fmt: skip
    from lantai.marriage import finding

    found = finding.find(finding.Criteria(id_number=number), me, channel="counter",
                         actor="counter", user=clerk)  # fmt: skip
    ids = [h.record_id for h in found.hits][: certify.MAX_RECORDS]
    good = certify.certify_records(ids, me, purpose="办理房产过户", actor="counter", user=clerk)
    wrong = certify.certify_records(ids[:1], me, purpose="银行贷款", actor="counter", user=clerk)
    revocation.request(wrong.number, "用途填写错误，已重新出具", actor="counter")
    revocation.confirm(wrong.number, actor="marriage")
    single = Request(requester_type="self", requester_name="覃晓燕", requester_id=_unmarried(),
                     proofs={"id_document": "居民身份证原件已核验"}, purpose="办理出国手续")  # fmt: skip
    none = certify.certify_none_found(
        single, subject_name="覃晓燕", subject_id=single.requester_id, purpose="办理出国手续",
        actor="counter", user=clerk, repository=divorce.record.repository,
    )  # fmt: skip
    summary.alive.append(
        f"  出证 certificates: {good.number}（婚姻登记记录证明），{none.number}（无记录证明），"
        f"{wrong.number}（已撤销）"
    )


def _unmarried() -> str:
    """An identity number no demo registration carries (drawn outside the demo's birth years)."""
    rng = random.Random(SEED + 1)
    return _id_number(rng, date(2002, 7, 15), False, ["450103"])
