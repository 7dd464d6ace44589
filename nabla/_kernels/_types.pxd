# The one fused type of nabla's kernels: every kernel is compiled for float32
# (``float``) and float64 (``double``), and a ``def`` taking ``floating``
# memoryviews dispatches on the dtype of the arrays it is given.
ctypedef fused floating:
    float
    double
