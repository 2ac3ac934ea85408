"""Our own SM2 curve arithmetic (lantai.standards.sm2) against an independent implementation,
gmssl's: the same public points, the same signatures for the same nonces, and each one verifying
the other's signatures over a few hundred random keys and messages; then the edge cases of the
complete addition and hostile signatures, which must be False and never an exception."""

from __future__ import annotations

import random

import pytest
from gmssl import sm2 as gm

from lantai.standards import sm2

RANDOM = random.Random(32918)  # reproducible keys, nonces and messages
ROUNDS = 200


def _scalar() -> int:
    return RANDOM.randrange(1, sm2.N - 1)


def _gmssl(d: int | None, point: bytes) -> gm.CryptSM2:
    key = gm.CryptSM2(private_key=f"{d:064x}" if d else None, public_key="00")
    key.public_key = point[1:].hex()  # set directly: the constructor's lstrip("04") is lossy
    return key


def _affine(p: tuple[int, int, int]) -> tuple[int, int] | None:
    x, y, z = p
    if z == 0:
        return None
    zi = pow(z, -1, sm2.P)
    return x * zi * zi % sm2.P, y * zi**3 % sm2.P


def _xy(point: bytes) -> tuple[int, int]:
    return int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")


def test_the_curve_constants_are_gmssls() -> None:
    table = gm.default_ecc_table
    assert tuple(int(table[k], 16) for k in "pabn") == (sm2.P, sm2.A, sm2.B, sm2.N)
    assert f"{sm2.GX:064x}{sm2.GY:064x}" == table["g"].lower()
    assert sm2.on_curve(b"\x04" + sm2.GX.to_bytes(32, "big") + sm2.GY.to_bytes(32, "big"))


def test_public_points_are_gmssls_and_on_the_curve() -> None:
    for d in [1, 2, 3, 255, 256, 2**128, sm2.N - 2] + [_scalar() for _ in range(ROUNDS)]:
        point = sm2.public_point(d)
        assert point.hex()[2:] == gm.CryptSM2(None, "00")._kg(d, gm.default_ecc_table["g"])
        assert sm2.on_curve(point)


@pytest.mark.parametrize("d", [0, sm2.N - 1, sm2.N, -1])
def test_a_private_scalar_out_of_range_is_refused(d: int) -> None:
    with pytest.raises(ValueError):
        sm2.public_point(d)


def test_signatures_are_gmssls_for_the_same_nonce_and_verify_both_ways() -> None:
    for i in range(ROUNDS):
        d, k = _scalar(), _scalar()
        point = sm2.public_point(d)
        message = RANDOM.randbytes(RANDOM.randrange(0, 300))
        digest = sm2.digest_e(point, message)
        theirs = _gmssl(d, point)
        ours = sm2.sign_e(d, int.from_bytes(digest, "big"), k)
        assert ours is not None  # r = 0 or r + k = n has probability ~2^-255
        r, s = ours
        assert theirs.sign(digest, f"{k:064x}") == f"{r:064x}{s:064x}"
        assert sm2.verify_rs(point, r, s, message)  # (once: a key met again gets its table)
        if i % 5:
            continue  # gmssl is slow: its own checks, and the rest, on every fifth
        assert not sm2.verify_e(point, int.from_bytes(digest, "big") ^ 1, r, s)
        assert not sm2.verify_rs(sm2.public_point(_scalar()), r, s, message)
        # gmssl accepts ours, with its own Z and SM3 over the message (its user id is GB/T 35276's)
        assert theirs.verify_with_sm3(f"{r:064x}{s:064x}", message)
        # and ours accepts a signature gmssl made with its own arithmetic and another nonce
        rs = theirs.sign_with_sm3(message, f"{_scalar():064x}")
        assert sm2.verify_rs(point, int(rs[:64], 16), int(rs[64:], 16), message)


def test_a_nonce_giving_r_zero_or_r_plus_k_n_is_refused() -> None:
    d, k = _scalar(), _scalar()
    x1 = _xy(sm2.public_point(k))[0]  # x of k·G
    assert sm2.sign_e(d, (sm2.N - x1) % sm2.N, k) is None  # r = 0
    assert sm2.sign_e(d, (-k - x1) % sm2.N, k) is None  # r = n - k
    assert sm2.sign_e(d, (1 - x1) % sm2.N, k) is not None


