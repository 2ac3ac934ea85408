/* SM3 (GB/T 32905-2016) of many messages at once: 16 messages hashed side by side, one per
 * 32-bit lane of a 512-bit AVX-512 vector. GCC also builds AVX2 and SSE2 versions and picks one
 * at load time (`target_clones`); they are correct but slower than OpenSSL (see FAST). One SM3
 * stream cannot use SIMD (each block depends on the last), so a single file runs at OpenSSL's
 * scalar speed; a transfer of many small files has plenty of independent streams, and lanes make
 * SM3 several times faster than OpenSSL there.
 *
 * sm3_many(messages) -> list of 32-byte digests, one per buffer, in order. The GIL is released
 * while hashing. A lane whose message ends takes the next one, so messages of any lengths keep
 * the lanes busy until the last few. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define LANES 16
#define SCALAR_BELOW 4 /* see hash_all */

typedef uint32_t vec __attribute__((vector_size(4 * LANES)));

static const uint32_t IV[8] = {0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600,
                               0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e};

#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
#define P0(x) ((x) ^ ROL(x, 9) ^ ROL(x, 17))
#define P1(x) ((x) ^ ROL(x, 15) ^ ROL(x, 23))

static uint32_t T_ROT[64]; /* T_j <<< (j mod 32) */

static void init_constants(void) {
    for (int j = 0; j < 64; j++) {
        uint32_t t = j < 16 ? 0x79cc4519u : 0x7a879d8au;
        int n = j % 32;
        T_ROT[j] = n ? (t << n) | (t >> (32 - n)) : t;
    }
}

/* The compression function over N lanes of T (a vector of N words, or one uint32_t): `state`
 * (8 words x N) takes in one block per lane, `w` (16 words x N, big-endian decoded). */
#define DEFINE_COMPRESS(NAME, T, N)                                                         \
    static void NAME(uint32_t state[8][N], const uint32_t w[16][N]) {                       \
        T W[68], V[8];                                                                      \
        memcpy(V, state, sizeof V);                                                         \
        memcpy(W, w, 16 * sizeof(T));                                                       \
        for (int j = 16; j < 68; j++) {                                                     \
            T x = W[j - 16] ^ W[j - 9] ^ ROL(W[j - 3], 15);                                 \
            W[j] = P1(x) ^ ROL(W[j - 13], 7) ^ W[j - 6];                                    \
        }                                                                                   \
        T A = V[0], B = V[1], C = V[2], D = V[3], E = V[4], F = V[5], G = V[6], H = V[7];   \
        for (int j = 0; j < 64; j++) {                                                      \
            T a12 = ROL(A, 12);                                                             \
            T ss1 = a12 + E + T_ROT[j];                                                     \
            ss1 = ROL(ss1, 7);                                                              \
            T ss2 = ss1 ^ a12;                                                              \
            T ff = j < 16 ? A ^ B ^ C : (A & B) | (A & C) | (B & C);                        \
            T gg = j < 16 ? E ^ F ^ G : (E & F) | (~E & G);                                 \
            T tt1 = ff + D + ss2 + (W[j] ^ W[j + 4]);                                       \
            T tt2 = gg + H + ss1 + W[j];                                                    \
            D = C, C = ROL(B, 9), B = A, A = tt1;                                           \
            H = G, G = ROL(F, 19), F = E, E = P0(tt2);                                      \
        }                                                                                   \
        V[0] ^= A, V[1] ^= B, V[2] ^= C, V[3] ^= D, V[4] ^= E, V[5] ^= F, V[6] ^= G,        \
            V[7] ^= H;                                                                      \
        memcpy(state, V, sizeof V);                                                         \
    }

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
DEFINE_COMPRESS(compress_lanes, vec, LANES)
DEFINE_COMPRESS(compress_one, uint32_t, 1)

typedef struct {
    const uint8_t *data; /* the message */
    size_t full;         /* its whole 64-byte blocks */
    size_t blocks;       /* full + the padded tail's one or two blocks */
    size_t next;         /* the next block to hash */
    Py_ssize_t index;    /* which message (-1: the lane is idle) */
    uint8_t tail[128];   /* the last partial block, 0x80, zeros and the bit length */
} Lane;

static void lane_start(Lane *lane, const uint8_t *data, size_t len, Py_ssize_t index) {
    size_t rest = len % 64;
    lane->data = data;
    lane->full = len / 64;
    lane->blocks = lane->full + (rest < 56 ? 1 : 2);
    lane->next = 0;
    lane->index = index;
    memset(lane->tail, 0, sizeof lane->tail);
    if (rest) memcpy(lane->tail, data + 64 * lane->full, rest);
    lane->tail[rest] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    uint8_t *end = lane->tail + 64 * (lane->blocks - lane->full);
    for (int i = 1; i <= 8; i++, bits >>= 8) end[-i] = (uint8_t)bits;
}

static inline uint32_t load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static const uint8_t *lane_block(const Lane *lane) {
    static const uint8_t idle[64];
    if (lane->index < 0) return idle;
    return lane->next < lane->full ? lane->data + 64 * lane->next
                                   : lane->tail + 64 * (lane->next - lane->full);
}

