/* Vector kernels of nabla's max and average pooling (used by pool.pyx), NHWC.
 *
 * Two kernels, each for float (suffix _f32) and double (_f64):
 *
 * nbp_max_row: one output row y[n, i, :, :] of max_pool2d and its argmax.  For each
 *   output pixel and block of LANES channels the running maximum `cur` and the flat
 *   index `idx` of its cell stay in registers over the whole window; y and argmax are
 *   stored once.  `cur` starts at -inf with `idx` at the first in-bounds cell, and each
 *   in-bounds cell, in row-major window order, replaces it iff
 *       cur is not NaN  and  not (v <= cur)
 *   which is the contract's rule "v > cur, or v is NaN and cur is not": once cur is
 *   NaN nothing replaces it (the first NaN wins), and an all -inf window keeps its
 *   first cell.  Without NaN the rule is "v > cur", and the maximum is maxps: the
 *   kernel runs that and redoes a block with the full rule only where it read a NaN
 *   (NBP_MAX_BLOCK).
 *
 * nbp_avg_row: one output row of avg_pool2d: 0, plus the in-bounds cells in
 *   row-major window order, times 1/(kh*kw), with the sum in a register.
 *
 * (max_pool2d_scatter stays a scalar loop in pool.pyx: one masked vector add per
 * distinct cell of a block measured 2-5x slower there, its loop being a serial chain
 * of mask updates with unpredictable trip counts, and the scalar scatter already
 * runs at memory bandwidth.)
 *
 * Channels are cut into blocks of LANES (16 floats or 8 doubles with AVX-512, 8 or 4
 * with AVX2, 1 in plain C); the last block of a pixel is masked, so a small channel
 * count (LeNet's 6) is one masked vector per pixel rather than a scalar loop.  One
 * dialect for every instruction set: the kernels are written once (NBP_DEFINE) over a
 * small table of static inline operations per instruction set and dtype; the argmax
 * is int64 in the vectors too (two index vectors per float vector), so any image size
 * works.  setup.py compiles this once per instruction set; without AVX-512 or AVX2
 * the table has one-lane "vectors" (plain C).
 */
#ifndef NABLA_POOL_H
#define NABLA_POOL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

typedef ptrdiff_t nbp_idx;

/* Window geometry of one output row (as _geometry.pxd): output column j reads input
 * columns j*sw - pl + b*dw for taps b < kw; the row's taps a in [a_lo, a_hi) are the
 * in-bounds ones, input row r0 + a*dh. */
typedef struct {
    nbp_idx W, C, Wo;
    nbp_idx r0, a_lo, a_hi, dh;
    nbp_idx sw, pl, kw, dw;
} nbp_row;

static inline nbp_idx nbp_first_tap(nbp_idx start, nbp_idx step) {
    return start >= 0 ? 0 : (step - 1 - start) / step;
}

static inline nbp_idx nbp_end_tap(nbp_idx start, nbp_idx step, nbp_idx count, nbp_idx size) {
    nbp_idx end;
    if (start > size - 1)
        return 0;
    end = (size - 1 - start) / step + 1;
    return end < count ? end : count;
}

/* ------------------------------------------------------- operation tables
 * Per dtype S: V (values), M (lane mask of a compare), I (LANES int64 indices);
 * maskn(n): the first n lanes; take(v, cur): lanes where v replaces cur (rule above);
 * blend(m, a, b): b where m else a; max(v, cur): v > cur ? v : cur lane by lane (the
 * x86 maxps rule: cur where either is NaN); gt(v, cur): v > cur, false with a NaN;
 * isnan, mor (or of masks), many (any lane set); iblend(m, idx, k): k where m; istore and
 * imstore write the LANES int64 indices (imstore only the lanes of m). */
#if defined(__AVX512F__)

