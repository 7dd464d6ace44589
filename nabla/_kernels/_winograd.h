/* Winograd F(4x4, 3x3) convolution transforms (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", CVPR 2016), for nabla's 3x3 stride-1 conv2d.
 *
 * A 4x4 tile of outputs Y of one image needs the 6x6 input patch d whose top-left
 * is at (4*ty - pt, 4*tx - pl).  With the 6x6 transforms of the input, V = B^T d B,
 * and of the filter, U = G g G^T (per input channel c and output channel o):
 *
 *     Y = A^T [ sum_c U[c, o] (.) V[c] ] A        ((.) elementwise over the 36 points)
 *
 * so the 36 points xi = (i, j) are 36 independent matrix products M[xi] (tiles x O)
 * = V[xi] (tiles x C) @ U[xi] (C x O): 36 multiply-adds per tile and channel pair
 * instead of the direct form's 16 * 9 = 144.  conv.pyx runs those products with the
 * register-blocked micro-kernel of _microkernels.h (as 1x1 convolutions over "pixels"
 * that are tiles); this file holds the two data transforms, written once in plain
 * C with the channel loop innermost (contiguous in NHWC), which the compiler
 * vectorises for whichever instruction set it targets.  The filter transform is done
 * in float64 by conv.pyx.
 *
 * Interpolation points 0, +-1, +-2, +-1/2 (the matrices of Lavin & Gray):
 *   B^T = [4  0 -5  0 1 0;  0 -4 -4  1 1 0;  0 4 -4 -1 1 0;
 *          0 -2 -1  2 1 0;  0  2 -1 -2 1 0;  0 4  0 -5 0 1]
 *   A^T = [1 1  1 1  1 0;  0 1 -1 2 -2 0;  0 1 1 4 4 0;  0 1 -1 8 -8 1]
 * Rounding grows with the transforms' magnitudes (entries up to 8 in A, 5 in B): in
 * float32 the error is about 1e-6 of max|y| on unit-scale data (measured in
 * benchmarks/results), against about 1e-7 for the direct form.
 */
#ifndef NABLA_WINOGRAD_H
#define NABLA_WINOGRAD_H

#include <stddef.h>

typedef ptrdiff_t nb_widx;

#define NB_WINO_CB 64     /* channels transformed at a time (temporaries stay in L1) */

/* B^T applied to six values (one column or row of a patch). */
#define NB_WINO_BT(d0, d1, d2, d3, d4, d5, t0, t1, t2, t3, t4, t5) do {           \
        t0 = 4 * (d0) - 5 * (d2) + (d4);                                            \
        t1 = -4 * ((d1) + (d2)) + (d3) + (d4);                                      \
        t2 = 4 * ((d1) - (d2)) - (d3) + (d4);                                       \
        t3 = 2 * ((d3) - (d1)) - (d2) + (d4);                                       \
        t4 = 2 * ((d1) - (d3)) - (d2) + (d4);                                       \
        t5 = 4 * (d1) - 5 * (d3) + (d5);                                            \
    } while (0)

/* A^T applied to six values. */
#define NB_WINO_AT(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3) do {                   \
        o0 = (m0) + ((m1) + (m2)) + ((m3) + (m4));                                  \
        o1 = ((m1) - (m2)) + 2 * ((m3) - (m4));                                     \
        o2 = ((m1) + (m2)) + 4 * ((m3) + (m4));                                     \
        o3 = ((m1) - (m2)) + 8 * ((m3) - (m4)) + (m5);                              \
    } while (0)

/* V[xi * vs + 0 .. C) = (B^T d B)[xi] for the patch of image x (H, W, C) whose
 * top-left is at (r0, c0); cells outside the image read as zero. */
