"""SM2-with-SM3 signing and verification on one core: ``lantai.core.signing`` (our own curve
arithmetic, lantai.standards.sm2) beside the peer ``gmssl`` (its hex-string arithmetic) on the
same key, messages and digests, in the same process.

Measured (each op end to end as the message log uses it: the SM3 digest e = SM3(Z ‖ M) and the
DER signature included for ours; the same e for the peer):
  signs_per_s     ``SigningKey.sign`` on 256-byte messages, a fresh ``secrets`` nonce each.
  verifies_per_s  ``signing.verify`` of distinct valid signatures by one known key (its
                  precomputed table cached, as on a node that checks its members' keys).
  g_table_ms      the one-time fixed-base table for G (first use in a process; CPU time).
  new_key_verify_ms  the first verification with a key not met before (double-and-add).
  key_table_verify_ms  the second one, which builds the key's table (the later ones use it).
Each time and rate is in this process's CPU time (time.process_time: one core, even on a
machine busy with other work; the load average is reported beside), the median over rounds
(best also given). Targets: ≥ 2,000 signs/s and ≥ 1,000 verifies/s.
"""

from __future__ import annotations

import os
import platform
import secrets
import statistics
import time
from collections.abc import Callable
from typing import Any

TARGETS = {"signs_per_s": 2000.0, "verifies_per_s": 1000.0}


def _rates(op: Callable[[int], object], count: int, rounds: int) -> list[float]:
    rates = []
    for _ in range(rounds):
        start = time.process_time()  # this process's CPU time: one core, whatever else runs
        for i in range(count):
            op(i)
        rates.append(count / (time.process_time() - start))
    return rates


def _summary(rates: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(rates), 1), "best": round(max(rates), 1)}


def run(quick: bool = False) -> dict[str, Any]:
    from gmssl import sm2 as gm

    from lantai.core import signing
    from lantai.standards import sm2

    count, rounds, peer_count = (20, 2, 2) if quick else (400, 5, 20)
    messages = [secrets.token_bytes(256) for _ in range(count)]

    start = time.process_time()
    sm2._g_table()
    g_table_ms = (time.process_time() - start) * 1000

    key = signing.SigningKey.generate()
    public = key.public_key_hex
    first = key.sign(messages[0])
    start = time.process_time()
    assert signing.verify(public, messages[0], first)  # a key met once: no table yet
    new_key_verify_ms = (time.process_time() - start) * 1000
    start = time.process_time()
    assert signing.verify(public, messages[0], first)  # met again: its table is built
    key_table_verify_ms = (time.process_time() - start) * 1000

    signatures = [key.sign(m) for m in messages]
    sign_rates = _rates(lambda i: key.sign(messages[i]), count, rounds)
    verify_rates = _rates(
        lambda i: signing.verify(public, messages[i], signatures[i]), count, rounds
    )
    assert all(signing.verify(public, m, s) for m, s in zip(messages, signatures, strict=True))

    # the peer: gmssl on the same key and digests (the digest is not part of its time)
    point = bytes.fromhex(public)
    digests = [sm2.digest_e(point, m) for m in messages[:peer_count]]
    d = key._d  # the private scalar, for the peer only
    signer = gm.CryptSM2(private_key=f"{d:064x}", public_key="00")
    verifier = gm.CryptSM2(private_key=None, public_key="00")
    verifier.public_key = public[2:]  # set directly: the constructor's lstrip("04") is lossy
    peer_sigs = [signer.sign(e, f"{secrets.randbelow(sm2.N - 1) + 1:064x}") for e in digests]
    peer_sign = _rates(
        lambda i: signer.sign(digests[i], f"{secrets.randbelow(sm2.N - 1) + 1:064x}"),
        peer_count,
        rounds,
    )
    peer_verify = _rates(lambda i: verifier.verify(peer_sigs[i], digests[i]), peer_count, rounds)
    assert all(verifier.verify(s, e) for s, e in zip(peer_sigs, digests, strict=True))

    ours = {"signs_per_s": _summary(sign_rates), "verifies_per_s": _summary(verify_rates)}
    return {
        "benchmark": "sm2",
        "quick": quick,
        "python": platform.python_version(),
        "machine": platform.processor() or platform.machine(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "ops_per_round": count,
        "rounds": rounds,
        "ours": ours,
        "g_table_ms": round(g_table_ms, 1),
        "new_key_verify_ms": round(new_key_verify_ms, 1),
        "key_table_verify_ms": round(key_table_verify_ms, 1),
        "peer_gmssl": {
            "signs_per_s": _summary(peer_sign),
            "verifies_per_s": _summary(peer_verify),
            "ops_per_round": peer_count,
        },
        "targets": TARGETS,
        "met": {name: ours[name]["median"] >= target for name, target in TARGETS.items()},
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2, ensure_ascii=False))