#define NBP_LANES_f32 16
typedef __m512 nbp_f32_V;
typedef __mmask16 nbp_f32_M;
typedef struct { __m512i lo, hi; } nbp_f32_I;       /* lanes 0-7 and 8-15 */
static inline nbp_f32_M nbp_f32_maskn(nbp_idx n) { return (__mmask16)((1u << n) - 1); }
static inline nbp_f32_V nbp_f32_load(const float* p) { return _mm512_loadu_ps(p); }
static inline nbp_f32_V nbp_f32_mload(nbp_f32_M m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
static inline void nbp_f32_store(float* p, nbp_f32_V v) { _mm512_storeu_ps(p, v); }
static inline void nbp_f32_mstore(float* p, nbp_f32_M m, nbp_f32_V v) { _mm512_mask_storeu_ps(p, m, v); }
static inline nbp_f32_V nbp_f32_set1(float a) { return _mm512_set1_ps(a); }
static inline nbp_f32_V nbp_f32_add(nbp_f32_V a, nbp_f32_V b) { return _mm512_add_ps(a, b); }
static inline nbp_f32_V nbp_f32_mul(nbp_f32_V a, nbp_f32_V b) { return _mm512_mul_ps(a, b); }
static inline nbp_f32_M nbp_f32_take(nbp_f32_V v, nbp_f32_V cur) {
    return _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(cur, cur, _CMP_ORD_Q), v, cur, _CMP_NLE_UQ);
}
static inline nbp_f32_V nbp_f32_blend(nbp_f32_M m, nbp_f32_V a, nbp_f32_V b) { return _mm512_mask_mov_ps(a, m, b); }
static inline nbp_f32_V nbp_f32_max(nbp_f32_V v, nbp_f32_V cur) { return _mm512_max_ps(v, cur); }
static inline nbp_f32_M nbp_f32_gt(nbp_f32_V v, nbp_f32_V cur) { return _mm512_cmp_ps_mask(v, cur, _CMP_GT_OQ); }
static inline nbp_f32_M nbp_f32_isnan(nbp_f32_V v) { return _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q); }
static inline nbp_f32_M nbp_f32_mor(nbp_f32_M a, nbp_f32_M b) { return a | b; }
static inline int nbp_f32_many(nbp_f32_M m) { return m != 0; }
static inline nbp_f32_I nbp_f32_iset1(int64_t k) {
    nbp_f32_I r = {_mm512_set1_epi64(k), _mm512_set1_epi64(k)};
    return r;
}
static inline nbp_f32_I nbp_f32_iblend(nbp_f32_M m, nbp_f32_I idx, int64_t k) {
    __m512i kv = _mm512_set1_epi64(k);
    idx.lo = _mm512_mask_mov_epi64(idx.lo, (__mmask8)m, kv);
    idx.hi = _mm512_mask_mov_epi64(idx.hi, (__mmask8)(m >> 8), kv);
    return idx;
}
static inline void nbp_f32_istore(int64_t* p, nbp_f32_I idx) {
    _mm512_storeu_si512(p, idx.lo);
    _mm512_storeu_si512(p + 8, idx.hi);
}
static inline void nbp_f32_imstore(int64_t* p, nbp_f32_M m, nbp_f32_I idx) {
    _mm512_mask_storeu_epi64(p, (__mmask8)m, idx.lo);
    _mm512_mask_storeu_epi64(p + 8, (__mmask8)(m >> 8), idx.hi);
}