#define NB_DEFINE_WINO_INPUT(NAME, T)                                               \
static inline void NAME(const T *x, nb_widx H, nb_widx W, nb_widx C, nb_widx r0,    \
                        nb_widx c0, T *V, nb_widx vs, const T *zeros)               \
{                                                                                   \
    const T *d[6][6];                                                               \
    for (int i = 0; i < 6; i++)                                                     \
        for (int j = 0; j < 6; j++) {                                               \
            const nb_widx r = r0 + i, c = c0 + j;                                   \
            d[i][j] = (r >= 0 && r < H && c >= 0 && c < W) ? x + (r * W + c) * C : zeros; \
        }                                                                           \
    T t[6][6][NB_WINO_CB];                                                          \
    for (nb_widx k0 = 0; k0 < C; k0 += NB_WINO_CB) {                                \
        const nb_widx n = C - k0 < NB_WINO_CB ? C - k0 : NB_WINO_CB;                \
        for (int j = 0; j < 6; j++) {         /* columns: t = B^T d */              \
            const T *a = d[0][j] + k0, *b = d[1][j] + k0, *c = d[2][j] + k0;        \
            const T *e = d[3][j] + k0, *f = d[4][j] + k0, *g = d[5][j] + k0;        \
            _Pragma("GCC ivdep")                                                    \
            for (nb_widx k = 0; k < n; k++)                                         \
                NB_WINO_BT(a[k], b[k], c[k], e[k], f[k], g[k], t[0][j][k],          \
                           t[1][j][k], t[2][j][k], t[3][j][k], t[4][j][k], t[5][j][k]); \
        }                                                                           \
        for (int i = 0; i < 6; i++) {         /* rows: V = t B */                   \
            T *v = V + i * 6 * vs + k0;                                             \
            _Pragma("GCC ivdep")                                                    \
            for (nb_widx k = 0; k < n; k++)                                         \
                NB_WINO_BT(t[i][0][k], t[i][1][k], t[i][2][k], t[i][3][k], t[i][4][k], \
                           t[i][5][k], v[k], v[vs + k], v[2 * vs + k], v[3 * vs + k], \
                           v[4 * vs + k], v[5 * vs + k]);                           \
        }                                                                           \
    }                                                                               \
}

/* y[(r0 + i, c0 + j)][0 .. O) = (A^T M A)[i][j] for i < nr <= 4, j < nc <= 4, from
 * M[xi * ms + 0 .. O); y is an image (., W, O).  Returns 0 if every output written is
 * finite, NaN otherwise (the sum of o * 0: an inf or NaN input spreads over the
 * whole tile in the transformed domain, so the caller then recomputes directly). */
#define NB_DEFINE_WINO_OUTPUT(NAME, T)                                              \
static inline T NAME(const T *M, nb_widx ms, nb_widx O, T *y, nb_widx W,            \
                     nb_widx r0, nb_widx c0, int nr, int nc)                        \
{                                                                                   \
    T t[6][4][NB_WINO_CB];                                                          \
    T poison = 0;                                                                   \
    for (nb_widx k0 = 0; k0 < O; k0 += NB_WINO_CB) {                                \
        const nb_widx n = O - k0 < NB_WINO_CB ? O - k0 : NB_WINO_CB;                \
        for (int i = 0; i < 6; i++) {         /* rows: t = M A */                   \
            const T *m = M + i * 6 * ms + k0;                                       \
            _Pragma("GCC ivdep")                                                    \
            for (nb_widx k = 0; k < n; k++)                                         \
                NB_WINO_AT(m[k], m[ms + k], m[2 * ms + k], m[3 * ms + k], m[4 * ms + k], \
                           m[5 * ms + k], t[i][0][k], t[i][1][k], t[i][2][k], t[i][3][k]); \
        }                                                                           \
        for (int j = 0; j < nc; j++) {        /* columns: y = A^T t */              \
            T *y0 = y + (r0 * W + c0 + j) * O + k0;                                 \
            T o0, o1, o2, o3;                                                       \
            _Pragma("GCC ivdep")                                                    \
            for (nb_widx k = 0; k < n; k++) {                                       \
                NB_WINO_AT(t[0][j][k], t[1][j][k], t[2][j][k], t[3][j][k], t[4][j][k], \
                           t[5][j][k], o0, o1, o2, o3);                             \
                y0[k] = o0;                                                         \
                if (nr > 1) y0[W * O + k] = o1;                                     \
                if (nr > 2) y0[2 * W * O + k] = o2;                                 \
                if (nr > 3) y0[3 * W * O + k] = o3;                                 \
                poison += (o0 + o1 + o2 + o3) * 0;                                  \
            }                                                                       \
        }                                                                           \
    }                                                                               \
    return poison;                                                                  \
}

NB_DEFINE_WINO_INPUT(nb_wino_input_f32, float)
NB_DEFINE_WINO_INPUT(nb_wino_input_f64, double)
NB_DEFINE_WINO_OUTPUT(nb_wino_output_f32, float)
NB_DEFINE_WINO_OUTPUT(nb_wino_output_f64, double)

#endif  /* NABLA_WINOGRAD_H */