static void put_digest(uint8_t *out, uint32_t state[8][LANES], int l) {
    for (int k = 0; k < 8; k++) {
        uint32_t v = state[k][l];
        out[4 * k] = v >> 24, out[4 * k + 1] = v >> 16, out[4 * k + 2] = v >> 8;
        out[4 * k + 3] = (uint8_t)v;
    }
}

/* Finish lane l's message one block at a time in scalar code. */
static void finish_alone(Lane *lane, uint32_t state[8][LANES], int l, uint8_t *digests) {
    uint32_t one[8][1], w[16][1];
    for (int k = 0; k < 8; k++) one[k][0] = state[k][l];
    for (; lane->next < lane->blocks; lane->next++) {
        const uint8_t *block = lane_block(lane);
        for (int k = 0; k < 16; k++) w[k][0] = load_be32(block + 4 * k);
        compress_one(one, w);
    }
    for (int k = 0; k < 8; k++) state[k][l] = one[k][0];
    put_digest(digests + 32 * lane->index, state, l);
}

/* Hash messages[0..n) into digests (32 bytes each). Once the messages run out and only a few
 * lanes are left busy, they finish in scalar code: a lane is 1/16 of the vector work, slower
 * alone than one scalar stream (this matters when one long message outlasts the others). */
static void hash_all(const uint8_t **messages, const size_t *lengths, Py_ssize_t n,
                     uint8_t *digests) {
    Lane lanes[LANES];
    uint32_t state[8][LANES] __attribute__((aligned(64)));
    uint32_t w[16][LANES] __attribute__((aligned(64)));
    Py_ssize_t taken = 0;
    int active = 0;
    for (int l = 0; l < LANES; l++) {
        lanes[l].index = -1;
        for (int k = 0; k < 8; k++) state[k][l] = IV[k];
        if (taken < n) lane_start(&lanes[l], messages[taken], lengths[taken], taken), taken++, active++;
    }
    while (active > SCALAR_BELOW || (active > 0 && taken < n)) {
        for (int l = 0; l < LANES; l++) {
            const uint8_t *block = lane_block(&lanes[l]);
            for (int k = 0; k < 16; k++) w[k][l] = load_be32(block + 4 * k);
        }
        compress_lanes(state, w);
        for (int l = 0; l < LANES; l++) {
            Lane *lane = &lanes[l];
            if (lane->index < 0 || ++lane->next < lane->blocks) continue;
            put_digest(digests + 32 * lane->index, state, l);
            for (int k = 0; k < 8; k++) state[k][l] = IV[k];
            lane->index = -1;
            active--;
            if (taken < n) lane_start(lane, messages[taken], lengths[taken], taken), taken++, active++;
        }
    }
    for (int l = 0; l < LANES; l++)
        if (lanes[l].index >= 0) finish_alone(&lanes[l], state, l, digests);
}

static PyObject *sm3_many(PyObject *Py_UNUSED(self), PyObject *arg) {
    PyObject *seq = PySequence_Fast(arg, "sm3_many expects a sequence of bytes-like objects");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    Py_buffer *views = PyMem_Calloc(n ? n : 1, sizeof(Py_buffer));
    const uint8_t **messages = PyMem_Calloc(n ? n : 1, sizeof(uint8_t *));
    size_t *lengths = PyMem_Calloc(n ? n : 1, sizeof(size_t));
    uint8_t *digests = PyMem_Malloc(n ? 32 * n : 1);
    PyObject *result = NULL;
    Py_ssize_t got = 0;
    if (!views || !messages || !lengths || !digests) {
        PyErr_NoMemory();
        goto done;
    }
    for (; got < n; got++) {
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, got), &views[got], PyBUF_SIMPLE) < 0)
            goto done;
        messages[got] = views[got].buf;
        lengths[got] = (size_t)views[got].len;
    }
    Py_BEGIN_ALLOW_THREADS
    hash_all(messages, lengths, n, digests);
    Py_END_ALLOW_THREADS
    result = PyList_New(n);
    if (result == NULL) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *digest = PyBytes_FromStringAndSize((const char *)digests + 32 * i, 32);
        if (digest == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, i, digest);
    }
done:
    for (Py_ssize_t i = 0; i < got; i++) PyBuffer_Release(&views[i]);
    PyMem_Free(views);
    PyMem_Free(messages);
    PyMem_Free(lengths);
    PyMem_Free(digests);
    Py_DECREF(seq);
    return result;
}

static PyMethodDef methods[] = {
    {"sm3_many", sm3_many, METH_O,
     "sm3_many(messages) -> list of the 32-byte SM3 digests of the bytes-like messages"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_sm3lanes",
    .m_doc = "SM3 of many messages at once (SIMD lanes).",
    .m_size = -1,
    .m_methods = methods,
};

/* Whether the lanes run at their full width here. Without AVX-512 the 16 lanes do not fit the
 * registers (16 x 256-bit on AVX2) and measured slower than OpenSSL's scalar SM3 (~200 MB/s
 * against ~400 on the same machine), so callers should then prefer OpenSSL. */
static int lanes_fast(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
#else
    return 0;
#endif
}

PyMODINIT_FUNC PyInit__sm3lanes(void) {
    init_constants();
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddObject(m, "FAST", PyBool_FromLong(lanes_fast())) < 0) Py_CLEAR(m);
    return m;
}