#define NBP_LANES_f64 8
typedef __m512d nbp_f64_V;
typedef __mmask8 nbp_f64_M;
typedef __m512i nbp_f64_I;
static inline nbp_f64_M nbp_f64_maskn(nbp_idx n) { return (__mmask8)((1u << n) - 1); }
static inline nbp_f64_V nbp_f64_load(const double* p) { return _mm512_loadu_pd(p); }
static inline nbp_f64_V nbp_f64_mload(nbp_f64_M m, const double* p) { return _mm512_maskz_loadu_pd(m, p); }
static inline void nbp_f64_store(double* p, nbp_f64_V v) { _mm512_storeu_pd(p, v); }
static inline void nbp_f64_mstore(double* p, nbp_f64_M m, nbp_f64_V v) { _mm512_mask_storeu_pd(p, m, v); }
static inline nbp_f64_V nbp_f64_set1(double a) { return _mm512_set1_pd(a); }
static inline nbp_f64_V nbp_f64_add(nbp_f64_V a, nbp_f64_V b) { return _mm512_add_pd(a, b); }
static inline nbp_f64_V nbp_f64_mul(nbp_f64_V a, nbp_f64_V b) { return _mm512_mul_pd(a, b); }
static inline nbp_f64_M nbp_f64_take(nbp_f64_V v, nbp_f64_V cur) {
    return _mm512_mask_cmp_pd_mask(_mm512_cmp_pd_mask(cur, cur, _CMP_ORD_Q), v, cur, _CMP_NLE_UQ);
}
static inline nbp_f64_V nbp_f64_blend(nbp_f64_M m, nbp_f64_V a, nbp_f64_V b) { return _mm512_mask_mov_pd(a, m, b); }
static inline nbp_f64_V nbp_f64_max(nbp_f64_V v, nbp_f64_V cur) { return _mm512_max_pd(v, cur); }
static inline nbp_f64_M nbp_f64_gt(nbp_f64_V v, nbp_f64_V cur) { return _mm512_cmp_pd_mask(v, cur, _CMP_GT_OQ); }
static inline nbp_f64_M nbp_f64_isnan(nbp_f64_V v) { return _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q); }
static inline nbp_f64_M nbp_f64_mor(nbp_f64_M a, nbp_f64_M b) { return a | b; }
static inline int nbp_f64_many(nbp_f64_M m) { return m != 0; }
static inline nbp_f64_I nbp_f64_iset1(int64_t k) { return _mm512_set1_epi64(k); }
static inline nbp_f64_I nbp_f64_iblend(nbp_f64_M m, nbp_f64_I idx, int64_t k) {
    return _mm512_mask_mov_epi64(idx, m, _mm512_set1_epi64(k));
}
static inline void nbp_f64_istore(int64_t* p, nbp_f64_I idx) { _mm512_storeu_si512(p, idx); }
static inline void nbp_f64_imstore(int64_t* p, nbp_f64_M m, nbp_f64_I idx) { _mm512_mask_storeu_epi64(p, m, idx); }

#elif defined(__AVX2__)

/* Masks are vectors of all-ones/all-zeros lanes.  An int64 index lane is as wide as
 * two float lanes: a float mask is widened (sign-extended) half by half. */
