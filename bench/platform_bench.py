"""`lantai bench platform`: the platform's messages (issue 17, "Performance").

In a fresh data directory (SQLite or PostgreSQL, migrated) one installation is both the hub and a
node (``bench``) — it joins itself through a real `lantai serve` on a loopback port, as any node
joins — and measures, each beside its target:
  sign_and_log_per_s   messages made (canonical JSON, SM2 signature) and appended to the
                       hash-chained log, one transaction each. Target ≥ 1,000/s. Peers in the
                       same run: signing alone, and gmssl signing alone (the library SM2).
  round_trip_p95_ms    a signed ``ping`` from the node to the hub over HTTP and back: signed,
                       logged, posted; at the hub checked against the member list, logged,
                       countersigned, answered with a signed reply; the receipt and reply
                       checked and both logged here. Target ≤ 200 ms. Peer: a plain HTTP GET of
                       the same server's member list (no signing, no log).
  marriage_feed_per_s  the hub's harvest of the node's marriage index through signed pages
                       (identity numbers opened and hashed with the regional key at the node,
                       stored with their name keys at the hub), for REGISTRATIONS generated
                       registrations. Target ≥ 5,000/s.
``--quick``: a few of each, for the tests; not the targets' figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SIZES = {"full": {"messages": 3000, "round_trips": 300, "registrations": 20000},
         "quick": {"messages": 30, "round_trips": 5, "registrations": 50}}  # fmt: skip
TARGETS = {"sign_and_log_per_s": (">=", 1000.0), "round_trip_p95_ms": ("<=", 200.0),
           "marriage_feed_per_s": (">=", 5000.0)}  # fmt: skip
DATABASES = ("sqlite", "postgresql")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))], 2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sign_and_log(n: int) -> dict[str, Any]:
    from gmssl import sm2 as gm

    from lantai.platform import log, peers
    from lantai.standards import platform_messages as pm

    key = peers.own_key()
    body = {"locator": "bench:BCHY-HY·2010·D100-00001", "purpose": "办理房产过户"}
    started = time.perf_counter()
    for _ in range(n):
        m = pm.make_message(sender="bench", to="hub", kind="bench", sent=log.now_iso(), body=body,
                            signer_key=key.public_key_hex, sign=key.sign)  # fmt: skip
        log.append("out", "hub", "bench", m["id"], json.dumps(m, ensure_ascii=False, separators=(",", ":")))  # fmt: skip
    ours = n / (time.perf_counter() - started)
    data = pm.canonical(body)
    started = time.perf_counter()
    for _ in range(n):
        key.sign(data)
    sign_only = n / (time.perf_counter() - started)
    gm_n = max(5, n // 20)
    signer = gm.CryptSM2(private_key=f"{key._d:064x}", public_key=key.public_key_hex[2:])
    started = time.perf_counter()
    for _ in range(gm_n):
        signer.sign_with_sm3(data)
    return {"ours_per_s": round(ours, 1), "peer_sign_only_per_s": round(sign_only, 1),
            "peer_gmssl_sign_per_s": round(gm_n / (time.perf_counter() - started), 1), "messages": n}  # fmt: skip


def _registrations(n: int) -> None:
    import datetime as dt

    from lantai.catalog.models import Fonds
    from lantai.catalog.services import default_repository
    from lantai.marriage import records
    from lantai.standards import marriage_profile as mp

    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

    def rid(born: dt.date, seq: int) -> str:
        body = f"450103{born:%Y%m%d}{seq % 1000:03d}"
        return (
            body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
        )

    fonds = Fonds.objects.create(repository=default_repository(), code="BHY", name="婚姻登记档案", creator="民政局")  # fmt: skip
    surnames, given = "王李张刘陈杨黄赵吴周", "建华秀英国强玉兰志明丽娟海燕春梅"
    batch: list[mp.Registration] = []
    for i in range(n):
        born = dt.date(1960 + i % 30, 1 + i % 12, 1 + i % 28)
        a = mp.Party(name=surnames[i % 10] + given[i % 14] + given[(i // 14) % 14], sex="男", id_type="居民身份证", id_number=rid(born, 2 * (i % 500) + 1), nationality="中国", birth_date=born)  # fmt: skip
        b = mp.Party(name=surnames[(i + 3) % 10] + given[(i + 5) % 14] + given[(i // 7) % 14], sex="女", id_type="居民身份证", id_number=rid(born, 2 * (i % 500)), nationality="中国", birth_date=born)  # fmt: skip
        when = dt.date(1990 + i % 30, 1 + i % 12, 1 + i % 28)
        batch.append(mp.Registration(kind="marriage", date=when, office="北川县民政局婚姻登记处", region_code="450123", certificate_number=f"J450123-{when.year}-{i:07d}", retention="D100", parties=(a, b)))  # fmt: skip
        if len(batch) == 5000:
            records.write(fonds, batch)
            batch = []
    if batch:
        records.write(fonds, batch)


def _phase(sizes: dict[str, int]) -> dict[str, Any]:
    common.setup_django()
    import requests

    from lantai.catalog.services import default_repository
    from lantai.platform import harvest_marriage, members, peers, regional, transport
    from lantai.platform.models import Member

    repo = default_repository()
    repo.name, repo.code = "北川县档案馆", "450123"
    repo.save()
    out: dict[str, Any] = {"machine": common.machine()}
    out["sign_and_log"] = _sign_and_log(sizes["messages"])
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "lantai.cli", "serve", "--no-worker", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                              env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(url + "/login/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        token = members.issue_token("bench", actor="bench")
        members.join(url, token, url=url, actor="bench")
        times, plain = [], []
        for _ in range(sizes["round_trips"]):
            started = time.perf_counter()
            sent = transport.send(peers.HUB, "ping", {}, queue=False)
            times.append((time.perf_counter() - started) * 1000)
            assert sent.reply is not None and sent.reply["pong"] == sent.message["id"]
            started = time.perf_counter()
            requests.get(url + "/platform/members", timeout=10)
            plain.append((time.perf_counter() - started) * 1000)
        out["round_trip"] = {"ours": {"p50_ms": pct(times, 50), "p95_ms": pct(times, 95), "n": len(times)},
                             "peer_plain_get": {"p50_ms": pct(plain, 50), "p95_ms": pct(plain, 95)}}  # fmt: skip
        regional.create()
        started = time.perf_counter()
        _registrations(sizes["registrations"])
        out["marriage_setup_s"] = round(time.perf_counter() - started, 1)
        run = harvest_marriage.harvest(Member.objects.get(code="bench"), full=True)
        out["marriage_feed"] = run
    finally:
        server.terminate()
        server.wait(timeout=30)
    return out


def run(databases: tuple[str, ...] = DATABASES, out: Path | None = None, *, quick: bool = False) -> dict[str, Any]:  # fmt: skip
    sizes = SIZES["quick" if quick else "full"]
    started = time.perf_counter()
    per_db: dict[str, Any] = {}
    for kind in databases:
        env, data_dir = common.fresh_database(kind, "lantai_bench_platform")
        env["LANTAI_JOBS_IMMEDIATE"] = "1"
        try:
            per_db[kind] = common.run_child(
                Path(__file__), ["--phase", "--sizes", json.dumps(sizes)], env
            )
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
            common.drop_database(kind, "lantai_bench_platform")
    targets: dict[str, Any] = {}
    for kind, m in per_db.items():
        values = {"sign_and_log_per_s": m["sign_and_log"]["ours_per_s"],
                  "round_trip_p95_ms": m["round_trip"]["ours"]["p95_ms"],
                  "marriage_feed_per_s": m["marriage_feed"].get("per_second")}  # fmt: skip
        for name, value in values.items():
            op, limit = TARGETS[name]
            met = value is not None and (value >= limit if op == ">=" else value <= limit)
            targets[f"{kind}.{name}"] = {"value": value, "target": f"{op} {limit}", "met": met}
    machine = next(iter(per_db.values()))["machine"] if per_db else common.machine()
    result: dict[str, Any] = {
        "benchmark": "platform", "quick": quick, "sizes": sizes,
        "machine": {**machine, "load_average_at_start": os.getloadavg()},
        "targets": targets, "databases": per_db, "seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    result["all_met"] = all(t["met"] for t in targets.values())
    result["saved_to"] = str(common.save("platform", result, out))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", action="store_true")
    parser.add_argument("--sizes", default="{}")
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(_phase(json.loads(args.sizes)), ensure_ascii=False))
