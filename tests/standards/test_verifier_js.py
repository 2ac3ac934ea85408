"""The browser verifier (certificates/static/certificates/verifier.js) in headless Chromium: it
must reach the same verdict as the Python verifier on every case, valid and forged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lantai.standards.certificate_payload import Payload
from lantai.standards.certificate_verify import REASONS, verify

from .certificate_vectors import EXAMPLE_KEY, EXAMPLE_TEXT, cases, malformed_texts

pytestmark = pytest.mark.browser

VERIFIER = (
    Path(__file__).resolve().parents[2] / "src/lantai/certificates/static/certificates/verifier.js"
)
JS_ONLY = {"message_zh", "message_en", "detail"}
SIGNED_FACTS = ("kind", "names", "events")  # from Verdict.payload, not in Verdict.as_json()


def signed_facts(payload: Payload | None) -> dict[str, Any]:
    """What the JS verdict must say the payload signs: the certificate kind, names and events."""
    if payload is None:
        return dict.fromkeys(SIGNED_FACTS)
    return {
        "kind": payload.kind,
        "names": list(payload.names),
        "events": [{"kind": e.kind, "date": e.date.isoformat()} for e in payload.events],
    }


@pytest.fixture
def verifier(page: Any) -> Any:
    """A blank page with verifier.js loaded as the verification page loads it (a plain script)."""
    page.set_content("<!doctype html><html lang=zh-CN><meta charset=utf-8><title>验证</title>")
    page.add_script_tag(path=str(VERIFIER))
    return page


def _js_verify(page: Any, batch: list[list[Any]]) -> list[dict[str, Any]]:
    return page.evaluate(  # type: ignore[no-any-return]
        """async (batch) => {
            const out = [];
            for (const [text, trust, lists, roots, now, content] of batch) {
                out.push(await LantaiVerifier.verify(
                    text, trust, lists, roots, now, content === null ? null : new Uint8Array(content)));
            }
            return out;
        }""",
        batch,
    )


def test_same_verdict_as_python_for_every_case(verifier: Any) -> None:
    batch = [
        [
            c.text,
            c.trust_list,
            c.status_lists,
            c.roots,
            int(c.now.timestamp() * 1000),
            list(c.content_bytes) if c.content_bytes is not None else None,
        ]
        for c in cases()
    ]
    answers = _js_verify(verifier, batch)
    mismatches = []
    for case, js in zip(cases(), answers, strict=True):
        python = verify(
            case.text,
            trust_list=case.trust_list,
            status_lists=case.status_lists,
            roots=case.roots,
            now=case.now,
            content_bytes=case.content_bytes,
        )
        assert js["reason"] != "error", (case.name, js["detail"])
        assert (js["message_zh"], js["message_en"]) == REASONS[js["reason"]]
        expected = {**python.as_json(), **signed_facts(python.payload)}
        if {k: v for k, v in js.items() if k not in JS_ONLY} != expected:
            mismatches.append((case.name, expected, js))
    assert not mismatches
    assert {js["reason"] for js in answers} >= {"valid", "revoked", "bad_signature", "malformed"}
    # the signed facts are given for invalid verdicts too, whenever the payload decoded
    decoded_invalid = [js for js in answers if not js["valid"] and js["reason"] != "malformed"]
    assert decoded_invalid and all(js["kind"] in ("record", "none_found") for js in decoded_invalid)
    assert any(js["events"] for js in answers) and any(js["names"] for js in answers)


def test_same_rule_as_python_for_each_malformed_text(verifier: Any) -> None:
    samples = malformed_texts()
    codes = verifier.evaluate(
        """(texts) => texts.map((t) => {
            try { LantaiVerifier.decodePayload(t); return "decoded"; }
            catch (e) { return e.code || String(e); }
        })""",
        [text for _, text, _ in samples],
    )
    assert {what: code for (what, _, code) in samples} == dict(
        zip([what for what, _, _ in samples], codes, strict=True)
    )


def test_sm3_vectors_of_gbt_32905(verifier: Any) -> None:
    digests = verifier.evaluate(
        """() => [new TextEncoder().encode("abc"), new TextEncoder().encode("abcd".repeat(16)),
                  new Uint8Array(0), new Uint8Array(1000).fill(97)].map(LantaiVerifier.sm3)"""
    )
    from lantai.standards.certificate_payload import content_digest

    assert digests[:2] == [
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
    ]
    assert digests[2:] == [content_digest(b"").hex(), content_digest(b"a" * 1000).hex()]


def test_base45_examples_of_rfc_9285(verifier: Any) -> None:
    decoded = verifier.evaluate(
        """() => ["BB8", "%69 VD92EX0", "UJCLQE7W581", "QED8WEX0"].map(
              (t) => new TextDecoder().decode(LantaiVerifier.b45decode(t)))"""
    )
    assert decoded == ["AB", "Hello!!", "base-45", "ietf!"]


def test_worked_example_of_the_format_document(verifier: Any) -> None:
    result = verifier.evaluate(
        """([text, key]) => {
            const d = LantaiVerifier.decodePayload(text);
            const p = d.payload;
            return [p.number, p.issuer_key_id, p.status_index, p.kind, p.names, p.events,
                    new Date(p.issued).toISOString(), LantaiVerifier.sm2Verify(key, d.r, d.s, d.signedBytes),
                    LantaiVerifier.sm2Verify(key, d.r, d.s, d.signedBytes.subarray(1))];
        }""",
        [EXAMPLE_TEXT, EXAMPLE_KEY],
    )
    assert result == [
        "J450000-2026-000123",
        "4a9d58bc2eafcfe4",
        5,
        "record",
        ["张*明", "李*"],
        [{"kind": "J", "date": "2010-05-20"}],
        "2026-12-06T08:00:00.000Z",
        True,
        False,
    ]


def test_same_messages_as_python(verifier: Any) -> None:
    reasons = verifier.evaluate("() => LantaiVerifier.REASONS")
    assert {k: tuple(v) for k, v in reasons.items() if k != "error"} == REASONS


def test_hostile_arguments_give_a_verdict(verifier: Any) -> None:
    good = next(c for c in cases() if c.name == "valid")
    answers = verifier.evaluate(
        """async ([text, roots, now]) => [
            await LantaiVerifier.verify(null, null, null, null, now),
            await LantaiVerifier.verify(text, "x", [1, null, "y"], roots, now),
            await LantaiVerifier.verify(text, {format: 1, signed: {}, signer: [], signature: 2}, [], roots, now),
        ].map((v) => [v.valid, v.reason])""",
        [good.text, good.roots, int(good.now.timestamp() * 1000)],
    )
    assert answers == [
        [False, "malformed"],
        [False, "untrusted_list"],
        [False, "untrusted_list"],
    ]