#define NBP_LANES_f32 8
typedef __m256 nbp_f32_V;
typedef __m256 nbp_f32_M;
typedef struct { __m256i lo, hi; } nbp_f32_I;       /* lanes 0-3 and 4-7 */
static inline nbp_f32_M nbp_f32_maskn(nbp_idx n) {
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)n),
                                                  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
}
static inline __m256i nbp_f32_mlo(nbp_f32_M m) {
    return _mm256_cvtepi32_epi64(_mm256_castsi256_si128(_mm256_castps_si256(m)));
}
static inline __m256i nbp_f32_mhi(nbp_f32_M m) {
    return _mm256_cvtepi32_epi64(_mm256_extracti128_si256(_mm256_castps_si256(m), 1));
}
static inline nbp_f32_V nbp_f32_load(const float* p) { return _mm256_loadu_ps(p); }
static inline nbp_f32_V nbp_f32_mload(nbp_f32_M m, const float* p) { return _mm256_maskload_ps(p, _mm256_castps_si256(m)); }
static inline void nbp_f32_store(float* p, nbp_f32_V v) { _mm256_storeu_ps(p, v); }
static inline void nbp_f32_mstore(float* p, nbp_f32_M m, nbp_f32_V v) { _mm256_maskstore_ps(p, _mm256_castps_si256(m), v); }
static inline nbp_f32_V nbp_f32_set1(float a) { return _mm256_set1_ps(a); }
static inline nbp_f32_V nbp_f32_add(nbp_f32_V a, nbp_f32_V b) { return _mm256_add_ps(a, b); }
static inline nbp_f32_V nbp_f32_mul(nbp_f32_V a, nbp_f32_V b) { return _mm256_mul_ps(a, b); }
static inline nbp_f32_M nbp_f32_take(nbp_f32_V v, nbp_f32_V cur) {
    return _mm256_and_ps(_mm256_cmp_ps(cur, cur, _CMP_ORD_Q), _mm256_cmp_ps(v, cur, _CMP_NLE_UQ));
}
static inline nbp_f32_V nbp_f32_blend(nbp_f32_M m, nbp_f32_V a, nbp_f32_V b) { return _mm256_blendv_ps(a, b, m); }
static inline nbp_f32_V nbp_f32_max(nbp_f32_V v, nbp_f32_V cur) { return _mm256_max_ps(v, cur); }
static inline nbp_f32_M nbp_f32_gt(nbp_f32_V v, nbp_f32_V cur) { return _mm256_cmp_ps(v, cur, _CMP_GT_OQ); }
static inline nbp_f32_M nbp_f32_isnan(nbp_f32_V v) { return _mm256_cmp_ps(v, v, _CMP_UNORD_Q); }
static inline nbp_f32_M nbp_f32_mor(nbp_f32_M a, nbp_f32_M b) { return _mm256_or_ps(a, b); }
static inline int nbp_f32_many(nbp_f32_M m) { return _mm256_movemask_ps(m) != 0; }
static inline nbp_f32_I nbp_f32_iset1(int64_t k) {
    nbp_f32_I r = {_mm256_set1_epi64x(k), _mm256_set1_epi64x(k)};
    return r;
}
static inline nbp_f32_I nbp_f32_iblend(nbp_f32_M m, nbp_f32_I idx, int64_t k) {
    __m256i kv = _mm256_set1_epi64x(k);
    idx.lo = _mm256_blendv_epi8(idx.lo, kv, nbp_f32_mlo(m));
    idx.hi = _mm256_blendv_epi8(idx.hi, kv, nbp_f32_mhi(m));
    return idx;
}
static inline void nbp_f32_istore(int64_t* p, nbp_f32_I idx) {
    _mm256_storeu_si256((__m256i*)p, idx.lo);
    _mm256_storeu_si256((__m256i*)(p + 4), idx.hi);
}
static inline void nbp_f32_imstore(int64_t* p, nbp_f32_M m, nbp_f32_I idx) {
    _mm256_maskstore_epi64((long long*)p, nbp_f32_mlo(m), idx.lo);
    _mm256_maskstore_epi64((long long*)(p + 4), nbp_f32_mhi(m), idx.hi);
}

#define NBP_LANES_f64 4
typedef __m256d nbp_f64_V;
typedef __m256d nbp_f64_M;
typedef __m256i nbp_f64_I;
static inline nbp_f64_M nbp_f64_maskn(nbp_idx n) {
    return _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3)));
}
static inline nbp_f64_V nbp_f64_load(const double* p) { return _mm256_loadu_pd(p); }
static inline nbp_f64_V nbp_f64_mload(nbp_f64_M m, const double* p) { return _mm256_maskload_pd(p, _mm256_castpd_si256(m)); }
static inline void nbp_f64_store(double* p, nbp_f64_V v) { _mm256_storeu_pd(p, v); }
static inline void nbp_f64_mstore(double* p, nbp_f64_M m, nbp_f64_V v) { _mm256_maskstore_pd(p, _mm256_castpd_si256(m), v); }
static inline nbp_f64_V nbp_f64_set1(double a) { return _mm256_set1_pd(a); }
static inline nbp_f64_V nbp_f64_add(nbp_f64_V a, nbp_f64_V b) { return _mm256_add_pd(a, b); }
static inline nbp_f64_V nbp_f64_mul(nbp_f64_V a, nbp_f64_V b) { return _mm256_mul_pd(a, b); }
static inline nbp_f64_M nbp_f64_take(nbp_f64_V v, nbp_f64_V cur) {
    return _mm256_and_pd(_mm256_cmp_pd(cur, cur, _CMP_ORD_Q), _mm256_cmp_pd(v, cur, _CMP_NLE_UQ));
}
static inline nbp_f64_V nbp_f64_blend(nbp_f64_M m, nbp_f64_V a, nbp_f64_V b) { return _mm256_blendv_pd(a, b, m); }
static inline nbp_f64_V nbp_f64_max(nbp_f64_V v, nbp_f64_V cur) { return _mm256_max_pd(v, cur); }
static inline nbp_f64_M nbp_f64_gt(nbp_f64_V v, nbp_f64_V cur) { return _mm256_cmp_pd(v, cur, _CMP_GT_OQ); }
static inline nbp_f64_M nbp_f64_isnan(nbp_f64_V v) { return _mm256_cmp_pd(v, v, _CMP_UNORD_Q); }
static inline nbp_f64_M nbp_f64_mor(nbp_f64_M a, nbp_f64_M b) { return _mm256_or_pd(a, b); }
static inline int nbp_f64_many(nbp_f64_M m) { return _mm256_movemask_pd(m) != 0; }
static inline nbp_f64_I nbp_f64_iset1(int64_t k) { return _mm256_set1_epi64x(k); }
static inline nbp_f64_I nbp_f64_iblend(nbp_f64_M m, nbp_f64_I idx, int64_t k) {
    return _mm256_blendv_epi8(idx, _mm256_set1_epi64x(k), _mm256_castpd_si256(m));
}
static inline void nbp_f64_istore(int64_t* p, nbp_f64_I idx) { _mm256_storeu_si256((__m256i*)p, idx); }
static inline void nbp_f64_imstore(int64_t* p, nbp_f64_M m, nbp_f64_I idx) {
    _mm256_maskstore_epi64((long long*)p, _mm256_castpd_si256(m), idx);
}

