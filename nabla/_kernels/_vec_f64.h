/* The vector-operation table for double, for the instruction set the compiler targets
 * (AVX-512: bit masks; AVX2 + FMA: vector masks, vmaskmov loads and stores, which never
 * touch the masked-off lanes' memory): LANES, SET1, FMADD, SETZERO, LOADU, STOREU,
 * MSTOREU, MLOADU, MASKN, MASKR.  A header writes its kernels once as macros over these
 * names, includes this file, instantiates them, and includes _vec_undef.h, so the next dtype
 * can define the table afresh (used by _microkernels.h and _depthwise.h; deliberately
 * without an include guard).  Needs immintrin.h and AVX-512F or AVX2 + FMA. */
#if defined(__AVX512F__)
#define LANES 8
#define SET1 _mm512_set1_pd
#define FMADD _mm512_fmadd_pd
#define SETZERO _mm512_setzero_pd
#define LOADU _mm512_loadu_pd
#define STOREU _mm512_storeu_pd
#define MSTOREU _mm512_mask_storeu_pd
#define MLOADU _mm512_maskz_loadu_pd
#define MASKN(n) ((__mmask8)((1ull << (n)) - 1))
#define MASKR(a, b) ((__mmask8)(MASKN(b) & ~MASKN(a)))   /* lanes [a, b), 0 <= a, b <= LANES */
#else
#define LANES 4
#define SET1 _mm256_set1_pd
#define FMADD _mm256_fmadd_pd
#define SETZERO _mm256_setzero_pd
#define LOADU _mm256_loadu_pd
#define STOREU _mm256_storeu_pd
#define MSTOREU(p, m, v) _mm256_maskstore_pd((p), (m), (v))
#define MLOADU(m, p) _mm256_maskload_pd((p), (m))
#define MASKN(n) _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)(n)),             \
                                    _mm256_setr_epi64x(0, 1, 2, 3))
#define MASKR(a, b) _mm256_andnot_si256(MASKN(a), MASKN(b))   /* lanes [a, b) */
#endif
