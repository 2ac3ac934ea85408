/*
 * Lantai offline certificate verifier (docs/formats/certificate-payload-1.0.md).
 *
 * The same decoding and checks as lantai.standards.certificate_verify, in the browser, with no
 * server round trip and no library: SM3 (GB/T 32905), SM2 signature verification (GB/T 32918,
 * BigInt, Jacobian coordinates, Shamir's trick), Base45 (RFC 9285), gzip through
 * DecompressionStream. Reason codes and messages are those of the Python verifier.
 *
 *   LantaiVerifier.verify(text, trustList, statusLists, roots, nowMs[, contentBytes])
 *     -> Promise<{valid, reason, message_zh, message_en, number, issuer, issued, expires,
 *                 status_list_age_s, kind, names, events, detail}>
 *
 *   kind ("record" | "none_found"), names (the masked names) and events ([{kind, date}]) are
 *   what the payload signs, given whenever it decoded (invalid verdicts too; null otherwise),
 *   for the reader to compare with the paper.
 */
(function (global) {
  "use strict";

  // ---- SM3 (GB/T 32905-2016) ----------------------------------------------------------------

  const SM3_IV = [
    0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e,
  ];
  const SM3_T = new Uint32Array(64);
  for (let j = 0; j < 64; j++) {
    const t = j < 16 ? 0x79cc4519 : 0x7a879d8a;
    const n = j % 32;
    SM3_T[j] = n === 0 ? t : ((t << n) | (t >>> (32 - n))) >>> 0;
  }

  function rotl(x, n) {
    return ((x << n) | (x >>> (32 - n))) >>> 0;
  }

  function sm3(message) {
    const bitLength = message.length * 8;
    const padded = new Uint8Array((((message.length + 8) >> 6) + 1) << 6);
    padded.set(message);
    padded[message.length] = 0x80;
    const view = new DataView(padded.buffer);
    view.setUint32(padded.length - 8, Math.floor(bitLength / 0x100000000));
    view.setUint32(padded.length - 4, bitLength >>> 0);
    const v = SM3_IV.slice();
    const w = new Uint32Array(68);
    const w1 = new Uint32Array(64);
    for (let offset = 0; offset < padded.length; offset += 64) {
      for (let j = 0; j < 16; j++) w[j] = view.getUint32(offset + 4 * j);
      for (let j = 16; j < 68; j++) {
        const x = w[j - 16] ^ w[j - 9] ^ rotl(w[j - 3], 15);
        w[j] = x ^ rotl(x, 15) ^ rotl(x, 23) ^ rotl(w[j - 13], 7) ^ w[j - 6];
      }
      for (let j = 0; j < 64; j++) w1[j] = w[j] ^ w[j + 4];
      let [a, b, c, d, e, f, g, h] = v;
      for (let j = 0; j < 64; j++) {
        const a12 = rotl(a, 12);
        const ss1 = rotl((a12 + e + SM3_T[j]) >>> 0, 7);
        const ss2 = ss1 ^ a12;
        const ff = j < 16 ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
        const gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g);
        const tt1 = (ff + d + ss2 + w1[j]) >>> 0;
        const tt2 = (gg + h + ss1 + w[j]) >>> 0;
        d = c;
        c = rotl(b, 9);
        b = a;
        a = tt1;
        h = g;
        g = rotl(f, 19);
        f = e;
        e = (tt2 ^ rotl(tt2, 9) ^ rotl(tt2, 17)) >>> 0;
      }
      const next = [a, b, c, d, e, f, g, h];
      for (let i = 0; i < 8; i++) v[i] = (v[i] ^ next[i]) >>> 0;
    }
    const out = new Uint8Array(32);
    const outView = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) outView.setUint32(4 * i, v[i]);
    return out;
  }

  // ---- bytes ----------------------------------------------------------------------------------

  function toHex(bytes) {
    let s = "";
    for (const byte of bytes) s += byte.toString(16).padStart(2, "0");
    return s;
  }

  function fromHex(hex) {
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
    return out;
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  function bigOf(bytes) {
    return bytes.length ? BigInt("0x" + toHex(bytes)) : 0n;
  }

  function bytesOf(n, length) {
    return fromHex(n.toString(16).padStart(2 * length, "0"));
  }

  function sameBytes(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  // ---- SM2 (GB/T 32918) signature verification --------------------------------------------------

  const P = 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn;
  const A = P - 3n;
  const B = 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n;
  const N = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
  const GX = 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n;
  const GY = 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n;
  const USER_ID = new TextEncoder().encode("1234567812345678"); // GB/T 35276 default

  function mod(x) {
    const r = x % P;
    return r < 0n ? r + P : r;
  }

  function inverse(x) {
    let result = 1n;
    let base = mod(x);
    let e = P - 2n;
    while (e > 0n) {
      if (e & 1n) result = (result * base) % P;
      base = (base * base) % P;
      e >>= 1n;
    }
    return result;
  }

  // Jacobian points [X, Y, Z] (x = X/Z², y = Y/Z³); Z = 0 is the point at infinity.
  function double([x, y, z]) {
    if (z === 0n || y === 0n) return [1n, 1n, 0n];
    const delta = (z * z) % P;
    const gamma = (y * y) % P;
    const beta = (x * gamma) % P;
    const alpha = mod(3n * (x - delta) * (x + delta)); // a = -3
    const x3 = mod(alpha * alpha - 8n * beta);
    const z3 = mod((y + z) * (y + z) - gamma - delta);
    const y3 = mod(alpha * (4n * beta - x3) - 8n * ((gamma * gamma) % P));
    return [x3, y3, z3];
  }

  // Jacobian + affine [x, y] (null: infinity)
  function addAffine(p, q) {
    if (q === null) return p;
    const [x1, y1, z1] = p;
    if (z1 === 0n) return [q[0], q[1], 1n];
    const z1z1 = (z1 * z1) % P;
    const u2 = (q[0] * z1z1) % P;
    const s2 = (((q[1] * z1) % P) * z1z1) % P;
    const h = mod(u2 - x1);
    const r = mod(s2 - y1);
    if (h === 0n) return r === 0n ? double(p) : [1n, 1n, 0n];
    const hh = (h * h) % P;
    const hhh = (h * hh) % P;
    const v = (x1 * hh) % P;
    const x3 = mod(r * r - hhh - 2n * v);
    const y3 = mod(r * (v - x3) - y1 * hhh);
    return [x3, y3, (z1 * h) % P];
  }

  function affine([x, y, z]) {
    if (z === 0n) return null;
    const zi = inverse(z);
    const zi2 = (zi * zi) % P;
    return [(x * zi2) % P, (((y * zi2) % P) * zi) % P];
  }

  function onCurveHex(hex) {
    if (typeof hex !== "string" || !/^04[0-9a-f]{128}$/.test(hex)) return false;
    const x = BigInt("0x" + hex.slice(2, 66));
    const y = BigInt("0x" + hex.slice(66));
    return x < P && y < P && mod(y * y - (x * x * x + A * x + B)) === 0n;
  }

  // s·G + t·Q with one shared chain of doublings (Shamir's trick)
  function shamir(s, t, q) {
    const g = [GX, GY];
    const sum = affine(addAffine([q[0], q[1], 1n], g));
    const table = [null, g, q, sum];
    let acc = [1n, 1n, 0n];
    for (let i = 255; i >= 0; i--) {
      acc = double(acc);
      const pick = Number((s >> BigInt(i)) & 1n) | (Number((t >> BigInt(i)) & 1n) << 1);
      if (pick) {
        if (table[pick] === null) continue;
        acc = addAffine(acc, table[pick]);
      }
    }
    return affine(acc);
  }

  function zOf(pointBytes) {
    const entl = new Uint8Array([(USER_ID.length * 8) >> 8, (USER_ID.length * 8) & 0xff]);
    return sm3(
      concat(
        entl,
        USER_ID,
        bytesOf(A, 32),
        bytesOf(B, 32),
        bytesOf(GX, 32),
        bytesOf(GY, 32),
        pointBytes.subarray(1),
      ),
    );
  }

  function sm2Verify(publicKeyHex, r, s, message) {
    if (!onCurveHex(publicKeyHex)) return false;
    if (!(r >= 1n && r < N && s >= 1n && s < N)) return false;
    const point = fromHex(publicKeyHex);
    const e = bigOf(sm3(concat(zOf(point), message)));
    const t = (r + s) % N;
    if (t === 0n) return false;
    const q = [bigOf(point.subarray(1, 33)), bigOf(point.subarray(33))];
    const x1y1 = shamir(s, t, q);
    if (x1y1 === null) return false;
    return (e + x1y1[0]) % N === r;
  }

  // DER SEQUENCE { INTEGER r, INTEGER s }, strictly as certificate_payload.der_to_rs
  function derToRs(der) {
    function integer(at) {
      if (at + 2 > der.length || der[at] !== 0x02 || der[at + 1] > 33) throw new Error("INTEGER");
      const length = der[at + 1];
      const raw = der.subarray(at + 2, at + 2 + length);
      if (raw.length !== length || length === 0 || raw[0] & 0x80) throw new Error("INTEGER");
      if (length > 1 && raw[0] === 0 && !(raw[1] & 0x80)) throw new Error("not minimal");
      return [bigOf(raw), at + 2 + length];
    }
    if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) throw new Error("DER");
    const [r, at] = integer(2);
    const [s, end] = integer(at);
    if (end !== der.length) throw new Error("trailing DER");
    return [r, s];
  }

  // ---- Base45 (RFC 9285) and the payload --------------------------------------------------------

  const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  const PREFIX = "LTC1:";
  const EVENT_KINDS = ["J", "L", "CX", "BJ", "BL"];
  const PAYLOAD_KINDS = ["record", "none_found"];
  const DAY_ZERO_MS = Date.UTC(1900, 0, 1);
  const DAY_MS = 86400000;

  class PayloadError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }

  function b45decode(text) {
    if (text.length % 3 === 1) throw new PayloadError("base45", "length");
    const out = [];
    for (let i = 0; i < text.length; i += 3) {
      const group = text.slice(i, i + 3);
      let n = 0;
      for (let k = group.length - 1; k >= 0; k--) {
        const value = B45.indexOf(group[k]);
        if (value < 0) throw new PayloadError("base45", "alphabet");
        n = n * 45 + value;
      }
      if (group.length === 3) {
        if (n > 0xffff) throw new PayloadError("base45", "range");
        out.push(n >> 8, n & 0xff);
      } else {
        if (n > 0xff) throw new PayloadError("base45", "range");
        out.push(n);
      }
    }
    return new Uint8Array(out);
  }

  const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

  function decodePayload(text) {
    if (typeof text !== "string" || !text.startsWith(PREFIX)) {
      throw new PayloadError("prefix", "prefix");
    }
    const raw = b45decode(text.slice(PREFIX.length));
    let at = 0;
    function take(n) {
      if (at + n > raw.length) throw new PayloadError("truncated", `truncated at byte ${at}`);
      const chunk = raw.subarray(at, at + n);
      at += n;
      return chunk;
    }
    const byte = () => take(1)[0];
    const uint = (n) => take(n).reduce((acc, b) => acc * 256 + b, 0);
    const field = (message) => new PayloadError("field", message);

    // read first (truncation, undecodable bytes), then check every field, as the Python decoder
    if (byte() !== 1) throw new PayloadError("version", "version");
    const flags = byte();
    if (flags > 1) throw field("flags");
    const numberBytes = take(byte());
    if (numberBytes.some((b) => b > 0x7f)) throw field("number not ASCII");
    const number = String.fromCharCode(...numberBytes);
    const issuerKeyId = toHex(take(8));
    const contentDigest = take(32).slice();
    const statusIndex = uint(3);
    const issued = uint(4);
    const expires = uint(4);
    const names = [];
    for (let count = byte(), i = 0; i < count; i++) {
      const chunk = take(byte());
      try {
        names.push(utf8.decode(chunk));
      } catch (error) {
        throw field("name not UTF-8");
      }
    }
    const events = [];
    for (let count = byte(), i = 0; i < count; i++) {
      const packed = uint(3);
      const code = packed >>> 21;
      if (code >= EVENT_KINDS.length) throw field("event kind");
      const date = new Date(DAY_ZERO_MS + (packed & 0x1fffff) * DAY_MS);
      events.push({ kind: EVENT_KINDS[code], date: date.toISOString().slice(0, 10) });
    }
    const signedBytes = raw.slice(0, at);
    const signature = take(64);
    if (at !== raw.length) throw new PayloadError("trailing", "trailing bytes");

    if (!/^[\x21-\x7e]{1,32}$/.test(number)) throw field("number");
    if (names.length > 4) throw field("names");
    for (const name of names) {
      const chars = [...name].length;
      if (chars < 1 || chars > 16 || /[\x00-\x1f\x7f-\x9f]/.test(name)) throw field("name");
    }
    if (events.length > 8) throw field("events");
    const kind = PAYLOAD_KINDS[flags];
    if (kind === "none_found" && events.length) throw field("none_found with events");
    if (issued >= expires) throw field("expires");
    return {
      payload: {
        number,
        issuer_key_id: issuerKeyId,
        content_digest: contentDigest,
        status_index: statusIndex,
        kind,
        names,
        events,
        issued: issued * 1000,
        expires: expires * 1000,
      },
      signedBytes,
      r: bigOf(signature.subarray(0, 32)),
      s: bigOf(signature.subarray(32)),
    };
  }

  // ---- the signed lists ---------------------------------------------------------------------------

  const TRUST_LIST = "lantai-trust-list/1";
  const STATUS_LIST = "lantai-status-list/1";
  const ENVELOPE_KEYS = ["format", "signature", "signed", "signer"];
  const MAX_STATUS_SIZE = 2 ** 24;

  class ListError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
    }
  }

  function b64(value, where) {
    if (typeof value === "string" && value.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
      let binary;
      try {
        binary = atob(value);
      } catch (error) {
        binary = null;
      }
      if (binary !== null && btoa(binary) === value) {
        return Uint8Array.from(binary, (c) => c.charCodeAt(0));
      }
    }
    throw new ListError("envelope", `${where} is not canonical base64`);
  }

  function parseTime(value, where) {
    const m = typeof value === "string" && /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(value);
    if (m) {
      const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
      const d = new Date(ms);
      if (+m[1] >= 1 && d.toISOString().slice(0, 19) + "Z" === value) return ms;
    }
    throw new ListError("body", `${where} must be a UTC time like 2026-01-01T00:00:00Z`);
  }

  function parseDate(value, where) {
    const m = typeof value === "string" && /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    if (m && +m[1] >= 1) {
      const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
      d.setUTCFullYear(+m[1]); // years 0-99 would otherwise mean 1900-1999
      if (d.toISOString().slice(0, 10) === value) return value;
    }
    throw new ListError("body", `${where} must be a date like 2026-12-31`);
  }

  function keyIdOf(publicKeyHex) {
    return toHex(sm3(fromHex(publicKeyHex)).subarray(0, 8));
  }

  function text(obj, key, where) {
    const value = obj[key];
    if (typeof value !== "string" || !value.trim()) {
      throw new ListError("body", `${where}.${key} must be a non-empty string`);
    }
    return value;
  }

  function isObject(value) {
    return typeof value === "object" && value !== null && !Array.isArray(value);
  }

  function isCount(value, low, high) {
    return typeof value === "number" && Number.isInteger(value) && value >= low && value <= high;
  }

  function checkTrustList(body) {
    text(body, "province", "trust list");
    parseTime(body.issued, "issued");
    parseTime(body.next_update, "next_update");
    if (!isCount(body.sequence, 0, 2 ** 53 - 1)) throw new ListError("body", "sequence");
    if (!Array.isArray(body.issuers)) throw new ListError("body", "issuers must be an array");
    const seen = new Set();
    body.issuers.forEach((issuer, i) => {
      const where = `issuers[${i}]`;
      if (!isObject(issuer)) throw new ListError("body", `${where} must be an object`);
      if (!onCurveHex(issuer.public_key)) throw new ListError("body", `${where}.public_key`);
      if (issuer.key_id !== keyIdOf(issuer.public_key)) {
        throw new ListError("body", `${where}.key_id`);
      }
      if (seen.has(issuer.key_id)) throw new ListError("body", `${where}: key twice`);
      seen.add(issuer.key_id);
      text(issuer, "repository_code", where);
      text(issuer, "archives", where);
      const first = parseDate(issuer.not_before, `${where}.not_before`);
      const last = parseDate(issuer.not_after, `${where}.not_after`);
      if (first > last) throw new ListError("body", `${where}: not_before after not_after`);
      parseTime(issuer.valid_until, `${where}.valid_until`);
      for (const key of ["withdrawn_at", "compromised_since"]) {
        if (issuer[key] !== null && issuer[key] !== undefined) parseTime(issuer[key], key);
      }
    });
  }

  async function inflate(bitsB64, size) {
    const data = b64(bitsB64, "bits");
    const expected = Math.ceil(size / 8);
    const out = new Uint8Array(expected + 1);
    let length = 0;
    try {
      const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("gzip"));
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (length + value.length > expected) {
          length = expected + 1;
          await reader.cancel();
          break;
        }
        out.set(value, length);
        length += value.length;
      }
    } catch (error) {
      throw new ListError("body", `bits is not valid gzip: ${error}`);
    }
    if (length !== expected) throw new ListError("body", `bits must inflate to ${expected} bytes`);
    return out.subarray(0, expected);
  }

  async function checkStatusList(body) {
    text(body, "repository_code", "status list");
    parseTime(body.issued, "issued");
    parseTime(body.next_update, "next_update");
    if (!isCount(body.size, 1, MAX_STATUS_SIZE)) throw new ListError("body", "size");
    return inflate(body.bits, body.size);
  }

  function peek(env) {
    if (!isObject(env) || Object.keys(env).sort().join() !== ENVELOPE_KEYS.join()) {
      throw new ListError("envelope", "a list must have exactly format, signature, signed, signer");
    }
    if (env.format !== TRUST_LIST && env.format !== STATUS_LIST) {
      throw new ListError("format", `unknown list format ${env.format}`);
    }
    const signed = b64(env.signed, "signed");
    let body;
    try {
      body = JSON.parse(utf8.decode(signed));
    } catch (error) {
      throw new ListError("envelope", "signed is not UTF-8 JSON");
    }
    if (!isObject(body)) throw new ListError("envelope", "signed must be a JSON object");
    return [env.format, body, signed];
  }

  // the body (and, for a status list, its bits) once the signature by one of `signers` checks
  async function openEnvelope(env, format, signers) {
    const [found, body, signed] = peek(env);
    if (found !== format) throw new ListError("format", `the list is ${found}, not ${format}`);
    if (typeof env.signer !== "string" || !signers.includes(env.signer)) {
      throw new ListError("signer", "the signing key is not one of the trusted signers");
    }
    let good = false;
    try {
      const [r, s] = derToRs(b64(env.signature, "signature"));
      good = sm2Verify(env.signer, r, s, signed);
    } catch (error) {
      good = false;
    }
    if (!good) throw new ListError("signature", "the list's signature does not verify");
    const bits = format === TRUST_LIST ? checkTrustList(body) : await checkStatusList(body);
    return { body, bits };
  }

  // ---- verification ----------------------------------------------------------------------------

  const GRACE_MS = DAY_MS;
  const CLOCK_SKEW_MS = 10 * 60 * 1000;
  const MAX_STATUS_SPAN_MS = 2 * 24 * 3600 * 1000; // lists are refreshed at least daily

  const REASONS = {
    valid: ["证明有效", "the certificate is valid"],
    malformed: ["二维码内容不是有效的证明载荷", "the QR text is not a certificate payload"],
    untrusted_list: [
      "信任列表不是由省级根密钥签发或格式不符",
      "the trust list is not signed by a provincial root key or is malformed",
    ],
    stale_trust_list: ["信任列表已过期，请更新", "the trust list is out of date; update it"],
    unknown_issuer: ["签发密钥不在信任列表中", "the issuing key is not on the trust list"],
    bad_signature: ["签名验证失败，证明内容可能被篡改", "the signature does not verify"],
    key_not_valid_then: [
      "签发时间不在该密钥的使用期内",
      "the certificate was issued outside its key's signing period",
    ],
    key_withdrawn: ["签发密钥已被撤回", "the issuing key has been withdrawn"],
    key_compromised: [
      "签发密钥已泄露，此证明签发于泄露日期之后",
      "the issuing key was compromised before this certificate was issued",
    ],
    key_expired: ["签发密钥的验证期限已过", "certificates of this key may no longer be verified"],
    not_yet_valid: ["证明的签发时间晚于当前时间", "the certificate's issue time is in the future"],
    expired: ["证明已超过有效期", "the certificate has expired"],
    digest_mismatch: [
      "二维码与证明文件内容不符",
      "the QR code does not belong to this certificate's content",
    ],
    no_status_list: [
      "缺少该档案馆的证明状态列表，无法确认是否已撤销",
      "no status list of the issuing archives: revocation cannot be checked",
    ],
    untrusted_status_list: [
      "证明状态列表不是由该档案馆的可信密钥签发或格式不符",
      "the status list is not signed by a trusted key of the issuing archives or is malformed",
    ],
    stale_status_list: ["证明状态列表已过期，请更新", "the status list is out of date; update it"],
    status_out_of_range: [
      "证明的状态序号超出状态列表范围",
      "the certificate's status index is outside the status list",
    ],
    revoked: ["证明已被撤销", "the certificate has been revoked"],
    error: ["验证程序出错", "the verifier failed"], // never expected: a defect in this file
  };

  function isoSeconds(ms) {
    return new Date(ms).toISOString().slice(0, 19) + "Z";
  }

  function verdict(reason, fields, detail) {
    const [zh, en] = REASONS[reason];
    return {
      valid: reason === "valid",
      reason,
      message_zh: zh,
      message_en: en,
      number: fields.number ?? null,
      issuer: fields.issuer ?? null,
      issued: fields.issued === undefined ? null : isoSeconds(fields.issued),
      expires: fields.expires === undefined ? null : isoSeconds(fields.expires),
      status_list_age_s: fields.status_list_age_s ?? null,
      kind: fields.kind ?? null,
      names: fields.names ? fields.names.slice() : null,
      events: fields.events ? fields.events.map((e) => ({ kind: e.kind, date: e.date })) : null,
      detail: detail || "",
    };
  }

  function setAtOrBefore(value, moment) {
    return value !== null && value !== undefined && parseTime(value, "time") <= moment;
  }

  async function verifyUnsafe(text, trustList, statusLists, roots, nowMs, contentBytes) {
    let signed;
    try {
      signed = decodePayload(text);
    } catch (error) {
      if (error instanceof PayloadError) return verdict("malformed", {}, error.code);
      throw error;
    }
    const p = signed.payload;
    const fields = {
      number: p.number,
      issued: p.issued,
      expires: p.expires,
      kind: p.kind,
      names: p.names,
      events: p.events,
    };

    let trust;
    try {
      trust = (await openEnvelope(trustList, TRUST_LIST, Array.from(roots))).body;
    } catch (error) {
      if (error instanceof ListError) return verdict("untrusted_list", fields, error.code);
      throw error;
    }
    if (nowMs > parseTime(trust.next_update) + GRACE_MS) {
      return verdict("stale_trust_list", fields);
    }
    const issuer = trust.issuers.find((i) => i.key_id === p.issuer_key_id);
    if (!issuer) return verdict("unknown_issuer", fields);
    fields.issuer = issuer.archives;
    if (!sm2Verify(issuer.public_key, signed.r, signed.s, signed.signedBytes)) {
      return verdict("bad_signature", fields);
    }
    const issuedDay = isoSeconds(p.issued).slice(0, 10);
    if (issuedDay < issuer.not_before || issuedDay > issuer.not_after) {
      return verdict("key_not_valid_then", fields);
    }
    if (setAtOrBefore(issuer.withdrawn_at, nowMs)) return verdict("key_withdrawn", fields);
    if (setAtOrBefore(issuer.compromised_since, p.issued)) {
      return verdict("key_compromised", fields);
    }
    if (nowMs > parseTime(issuer.valid_until)) return verdict("key_expired", fields);
    if (p.issued > nowMs + CLOCK_SKEW_MS) return verdict("not_yet_valid", fields);
    if (nowMs > p.expires) return verdict("expired", fields);
    if (contentBytes !== undefined && contentBytes !== null) {
      if (!sameBytes(sm3(Uint8Array.from(contentBytes)), p.content_digest)) {
        return verdict("digest_mismatch", fields);
      }
    }

    const repository = issuer.repository_code;
    const signers = trust.issuers
      .filter((i) => i.repository_code === repository && !setAtOrBefore(i.withdrawn_at, nowMs))
      .map((i) => i.public_key);
    const compromised = new Map(
      trust.issuers
        .filter((i) => i.compromised_since !== null && i.compromised_since !== undefined)
        .map((i) => [i.public_key, parseTime(i.compromised_since)]),
    );
    let best = null;
    let problem = "";
    for (const env of statusLists) {
      let unchecked;
      try {
        unchecked = peek(env)[1];
      } catch (error) {
        if (error instanceof ListError) continue;
        throw error;
      }
      if (unchecked.repository_code !== repository) continue;
      let opened;
      try {
        opened = await openEnvelope(env, STATUS_LIST, signers);
      } catch (error) {
        if (!(error instanceof ListError)) throw error;
        problem = error.code;
        continue;
      }
      const issued = parseTime(opened.body.issued);
      if (issued > nowMs + CLOCK_SKEW_MS) {
        problem = "future"; // a wrong clock's list would otherwise win "newest"
        continue;
      }
      if (parseTime(opened.body.next_update) - issued > MAX_STATUS_SPAN_MS) {
        problem = "span";
        continue;
      }
      const since = compromised.get(env.signer);
      if (since !== undefined && issued >= since) {
        problem = "compromised";
        continue;
      }
      if (best === null || issued > best.issued) best = { ...opened, issued };
    }
    if (best === null) {
      return verdict(problem ? "untrusted_status_list" : "no_status_list", fields, problem);
    }
    fields.status_list_age_s = Math.floor((nowMs - best.issued) / 1000);
    if (nowMs > parseTime(best.body.next_update) + GRACE_MS) {
      return verdict("stale_status_list", fields);
    }
    if (p.status_index >= best.body.size) return verdict("status_out_of_range", fields);
    if (best.bits[p.status_index >> 3] & (0x80 >> (p.status_index & 7))) {
      return verdict("revoked", fields);
    }
    return verdict("valid", fields);
  }

  async function verify(text, trustList, statusLists, roots, nowMs, contentBytes) {
    try {
      return await verifyUnsafe(text, trustList, statusLists || [], roots || [], nowMs, contentBytes);
    } catch (error) {
      return verdict("error", {}, String(error));
    }
  }

  global.LantaiVerifier = Object.freeze({
    verify,
    decodePayload,
    b45decode,
    sm3: (bytes) => toHex(sm3(bytes)),
    sm2Verify,
    REASONS,
  });
})(typeof globalThis !== "undefined" ? globalThis : window);