#else

/* Plain C: one-lane "vectors"; a mask is 0 or 1. */
#define NBP_PLAIN_C 1
#define NBP_SCALAR_TABLE(S, T)                                                           \
typedef T nbp_##S##_V;                                                                   \
typedef unsigned nbp_##S##_M;                                                            \
typedef int64_t nbp_##S##_I;                                                             \
static inline nbp_##S##_M nbp_##S##_maskn(nbp_idx n) { return n > 0; }                   \
static inline T nbp_##S##_load(const T* p) { return *p; }                                \
static inline T nbp_##S##_mload(nbp_##S##_M m, const T* p) { return m ? *p : 0; }        \
static inline void nbp_##S##_store(T* p, T v) { *p = v; }                                \
static inline void nbp_##S##_mstore(T* p, nbp_##S##_M m, T v) { if (m) *p = v; }         \
static inline T nbp_##S##_set1(T a) { return a; }                                        \
static inline T nbp_##S##_add(T a, T b) { return a + b; }                                \
static inline T nbp_##S##_mul(T a, T b) { return a * b; }                                \
static inline nbp_##S##_M nbp_##S##_take(T v, T cur) { return (cur == cur) & !(v <= cur); } \
static inline T nbp_##S##_blend(nbp_##S##_M m, T a, T b) { return m ? b : a; }           \
static inline T nbp_##S##_max(T v, T cur) { return v > cur ? v : cur; }                  \
static inline nbp_##S##_M nbp_##S##_gt(T v, T cur) { return v > cur; }                   \
static inline nbp_##S##_M nbp_##S##_isnan(T v) { return v != v; }                        \
static inline nbp_##S##_M nbp_##S##_mor(nbp_##S##_M a, nbp_##S##_M b) { return a | b; }  \
static inline int nbp_##S##_many(nbp_##S##_M m) { return m != 0; }                       \
static inline int64_t nbp_##S##_iset1(int64_t k) { return k; }                           \
static inline int64_t nbp_##S##_iblend(nbp_##S##_M m, int64_t idx, int64_t k) { return m ? k : idx; } \
static inline void nbp_##S##_istore(int64_t* p, int64_t idx) { *p = idx; }               \
static inline void nbp_##S##_imstore(int64_t* p, nbp_##S##_M m, int64_t idx) { if (m) *p = idx; }
#define NBP_LANES_f32 1
#define NBP_LANES_f64 1
NBP_SCALAR_TABLE(f32, float)
NBP_SCALAR_TABLE(f64, double)

#endif

/* ------------------------------------------------------------- the kernels */

/* The window's in-bounds cells in row-major order, each loaded into v (flat index
 * r*W + col) and given to UPDATE, from cur = -inf and idx = the first cell. */