def test_the_addition_handles_infinity_doubling_and_opposite_points() -> None:
    g = (sm2.GX, sm2.GY)
    lam = RANDOM.randrange(2, sm2.P)  # (λ²x, λ³y, λ) is G too, in other coordinates
    g_scaled = (sm2.GX * lam**2 % sm2.P, sm2.GY * lam**3 % sm2.P, lam)
    two_g = _xy(sm2.public_point(2))
    assert _affine(sm2._add_affine(g_scaled, *g)) == two_g  # G + G: the doubling
    assert _affine(sm2._add_affine(g_scaled, g[0], sm2.P - g[1])) is None  # G + (-G)
    assert _affine(sm2._add_affine(sm2._INFINITY, *g)) == g
    assert _affine(sm2._double(sm2._INFINITY)) is None
    table = sm2._g_table()
    # the same cases reached inside the hot loop of _add_multiple
    assert _affine(sm2._add_multiple(g_scaled, table, 1, sm2._G_WIDTH)) == two_g
    assert _affine(sm2._add_multiple(g_scaled, table, sm2.N - 1, sm2._G_WIDTH)) is None
    assert _affine(sm2._add_multiple(sm2._INFINITY, table, sm2.N, sm2._G_WIDTH)) is None
    assert _affine(sm2._add_multiple(sm2._INFINITY, table, 0, sm2._G_WIDTH)) is None
    minus_g = _affine(sm2._add_multiple(sm2._INFINITY, table, sm2.N - 1, sm2._G_WIDTH))
    assert minus_g == (sm2.GX, sm2.P - sm2.GY)


