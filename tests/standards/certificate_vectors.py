"""Certificate payloads with their trust and status lists: the valid cases and every forgery,
shared by the Python verifier's tests and the browser verifier's (which must agree on each)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, replace
from typing import Any

from lantai.core.signing import SigningKey
from lantai.standards import certificate_payload as cp
from lantai.standards.certificate_lists import (
    STATUS_LIST,
    TRUST_LIST,
    format_time,
    key_id_of,
    make_bitstring,
    seal,
)

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 6, 10, 0, 0, tzinfo=UTC)
CONTENT = {"number": "J450000-2026-000123", "parties": ["张*明", "李*"], "records": 1}
CONTENT_BYTES = cp.canonical_content(CONTENT)
REPO_A, REPO_B = "450000-01", "450100-01"
ARCHIVES_A, ARCHIVES_B = "广西壮族自治区档案馆", "南宁市档案馆"

# the worked example of the format document (§7)
EXAMPLE_KEY = "040cefabfe2dba4d6814e287df2154bf15d86d7f972edbabbb9c6cac13c9e09f3ce5c0a0e001b950a381959ebbd66e8ed490df69ef8c0e2edd7a9b6516d1285a13"
EXAMPLE_CONTENT = {
    "holding_archives": "广西壮族自治区档案馆",
    "number": "J450000-2026-000123",
    "parties": ["张*明", "李*"],
    "records": [{"date": "2010-05-20", "kind": "J"}],
}
EXAMPLE_TEXT = (
    "LTC1:V50XJ20R66466465W58469%6646746QF6LJ9 9BQ+5UCQ88UJSNNYNWZI*5QOY2-LR8.3KS1PXDI:NVI2V1ARWD"
    "%YQ:SS000$U0/T2I2046VA8G-:03%N2J5*CJ*R0E-J/D5M304YFU7C2Z38%O-Q36TI.TD53K12O2I5ESHE2320SV7IW-"
    "HDHCPOPE.4811:-6MC3$C6Y%36U8AFRQHGZ%1PWC-Q3UEQ6/B:ZHG0"
)


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    trust_list: dict[str, Any]
    status_lists: list[dict[str, Any]]
    roots: list[str]
    now: dt.datetime
    content_bytes: bytes | None
    reason: str | None  # None: any invalid reason (the text is damaged in an arbitrary place)


def t(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


@functools.cache
def keys() -> dict[str, SigningKey]:
    names = ["root", "other_root", "a", "a_old", "a_older", "a_withdrawn", "a_comp", "b", "x"]
    return {name: SigningKey.generate() for name in names}


def issuer(
    key: str,
    repo: str = REPO_A,
    archives: str = ARCHIVES_A,
    not_before: str = "2026-01-01",
    not_after: str = "2026-12-31",
    valid_until: str = "2036-12-31T23:59:59Z",
    withdrawn_at: str | None = None,
    compromised_since: str | None = None,
) -> dict[str, Any]:
    public = keys()[key].public_key_hex
    return {
        "key_id": key_id_of(public),
        "public_key": public,
        "repository_code": repo,
        "archives": archives,
        "not_before": not_before,
        "not_after": not_after,
        "valid_until": valid_until,
        "withdrawn_at": withdrawn_at,
        "compromised_since": compromised_since,
    }


def trust_body(next_update: str = "2027-01-01T00:00:00Z") -> dict[str, Any]:
    return {
        "province": "450000",
        "issued": "2026-12-01T00:00:00Z",
        "next_update": next_update,
        "sequence": 12,
        "issuers": [
            issuer("a"),
            issuer("a_old", not_before="2025-01-01", not_after="2025-12-31"),
            issuer(
                "a_older",
                not_before="2024-01-01",
                not_after="2024-12-31",
                valid_until="2026-01-01T00:00:00Z",
            ),
            issuer("a_withdrawn", withdrawn_at="2026-06-01T00:00:00Z"),
            issuer("a_comp", compromised_since="2026-06-01T00:00:00Z"),
            issuer("b", repo=REPO_B, archives=ARCHIVES_B),
        ],
    }


def status_body(
    repo: str = REPO_A,
    revoked: tuple[int, ...] = (7,),
    issued: dt.datetime = NOW - dt.timedelta(hours=2),
    next_update: dt.datetime = NOW + dt.timedelta(hours=22),
    size: int = 1024,
) -> dict[str, Any]:
    return {
        "repository_code": repo,
        "issued": format_time(issued),
        "next_update": format_time(next_update),
        "size": size,
        "bits": make_bitstring(size, revoked),
    }


def payload(key: str = "a", **changes: Any) -> cp.Payload:
    base = cp.Payload(
        number="J450000-2026-000123",
        issuer_key_id=keys()[key].fingerprint[:16],
        content_digest=cp.content_digest(CONTENT_BYTES),
        status_index=5,
        kind="record",
        names=("张*明", "李*"),
        events=(cp.Event("J", dt.date(2010, 5, 20)),),
        issued=t("2026-12-06T08:00:00Z"),
        expires=t("2027-12-06T08:00:00Z"),
    )
    return replace(base, **changes)


def largest_payload() -> cp.Payload:
    """The largest realistic payload: the longest numbers, two 4-character masked names and
    four events (结婚, 离婚, 补发离婚证, 结婚 again)."""
    return payload(
        number="BJ450000-2026-000123-ABCDEFGHIJK",  # 32 characters
        status_index=1000,  # three bytes whatever its value
        names=("欧阳*华", "司马*青"),
        events=(
            cp.Event("J", dt.date(1988, 10, 1)),
            cp.Event("L", dt.date(1999, 3, 15)),
            cp.Event("BL", dt.date(2005, 7, 7)),
            cp.Event("J", dt.date(2012, 12, 12)),
        ),
    )


def text_of(p: cp.Payload, signer: str | None = None) -> str:
    """The QR text of ``p`` signed by key ``signer`` (by default the key its id names)."""
    by_id = {k.fingerprint[:16]: k for k in keys().values()}
    key = keys()[signer] if signer else by_id[p.issuer_key_id]
    return cp.encode(p, key.sign)


def _altered_byte(text: str) -> str:
    raw = bytearray(cp.b45decode(text[len(cp.PREFIX) :]))
    raw[60] ^= 0x01  # inside the content digest: still well formed, no longer what was signed
    return cp.PREFIX + cp.b45encode(bytes(raw))


def _altered_char(text: str) -> str:
    i = len(cp.PREFIX) + 40
    return text[:i] + ("1" if text[i] != "1" else "2") + text[i + 1 :]


@functools.cache
def cases() -> tuple[Case, ...]:
    k = keys()
    roots = [k["root"].public_key_hex]
    trust = seal(TRUST_LIST, trust_body(), k["root"])
    status_a = seal(STATUS_LIST, status_body(), k["a"])
    status_b = seal(STATUS_LIST, status_body(repo=REPO_B, revoked=()), k["b"])
    lists = [status_b, status_a]
    good = text_of(payload())
    old = text_of(
        payload("a_old", issued=t("2025-06-01T00:00:00Z"), expires=t("2027-06-01T00:00:00Z"))
    )
    none_found = text_of(payload(kind="none_found", events=(), names=("王*",)))

    def case(
        name: str,
        text: str,
        reason: str | None,
        trust_list: dict[str, Any] = trust,
        status_lists: list[dict[str, Any]] = lists,
        now: dt.datetime = NOW,
        content_bytes: bytes | None = None,
    ) -> Case:
        return Case(name, text, trust_list, status_lists, roots, now, content_bytes, reason)

    stale = seal(
        STATUS_LIST,
        status_body(issued=NOW - dt.timedelta(days=3), next_update=NOW - dt.timedelta(days=2)),
        k["a"],
    )
    older_clean = seal(
        STATUS_LIST,
        status_body(
            revoked=(),
            issued=NOW - dt.timedelta(hours=30),
            next_update=NOW - dt.timedelta(hours=6),
        ),
        k["a"],
    )
    newer_revoking = seal(STATUS_LIST, status_body(revoked=(5,)), k["a"])
    return (
        case("valid", good, "valid"),
        case("valid_with_content", good, "valid", content_bytes=CONTENT_BYTES),
        case("valid_under_last_years_key", old, "valid"),
        case("valid_none_found", none_found, "valid"),
        case("valid_largest", text_of(largest_payload()), "valid"),
        case("altered_payload_byte", _altered_byte(good), "bad_signature"),
        case("altered_text", _altered_char(good), None),
        case("truncated_text", good[:-3], "malformed"),
        case("truncated_half", good[: len(good) // 2], "malformed"),
        case("lower_case_text", good.lower(), "malformed"),
        case("trailing_space", good + " ", "malformed"),
        case("trailing_newline", good + "\n", "malformed"),
        case("re_encoded_as_url", "https://example.org/v?p=" + good, "malformed"),
        case("empty_text", "", "malformed"),
        case("signed_by_key_not_on_list", text_of(payload("x")), "unknown_issuer"),
        case(
            "forged_key_id",
            text_of(payload("a"), signer="x"),
            "bad_signature",
        ),
        case(
            "issued_before_key_validity",
            text_of(payload(issued=t("2025-12-31T23:00:00Z"))),
            "key_not_valid_then",
        ),
        case(
            "issued_after_key_validity",
            text_of(payload("a_old")),
            "key_not_valid_then",
        ),
        case(
            "withdrawn_key",
            text_of(payload("a_withdrawn", issued=t("2026-03-01T00:00:00Z"))),
            "key_withdrawn",
        ),
        case(
            "compromised_key_after_date",
            text_of(payload("a_comp", issued=t("2026-06-01T00:00:00Z"))),
            "key_compromised",
        ),
        case(
            "compromised_key_before_date",
            text_of(payload("a_comp", issued=t("2026-05-31T23:59:59Z"))),
            "valid",
        ),
        case(
            "key_past_valid_until",
            text_of(
                payload(
                    "a_older", issued=t("2024-06-01T00:00:00Z"), expires=t("2027-01-01T00:00:00Z")
                )
            ),
            "key_expired",
        ),
        case(
            "issued_in_the_future",
            text_of(payload(issued=NOW + dt.timedelta(hours=1))),
            "not_yet_valid",
        ),
        case(
            "expired_certificate",
            text_of(payload(issued=t("2026-01-05T00:00:00Z"), expires=t("2026-02-05T00:00:00Z"))),
            "expired",
        ),
        case("digest_mismatch", good, "digest_mismatch", content_bytes=CONTENT_BYTES + b" "),
        case(
            "payload_copied_onto_another_certificate",
            good,
            "digest_mismatch",
            content_bytes=cp.canonical_content({**CONTENT, "number": "J450000-2026-000124"}),
        ),
        case("revoked", text_of(payload(status_index=7)), "revoked"),
        case(
            "index_outside_status_list", text_of(payload(status_index=5000)), "status_out_of_range"
        ),
        case("no_status_list", good, "no_status_list", status_lists=[status_b]),
        case(
            "status_list_signed_by_another_repositorys_key",
            good,
            "untrusted_status_list",
            status_lists=[seal(STATUS_LIST, status_body(), k["b"])],
        ),
        case(
            "status_list_signed_by_compromised_key",
            good,
            "untrusted_status_list",
            status_lists=[seal(STATUS_LIST, status_body(), k["a_comp"])],
        ),
        case(
            "status_list_with_forged_signature",
            good,
            "untrusted_status_list",
            status_lists=[{**status_a, "signature": status_b["signature"]}],
        ),
        case("stale_status_list", good, "stale_status_list", status_lists=[stale]),
        case(
            "status_list_from_the_future_hides_nothing",  # a wrong clock must not win "newest"
            text_of(payload(status_index=7)),
            "revoked",
            status_lists=[
                seal(STATUS_LIST, status_body(revoked=(7,)), k["a"]),
                seal(
                    STATUS_LIST,
                    status_body(
                        revoked=(),
                        issued=NOW + dt.timedelta(days=300),
                        next_update=NOW + dt.timedelta(days=301),
                    ),
                    k["a"],
                ),
            ],
        ),
        case(
            "status_list_promising_no_update_for_years",
            good,
            "untrusted_status_list",
            status_lists=[
                seal(STATUS_LIST, status_body(next_update=NOW + dt.timedelta(days=3650)), k["a"]),
            ],
        ),
        case(
            "newest_status_list_wins",
            good,
            "revoked",
            status_lists=[older_clean, newer_revoking],
        ),
        case(
            "garbage_status_lists_ignored",
            good,
            "valid",
            status_lists=[{}, {"format": "x"}, status_a],
        ),
        case(
            "trust_list_signed_by_non_root",
            good,
            "untrusted_list",
            trust_list=seal(TRUST_LIST, trust_body(), k["other_root"]),
        ),
        case(
            "trust_list_with_signer_swapped",
            good,
            "untrusted_list",
            trust_list={**seal(TRUST_LIST, trust_body(), k["other_root"]), "signer": roots[0]},
        ),
        case("trust_list_empty_object", good, "untrusted_list", trust_list={}),
        case(
            "stale_trust_list",
            good,
            "stale_trust_list",
            trust_list=seal(TRUST_LIST, trust_body(next_update="2026-12-04T00:00:00Z"), k["root"]),
        ),
    )


# --- hand-built payload bytes, independent of the encoder ------------------------------------

FAKE_SIGNATURE = bytes(range(1, 65))


def layout(
    version: int = 1,
    flags: int = 0,
    number: bytes = b"J450000-2026-000123",
    key_id: bytes = bytes.fromhex("0123456789abcdef"),
    digest: bytes = bytes(range(32)),
    status_index: int = 5,
    issued: int = 1796544000,  # 2026-12-06T08:00:00Z
    expires: int = 1828080000,  # 2027-12-06T08:00:00Z
    names: tuple[bytes, ...] = ("张*明".encode(), "李*".encode()),
    events: tuple[tuple[int, int], ...] = ((0, 40316),),  # 结婚 2010-05-20
    signature: bytes = FAKE_SIGNATURE,
) -> bytes:
    """The payload bytes as the format document lays them out, field by field."""
    out = bytes([version, flags, len(number)]) + number + key_id + digest
    out += status_index.to_bytes(3, "big") + issued.to_bytes(4, "big") + expires.to_bytes(4, "big")
    out += bytes([len(names)]) + b"".join(bytes([len(n)]) + n for n in names)
    out += bytes([len(events)]) + b"".join((k << 21 | d).to_bytes(3, "big") for k, d in events)
    return out + signature


def as_text(raw: bytes) -> str:
    return cp.PREFIX + cp.b45encode(raw)


def malformed_texts() -> list[tuple[str, str, str]]:
    """(what, text, PayloadError code) for texts that break one rule each."""
    good = layout()
    text = as_text(good)
    return [
        ("lower-case prefix", "ltc1:" + text[5:], "prefix"),
        ("other version in the prefix", "LTC2:" + text[5:], "prefix"),
        ("leading space", " " + text, "prefix"),
        ("empty", "", "prefix"),
        ("lower-case Base45", text[:5] + text[5:].lower(), "base45"),
        ("newline at the end", text + "\n", "base45"),
        ("one space at the end", text + " ", "base45"),
        ("Base45 group over 65535", cp.PREFIX + "GGW", "base45"),
        ("Base45 pair over 255", cp.PREFIX + "GGW"[:2] + "Z6", "base45"),
        ("length 1 mod 3", text + "0" * ((6 - len(text)) % 3), "base45"),
        ("character outside the alphabet", text[:20] + "#" + text[21:], "base45"),
        ("signature cut short", as_text(good[:-1]), "truncated"),
        ("cut inside the names", as_text(good[:80]), "truncated"),
        ("only the version", as_text(b"\x01"), "truncated"),
        ("two bytes after the signature", as_text(good + b"\x00\x00"), "trailing"),
        ("version byte 2", as_text(layout(version=2)), "version"),
        ("version byte 0", as_text(layout(version=0)), "version"),
        ("reserved flag bit", as_text(layout(flags=2)), "field"),
        ("none_found with an event", as_text(layout(flags=1)), "field"),
        ("name not UTF-8", as_text(layout(names=(b"\xe5\xbc",))), "field"),
        ("name in CESU-8 surrogates", as_text(layout(names=(b"\xed\xa0\x80",))), "field"),
        ("overlong UTF-8 name", as_text(layout(names=(b"\xc0\xaf",))), "field"),
        ("empty name", as_text(layout(names=(b"",))), "field"),
        ("name of 17 characters", as_text(layout(names=(("张" * 17).encode(),))), "field"),
        ("name with a control character", as_text(layout(names=(b"\x07",))), "field"),
        ("five names", as_text(layout(names=(b"a",) * 5)), "field"),
        ("nine events", as_text(layout(events=((0, 40316),) * 9)), "field"),
        ("event kind code 5", as_text(layout(events=((5, 40316),))), "field"),
        ("event kind code 7", as_text(layout(events=((7, 40316),))), "field"),
        ("expires equal to issued", as_text(layout(expires=1796544000)), "field"),
        ("expires before issued", as_text(layout(expires=0)), "field"),
        ("empty number", as_text(layout(number=b"")), "field"),
        ("number with a space", as_text(layout(number=b"J 450000")), "field"),
        ("number with a non-ASCII byte", as_text(layout(number="证450000".encode())), "field"),
        ("number of 33 characters", as_text(layout(number=b"J" * 33)), "field"),
    ]