#define NBP_MAX_TAPS(S, LOAD_, UPDATE) do {                                              \
    cur = nbp_##S##_set1(-INFINITY);                                                     \
    idx = nbp_##S##_iset1((g->r0 + g->a_lo * g->dh) * W + c0 + b_lo * g->dw);            \
    for (a = g->a_lo; a < g->a_hi; a++) {                                                \
        r = g->r0 + a * g->dh;                                                           \
        for (b = b_lo; b < b_hi; b++) {                                                  \
            col = c0 + b * g->dw;                                                        \
            v = LOAD_(x + (r * W + col) * C + c);                                        \
            UPDATE;                                                                      \
        }                                                                                \
    }                                                                                    \
} while (0)

/* One block of channels [c, c + LANES) of output pixel y_px (window rows [a_lo, a_hi),
 * columns [b_lo, b_hi)); LOAD_ / STORE_ / ISTORE_ are the plain or the masked forms.
 * The common case runs `cur = max(v, cur)`, one short operation on the dependency
 * chain from tap to tap (the exact rule's compare, masked compare and select made
 * the 3x3 windows compute-bound), and moves idx where v > cur, strictly, so ties
 * keep the first cell; a NaN loses both there, so the loop notes whether one was
 * read, and only then does the block again with the exact rule (take, above). */