def test_scalar_multiples_agree_between_the_tables_and_double_and_add() -> None:
    # G's 5-bit table, as if G were a member key
    key_table = sm2._comb((sm2.GX, sm2.GY), sm2._KEY_WIDTH, -(-257 // sm2._KEY_WIDTH))
    edges = [0, 1, 15, 16, 17, 31, 32, 33, 2**255, sm2.N - 1, sm2.N, 2**256 - 1]
    for k in edges + [_scalar() for _ in range(50)]:
        a = sm2._add_multiple(sm2._INFINITY, sm2._g_table(), k, sm2._G_WIDTH)
        b = sm2._add_multiple(sm2._INFINITY, key_table, k, sm2._KEY_WIDTH)
        c = sm2._double_and_add((sm2.GX, sm2.GY), k)
        assert _affine(a) == _affine(b) == _affine(c)
        if 1 <= k % sm2.N <= sm2.N - 2:
            assert _affine(a) == _xy(sm2.public_point(k % sm2.N))


def _signed(d: int = 0) -> tuple[bytes, int, int, int, bytes]:
    d = d or _scalar()
    point = sm2.public_point(d)
    message = RANDOM.randbytes(40)
    e = int.from_bytes(sm2.digest_e(point, message), "big")
    rs = sm2.sign_e(d, e, _scalar())
    assert rs is not None
    return point, e, rs[0], rs[1], message


def test_hostile_r_and_s_are_false() -> None:
    point, e, r, s, message = _signed()
    assert sm2.verify_e(point, e, r, s)
    for bad_r, bad_s in [
        (0, s), (r, 0), (sm2.N, s), (r, sm2.N), (r + sm2.N, s), (r, s + sm2.N),
        (-r, s), (r, -s), (sm2.N - s, s),  # the last: t = r + s = n
        (2**512, s), (r, 2**512),
    ]:  # fmt: skip
        assert not sm2.verify_e(point, e, bad_r, bad_s)
        assert not sm2.verify_rs(point, bad_r, bad_s, message)


def test_t_zero_is_false_even_where_s_g_alone_would_match() -> None:
    # with r + s = n, s·G + t·P is s·G whatever the key: for an e made to fit, only the rule
    # t ≠ 0 (GB/T 32918.2 §7.1 B5) refuses it
    point = sm2.public_point(_scalar())
    s = _scalar()
    r = sm2.N - s
    e = (r - _xy(sm2.public_point(s))[0]) % sm2.N
    assert not sm2.verify_e(point, e, r, s)


def test_a_sum_at_infinity_is_false() -> None:
    # s·G + t·P = O for P = d·G when s + (r + s)·d ≡ 0, i.e. s = -r·d / (1 + d)
    d = _scalar()
    point = sm2.public_point(d)
    r = _scalar()
    s = -r * d * pow(1 + d, -1, sm2.N) % sm2.N
    assert s and (r + s) % sm2.N
    for e in (0, r, _scalar()):  # the first without the key's table, then with it
        assert not sm2.verify_e(point, e, r, s)


def test_a_key_off_the_curve_is_false_and_a_malformed_one_an_error() -> None:
    point, e, r, s, message = _signed()
    x, y = _xy(point)
    off = b"\x04" + x.to_bytes(32, "big") + ((y + 1) % sm2.P).to_bytes(32, "big")
    # (0, y0) is on the curve; (p, y0) names the same point with x ≥ p, which is not allowed
    y0 = pow(sm2.B, (sm2.P + 1) // 4, sm2.P)  # √b, as p ≡ 3 (mod 4)
    assert sm2.on_curve(b"\x04" + bytes(32) + y0.to_bytes(32, "big"))
    too_big = b"\x04" + sm2.P.to_bytes(32, "big") + y0.to_bytes(32, "big")
    zero = b"\x04" + bytes(64)
    for bad in (off, too_big, zero):
        assert not sm2.on_curve(bad)
        assert not sm2.verify_e(bad, e, r, s)
        assert not sm2.verify_rs(bad, r, s, message)
    for malformed in (b"", point[1:], b"\x02" + point[1:33], b"\x03" + point[1:], point + b"\x00"):
        assert not sm2.on_curve(malformed)
        assert not sm2.verify_e(malformed, e, r, s)
        with pytest.raises(ValueError):  # verify_rs's contract: a malformed key is the caller's
            sm2.verify_rs(malformed, r, s, message)


def test_the_negated_key_does_not_verify() -> None:
    point, e, r, s, _message = _signed()
    x, y = _xy(point)
    negated = b"\x04" + x.to_bytes(32, "big") + (sm2.P - y).to_bytes(32, "big")
    assert sm2.on_curve(negated) and not sm2.verify_e(negated, e, r, s)


def test_a_key_gets_its_table_when_met_again() -> None:
    signed = [_signed() for _ in range(6)]
    keys = [_xy(point) for point, *_rest in signed]
    for round in range(3):  # first without a table, then each key's table is built, then reused
        for point, e, r, s, _message in signed:
            assert sm2.verify_e(point, e, r, s)
        assert [key in sm2._tables for key in keys] == [round > 0] * len(keys)
        assert [key in sm2._met_once for key in keys] == [round == 0] * len(keys)
    for point, e, r, s, _message in signed:
        assert not sm2.verify_e(point, e ^ 1, r, s)


def test_shared_x_is_gmssls_d_times_p_and_agrees_both_ways() -> None:
    for _ in range(10):
        a, b = _scalar(), _scalar()
        pa, pb = sm2.public_point(a), sm2.public_point(b)
        ours = sm2.shared_x(a, pb)
        assert ours == sm2.shared_x(b, pa)  # both sides derive the same secret
        assert ours.hex() == gm.CryptSM2(None, "00")._kg(a, pb[1:].hex())[:64]
        assert sm2.shared_x(a, pb) == ours  # again, now with pb's table
    x, y = _xy(sm2.public_point(_scalar()))
    for bad in (b"\x04" + x.to_bytes(32, "big") + (y ^ 1).to_bytes(32, "big"), b"\x04" + bytes(64)):
        with pytest.raises(ValueError):
            sm2.shared_x(_scalar(), bad)  # an invalid-curve point is refused
    with pytest.raises(ValueError):
        sm2.shared_x(0, sm2.public_point(2))
