"""SM2 with SM3 (GB/T 32918.2): the message digest e = SM3(Z ‖ M), with Z over the signer's user
id (GB/T 35276's default, data/signature-algorithms.yaml), the curve and the public key; the
signature of a digest and the check of a signature (r, s) over it.

The curve arithmetic is our own, in pure Python, over the recommended curve of GB/T 32918.5:
Jacobian coordinates (X, Y, Z) for x = X/Z², y = Y/Z³, with the a = -3 doubling, and additions of
an affine point to a Jacobian one. Scalar multiples are sums of precomputed affine points (a
fixed-window "comb" in signed digits): the table for G is built once, lazily (9-bit windows: k·G
is ≤ 29 additions and no doubling); a verifier keeps a smaller table (5-bit windows, ≤ 52
additions) for each of the last few hundred public keys it met more than once, since a node
checks the same member keys over and over; a key met once is multiplied by double-and-add.

Signing is not constant-time (Python integers are not); the nonce is the caller's, from a CSPRNG.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict

from cryptography.hazmat.primitives import hashes

from ._data import load_data

__all__ = [
    "N",
    "digest_e",
    "on_curve",
    "public_point",
    "sign_e",
    "user_id",
    "verify_e",
    "verify_rs",
]

# GB/T 32918.5-2017 recommended curve y² = x³ + ax + b over F_p, a = p - 3
P = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF", 16)
A = P - 3
B = int("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93", 16)
N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)  # the group order
GX = int("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7", 16)
GY = int("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0", 16)

Affine = tuple[int, int]
Jacobian = tuple[int, int, int]  # Z = 0 is the point at infinity
_INFINITY: Jacobian = (1, 1, 0)


def _sm3(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize()


def user_id() -> bytes:
    return str(load_data("signature-algorithms.yaml")["sm2_default_user_id"]).encode("ascii")


@functools.lru_cache(maxsize=256)
def _z(point: bytes) -> bytes:
    uid = user_id()
    curve = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))
    return _sm3((len(uid) * 8).to_bytes(2, "big") + uid + curve + point[1:])


def digest_e(point: bytes, message: bytes) -> bytes:
    """SM3(Z ‖ M) for the uncompressed public key `point` (04 ‖ x ‖ y)."""
    return _sm3(_z(bytes(point)) + message)


# --- the curve arithmetic -----------------------------------------------------------------------


def _double(p1: Jacobian) -> Jacobian:
    """2·P1 with a = -3 (Bernstein–Lange dbl-2001-b)."""
    x1, y1, z1 = p1
    if z1 == 0 or y1 == 0:
        return _INFINITY
    delta = z1 * z1 % P
    gamma = y1 * y1 % P
    beta = x1 * gamma % P
    alpha = 3 * (x1 - delta) * (x1 + delta) % P  # 3X² + aZ⁴ with a = -3
    x3 = (alpha * alpha - 8 * beta) % P
    z3 = ((y1 + z1) ** 2 - gamma - delta) % P
    y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % P
    return x3, y3, z3


def _add_affine(p1: Jacobian, x2: int, y2: int) -> Jacobian:
    """P1 + (x2, y2), the second point affine (madd, 8M + 3S). Complete: the cases P1 = O,
    P1 = P2 and P1 = -P2 are handled, as an attacker-chosen key or signature can reach them."""
    x1, y1, z1 = p1
    if z1 == 0:
        return x2, y2, 1
    zz = z1 * z1 % P
    h = (x2 * zz - x1) % P
    r = (y2 * zz * z1 - y1) % P
    if h == 0:
        return _double(p1) if r == 0 else _INFINITY
    hh = h * h % P
    hhh = h * hh % P
    v = x1 * hh % P
    x3 = (r * r - hhh - 2 * v) % P
    y3 = (r * (v - x3) - y1 * hhh) % P
    return x3, y3, z1 * h % P


def _to_affine(points: list[Jacobian]) -> list[Affine]:
    """All of `points` (none at infinity) in affine form with one inversion (Montgomery's trick)."""
    prefix = [1]
    for _x, _y, z in points:
        prefix.append(prefix[-1] * z % P)
    inv = pow(prefix[-1], -1, P)
    out: list[Affine] = [(0, 0)] * len(points)
    for i in range(len(points) - 1, -1, -1):
        x, y, z = points[i]
        zi = inv * prefix[i] % P  # 1/z
        inv = inv * z % P
        zi2 = zi * zi % P
        out[i] = (x * zi2 % P, y * zi2 * zi % P)
    return out


Table = tuple[tuple[Affine, ...], ...]


def _comb(base: Affine, width: int, windows: int) -> Table:
    """table[i][j - 1] = j·2^(width·i)·base for j in 1 … 2^(width-1) and i < windows. No entry is
    at infinity: n is prime and does not divide j·2^(width·i)."""
    table = []
    for _ in range(windows):
        row: list[Jacobian] = [(base[0], base[1], 1)]
        for _j in range((1 << (width - 1)) - 1):
            row.append(_add_affine(row[-1], *base))
        affine = _to_affine([*row, _double(row[-1])])  # the last: 2^width·base, the next base
        table.append(tuple(affine[:-1]))
        base = affine[-1]
    return tuple(table)


def _signed_digits(k: int, width: int) -> list[int]:
    """k = Σ digit_i·2^(width·i) (least significant first) with every digit in
    (-2^(width-1), 2^(width-1)]: a digit above that becomes digit - 2^width with a carry into the
    next. As -Q is (x, p - y), a table then needs half the points for the same additions. A
    scalar below 2^256 needs ⌈257 / width⌉ digits."""
    full, half = 1 << width, 1 << (width - 1)
    digits = []
    for _ in range(-(-257 // width)):
        digit = k & (full - 1)
        k >>= width
        if digit > half:
            digit -= full
            k += 1
        digits.append(digit)
    return digits


_G_WIDTH, _KEY_WIDTH = 9, 5


@functools.cache
def _g_table() -> Table:
    return _comb(
        (GX, GY), _G_WIDTH, -(-257 // _G_WIDTH)
    )  # 29 × 256 points, ≈ 1.3 MB, built once per process


def _add_multiple(acc: Jacobian, table: Table, k: int, width: int) -> Jacobian:
    """acc + k·base for the base of `table` and 0 ≤ k < 2^256: one addition per nonzero digit."""
    x1, y1, z1 = acc
    for row, digit in zip(table, _signed_digits(k, width), strict=True):
        if digit > 0:
            x2, y2 = row[digit - 1]
        elif digit < 0:
            x2, y2 = row[-digit - 1]
            y2 = P - y2
        else:
            continue
        # _add_affine's general case inlined (this loop is where the time goes); the special
        # cases go to it
        zz = z1 * z1 % P
        h = (x2 * zz - x1) % P
        if z1 == 0 or h == 0:
            x1, y1, z1 = _add_affine((x1, y1, z1), x2, y2)
            continue
        r = (y2 * zz * z1 - y1) % P
        hh = h * h % P
        hhh = h * hh % P
        v = x1 * hh % P
        x1 = (r * r - hhh - 2 * v) % P
        y1 = (r * (v - x1) - y1 * hhh) % P
        z1 = z1 * h % P
    return x1, y1, z1


def _double_and_add(point: Affine, k: int) -> Jacobian:
    """k·point without a table: 5 doublings and ≤ 1 addition per signed 5-bit digit, the most
    significant first (≈ 1.5 ms, a sixth of what building the key's table costs)."""
    row = _comb(point, _KEY_WIDTH, 1)[0]
    acc = _INFINITY
    for digit in reversed(_signed_digits(k, _KEY_WIDTH)):
        for _ in range(_KEY_WIDTH):
            acc = _double(acc)
        if digit:
            x2, y2 = row[abs(digit) - 1]
            acc = _add_affine(acc, x2, y2 if digit > 0 else P - y2)
    return acc


# A node checks the same few dozen member keys over and over: a key met a second time gets a
# table (52 × 16 points, ≈ 100 kB), the last _KEYS_KEPT of them kept. A key met once, as in a
# one-off check, is multiplied without one.
_KEYS_KEPT = 256
_tables: OrderedDict[Affine, Table] = OrderedDict()
_met_once: OrderedDict[Affine, None] = OrderedDict()
_lock = threading.Lock()  # over the two caches' bookkeeping, not the arithmetic


def _key_multiple(point: Affine, k: int) -> Jacobian:
    """k·point for a public key `point` (on the curve)."""
    first = False
    with _lock:
        table = _tables.get(point)
        if table is not None:
            _tables.move_to_end(point)
        elif point in _met_once:
            del _met_once[point]
        else:
            first = True
            _met_once[point] = None
            if len(_met_once) > 4 * _KEYS_KEPT:
                _met_once.popitem(last=False)
    if first:
        return _double_and_add(point, k)
    if table is None:
        table = _comb(point, _KEY_WIDTH, -(-257 // _KEY_WIDTH))
        with _lock:
            _tables[point] = table
            if len(_tables) > _KEYS_KEPT:
                _tables.popitem(last=False)
    return _add_multiple(_INFINITY, table, k, _KEY_WIDTH)


def _x_affine(p1: Jacobian) -> int:
    x, _y, z = p1
    return x * pow(z * z, -1, P) % P


# --- the public API -----------------------------------------------------------------------------


def on_curve(point: bytes) -> bool:
    """Whether `point` is 04 ‖ x ‖ y of a point on the curve (which has cofactor 1, so every such
    point is in the group of order n)."""
    if len(point) != 65 or point[0] != 4:
        return False
    x, y = int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")
    return x < P and y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def public_point(d: int) -> bytes:
    """The uncompressed public key 04 ‖ x ‖ y of the private scalar d (1 ≤ d ≤ n - 2)."""
    if not 1 <= d <= N - 2:
        raise ValueError("SM2 私钥不在 [1, n-2] 内 (SM2 private scalar not in [1, n-2])")
    x, y, z = _add_multiple(_INFINITY, _g_table(), d, _G_WIDTH)
    zi = pow(z, -1, P)
    zi2 = zi * zi % P
    return b"\x04" + (x * zi2 % P).to_bytes(32, "big") + (y * zi2 * zi % P).to_bytes(32, "big")


@functools.lru_cache(maxsize=16)
def _inverse_1_plus(d: int) -> int:
    return pow(1 + d, -1, N)  # (1 + d)⁻¹ mod n, the same for every signature by one key


def sign_e(d: int, e: int, k: int) -> tuple[int, int] | None:
    """The signature (r, s) of the digest e (as an integer) with the private scalar d and the nonce
    k (1 ≤ k < n, secret, never reused); None when this k must be drawn again (GB/T 32918.2 §6.1:
    r = 0, r + k = n or s = 0)."""
    if not (1 <= d <= N - 2 and 1 <= k < N):
        raise ValueError("SM2 私钥或随机数 k 超出范围 (SM2 private scalar or nonce k out of range)")
    r = (e + _x_affine(_add_multiple(_INFINITY, _g_table(), k, _G_WIDTH))) % N
    if r == 0 or r + k == N:
        return None
    s = _inverse_1_plus(d) * (k - r * d) % N
    return (r, s) if s else None


def verify_e(point: bytes, e: int, r: int, s: int) -> bool:
    """Whether (r, s) is a signature of the digest e by the key `point` (GB/T 32918.2 §7.1)."""
    if not (1 <= r < N and 1 <= s < N) or not on_curve(point):
        return False
    t = (r + s) % N
    if t == 0:
        return False
    key = int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")
    acc = _add_multiple(_key_multiple(key, t), _g_table(), s, _G_WIDTH)  # t·P + s·G
    if acc[2] == 0:
        return False
    return (e + _x_affine(acc)) % N == r


def shared_x(d: int, point: bytes) -> bytes:
    """The x coordinate (32 bytes) of d·P for the public key `point`: static Diffie-Hellman.
    A point off the curve is refused (ValueError): d·P on another curve could give d away."""
    if not 1 <= d <= N - 2:
        raise ValueError("SM2 私钥不在 [1, n-2] 内 (SM2 private scalar not in [1, n-2])")
    if not on_curve(point):
        raise ValueError(
            "SM2 公钥不是曲线上的未压缩点 (SM2 public key is not an uncompressed point on the curve)"
        )
    key = int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")
    return _x_affine(_key_multiple(key, d)).to_bytes(32, "big")  # d < n: never at infinity


def verify_rs(point: bytes, r: int, s: int, message: bytes) -> bool:
    """Whether (r, s) is an SM2 signature of `message` by the key `point`."""
    if len(point) != 65 or point[0] != 4:
        raise ValueError("SM2 公钥不是未压缩的曲线点")
    return verify_e(point, int.from_bytes(digest_e(point, message), "big"), r, s)