#define NBP_MAX_BLOCK(S, LOAD_, STORE_, ISTORE_) do {                                    \
    nbp_##S##_V cur, v;                                                                  \
    nbp_##S##_I idx;                                                                     \
    nbp_##S##_M t, nan = nbp_##S##_isnan(nbp_##S##_set1(0));    /* no lane */           \
    NBP_MAX_TAPS(S, LOAD_, (t = nbp_##S##_gt(v, cur), cur = nbp_##S##_max(v, cur),       \
                            idx = nbp_##S##_iblend(t, idx, r * W + col),                 \
                            nan = nbp_##S##_mor(nan, nbp_##S##_isnan(v))));              \
    if (nbp_##S##_many(nan))                                                             \
        NBP_MAX_TAPS(S, LOAD_, (t = nbp_##S##_take(v, cur),                              \
                                cur = nbp_##S##_blend(t, cur, v),                        \
                                idx = nbp_##S##_iblend(t, idx, r * W + col)));           \
    STORE_(y_px + c, cur);                                                               \
    ISTORE_(am_px + c, idx);                                                             \
} while (0)

#define NBP_AVG_BLOCK(S, LOAD_, STORE_) do {                                             \
    nbp_##S##_V acc = nbp_##S##_set1(0);                                                 \
    for (a = g->a_lo; a < g->a_hi; a++) {                                                \
        r = g->r0 + a * g->dh;                                                           \
        for (b = b_lo; b < b_hi; b++)                                                    \
            acc = nbp_##S##_add(acc, LOAD_(x + (r * W + c0 + b * g->dw) * C + c));       \
    }                                                                                    \
    STORE_(y_px + c, nbp_##S##_mul(scale, acc));                                         \
} while (0)

#define NBP_DEFINE(S, T)                                                                 \
static inline void nbp_max_row_##S(const T* x, T* y, int64_t* am, const nbp_row* g) {    \
    const nbp_idx W = g->W, C = g->C, L = NBP_LANES_##S, full = C - C % L;               \
    const nbp_##S##_M tail = nbp_##S##_maskn(C % L);                                     \
    nbp_idx j, c, c0, b_lo, b_hi, a, b, r, col;                                          \
    T* y_px;                                                                             \
    int64_t* am_px;                                                                      \
    for (j = 0; j < g->Wo; j++) {                                                        \
        c0 = j * g->sw - g->pl;                                                          \
        b_lo = nbp_first_tap(c0, g->dw);                                                 \
        b_hi = nbp_end_tap(c0, g->dw, g->kw, W);                                         \
        y_px = y + j * C;                                                                \
        am_px = am + j * C;                                                              \
        if (g->a_lo >= g->a_hi || b_lo >= b_hi) {  /* the window lies wholly in padding */ \
            for (c = 0; c < C; c++) {                                                    \
                y_px[c] = -INFINITY;                                                     \
                am_px[c] = -1;                                                           \
            }                                                                            \
            continue;                                                                    \
        }                                                                                \
        for (c = 0; c < full; c += L)                                                    \
            NBP_MAX_BLOCK(S, nbp_##S##_load, nbp_##S##_store, nbp_##S##_istore);         \
        if (c < C) {                                                                     \
            NBP_MAX_BLOCK(S, nbp_##S##_mload_tail, nbp_##S##_mstore_tail,                \
                          nbp_##S##_imstore_tail);                                       \
        }                                                                                \
    }                                                                                    \
}

/* avg_pool2d's row: with vectors, a block's sum stays in a register (NBP_AVG_BLOCK);
 * in plain C the channel loop is innermost, so the compiler vectorises it for its
 * baseline (SSE2): a one-lane register sum measured 2.8x slower there.  Same order
 * of additions either way. */
#ifdef NBP_PLAIN_C
#define NBP_DEFINE_AVG(S, T)                                                             \
static inline void nbp_avg_row_##S(const T* x, T* y, const nbp_row* g, T scale) {        \
    const nbp_idx W = g->W, C = g->C;                                                    \
    nbp_idx j, c, c0, b_lo, b_hi, a, b;                                                  \
    const T* x_px;                                                                       \
    T* y_px;                                                                             \
    for (j = 0; j < g->Wo; j++) {                                                        \
        c0 = j * g->sw - g->pl;                                                          \
        b_lo = nbp_first_tap(c0, g->dw);                                                 \
        b_hi = nbp_end_tap(c0, g->dw, g->kw, W);                                         \
        y_px = y + j * C;                                                                \
        for (c = 0; c < C; c++)                                                          \
            y_px[c] = 0;                                                                 \
        for (a = g->a_lo; a < g->a_hi; a++)                                              \
            for (b = b_lo; b < b_hi; b++) {                                              \
                x_px = x + ((g->r0 + a * g->dh) * W + c0 + b * g->dw) * C;               \
                for (c = 0; c < C; c++)                                                  \
                    y_px[c] += x_px[c];                                                  \
            }                                                                            \
        for (c = 0; c < C; c++)                                                          \
            y_px[c] = scale * y_px[c];                                                   \
    }                                                                                    \
}
#else
#define NBP_DEFINE_AVG(S, T)                                                             \
static inline void nbp_avg_row_##S(const T* x, T* y, const nbp_row* g, T scale_) {       \
    const nbp_idx W = g->W, C = g->C, L = NBP_LANES_##S, full = C - C % L;               \
    const nbp_##S##_M tail = nbp_##S##_maskn(C % L);                                     \
    const nbp_##S##_V scale = nbp_##S##_set1(scale_);                                    \
    nbp_idx j, c, c0, b_lo, b_hi, a, b, r;                                               \
    T* y_px;                                                                             \
    for (j = 0; j < g->Wo; j++) {                                                        \
        c0 = j * g->sw - g->pl;                                                          \
        b_lo = nbp_first_tap(c0, g->dw);                                                 \
        b_hi = nbp_end_tap(c0, g->dw, g->kw, W);                                         \
        y_px = y + j * C;                                                                \
        for (c = 0; c < full; c += L)                                                    \
            NBP_AVG_BLOCK(S, nbp_##S##_load, nbp_##S##_store);                           \
        if (c < C)                                                                       \
            NBP_AVG_BLOCK(S, nbp_##S##_mload_tail, nbp_##S##_mstore_tail);               \
    }                                                                                    \
}
#endif

/* The masked forms of the tail block, with the tail mask `tail` of the enclosing kernel. */
#define nbp_f32_mload_tail(p) nbp_f32_mload(tail, p)
#define nbp_f32_mstore_tail(p, v) nbp_f32_mstore(p, tail, v)
#define nbp_f32_imstore_tail(p, i) nbp_f32_imstore(p, tail, i)
#define nbp_f64_mload_tail(p) nbp_f64_mload(tail, p)
#define nbp_f64_mstore_tail(p, v) nbp_f64_mstore(p, tail, v)
#define nbp_f64_imstore_tail(p, i) nbp_f64_imstore(p, tail, i)

NBP_DEFINE(f32, float)
NBP_DEFINE(f64, double)
NBP_DEFINE_AVG(f32, float)
NBP_DEFINE_AVG(f64, double)

#endif
