/* Ends one instantiation of the vector-operation table (_vec_f32.h, _vec_f64.h): included after
 * each set of kernels, so the next dtype or instruction set can define the table afresh.
 * (Deliberately without an include guard.) */
#undef LANES
#undef SET1
#undef FMADD
#undef SETZERO
#undef LOADU
#undef STOREU
#undef MSTOREU
#undef MLOADU
#undef MASKN
#undef MASKR
