# cython: language_level=3
"""Feed-forward network evaluation shared by the kernels (tables from nanomc.potential.tables).

An element without layers (the vacancy X, the last element index) has energy 0 and no gradient.
Many atoms of one element are evaluated together (nn_batch_energies): each layer is one matrix
product (BLAS dgemm of the OpenBLAS that SciPy ships, which picks SIMD kernels for the CPU at
run time), in batches small enough that OpenBLAS stays on one thread.
"""
cimport numpy as cnp
from scipy.linalg.cython_blas cimport dgemm
from libc.math cimport exp, log1p, cos, sin, fabs, copysign


cdef struct NNTables:
    long n_el
    long max_width
    const long* lay_ptr      # (n_el+1,) layers of element c
    const long* lay_nin
    const long* lay_nout
    const long* lay_act      # codes of nanomc.potential.network.ACTIVATIONS
    const double* lay_twist
    const long* lay_woff     # offset of the layer's weights, stored transposed (n_in, n_out)
    const long* lay_boff
    const double* weights
    const double* biases
    const long* sc_off       # (n_el+1,) offsets into shift/scale
    const double* shift
    const double* scale
    const double* e0


cdef inline NNTables nn_tables_from(dict t):
    """Point an NNTables at the arrays of a table dict (the dict must outlive the struct)."""
    cdef NNTables s
    s.n_el = t["n_el"]
    s.max_width = t["max_width"]
    s.lay_ptr = <const long*> cnp.PyArray_DATA(t["lay_ptr"])
    s.lay_nin = <const long*> cnp.PyArray_DATA(t["lay_nin"])
    s.lay_nout = <const long*> cnp.PyArray_DATA(t["lay_nout"])
    s.lay_act = <const long*> cnp.PyArray_DATA(t["lay_act"])
    s.lay_twist = <const double*> cnp.PyArray_DATA(t["lay_twist"])
    s.lay_woff = <const long*> cnp.PyArray_DATA(t["lay_woff"])
    s.lay_boff = <const long*> cnp.PyArray_DATA(t["lay_boff"])
    s.weights = <const double*> cnp.PyArray_DATA(t["weights"])
    s.biases = <const double*> cnp.PyArray_DATA(t["biases"])
    s.sc_off = <const long*> cnp.PyArray_DATA(t["sc_off"])
    s.shift = <const double*> cnp.PyArray_DATA(t["shift"])
    s.scale = <const double*> cnp.PyArray_DATA(t["scale"])
    s.e0 = <const double*> cnp.PyArray_DATA(t["e0"])
    return s


cdef inline double fast_tanh(double x) noexcept nogil:
    """tanh x with one exp instead of libm's expm1-based tanh, relative error below 3e-15:
    (1 − t)/(1 + t) with t = e^(−2|x|) for 0.02 <= |x| < 20; the series
    x − x³/3 + 2x⁵/15 − 17x⁷/315 + 62x⁹/2835 below 0.02 (where 1 − t would cancel); ±1 beyond 20."""
    cdef double a = fabs(x), t, x2
    if a < 0.02:
        x2 = x * x
        return x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0 + x2 * (62.0 / 2835.0)))))
    if a >= 20.0:
        return copysign(1.0, x)
    t = exp(-2.0 * a)
    return copysign((1.0 - t) / (1.0 + t), x)


cdef inline double activate(long act, double x, double twist) noexcept nogil:
    """Activation `act` (nanomc.potential.network.ACTIVATIONS) of x; twist: a of twisted tanh."""
    if act == 1:
        return fast_tanh(x)
    if act == 0:
        return x
    if act == 2:
        return 1.0 / (1.0 + exp(-x))
    if act == 3:
        return 1.7159 * fast_tanh(2.0 * x / 3.0) + twist * x
    if act == 4:  # softplus ln(1 + e^x), without overflow
        return (x if x > 0.0 else 0.0) + log1p(exp(-fabs(x)))
    if act == 5:
        return x if x > 0.0 else 0.0
    if act == 6:
        return exp(-0.5 * x * x)
    if act == 7:
        return cos(x)
    if act == 8:  # 1 − 1/(1 + e^−x)
        return 1.0 - 1.0 / (1.0 + exp(-x))
    if act == 9:
        return exp(-x)
    return x * x  # 10: harmonic


cdef inline double activate_slope(long act, double x, double y, double twist) noexcept nogil:
    """Derivative d act/dx at x of activation `act`, given y = activate(act, x, twist)."""
    cdef double t
    if act == 1:
        return 1.0 - y * y
    if act == 0:
        return 1.0
    if act == 2:
        return y * (1.0 - y)
    if act == 3:
        t = fast_tanh(2.0 * x / 3.0)
        return 1.7159 * (2.0 / 3.0) * (1.0 - t * t) + twist
    if act == 4:  # the sigmoid 1/(1 + e^−x)
        return 1.0 / (1.0 + exp(-x))
    if act == 5:
        return 1.0 if x > 0.0 else 0.0
    if act == 6:
        return -x * y
    if act == 7:
        return -sin(x)
    if act == 8:
        return -y * (1.0 - y)
    if act == 9:
        return -y
    return 2.0 * x  # 10: harmonic


cdef inline long nn_max_layers(const NNTables* s) noexcept nogil:
    """Largest number of layers of any element's network."""
    cdef long c, n = 0
    for c in range(s.n_el):
        if s.lay_ptr[c + 1] - s.lay_ptr[c] > n:
            n = s.lay_ptr[c + 1] - s.lay_ptr[c]
    return n


cdef inline double nn_forward(const NNTables* s, long c, const double* g, double* buf,
                              double* slopes) noexcept nogil:
    """Network output (eV, without E0) of a c atom with raw descriptors g (scaled here).

    buf must hold 2 * max_width doubles. slopes: NULL, or room for (layers of c) * max_width
    doubles that receive d act/dz of every node, layer l of c at slopes[l * max_width].
    """
    cdef double* x = buf
    cdef double* y = buf + s.max_width
    cdef double* tmp
    cdef double* slope
    cdef double acc
    cdef const double* w
    cdef long L, i, o, n_in, n_out, off = s.sc_off[c]
    n_in = s.sc_off[c + 1] - off
    for i in range(n_in):
        x[i] = (g[i] - s.shift[off + i]) * s.scale[off + i]
    for L in range(s.lay_ptr[c], s.lay_ptr[c + 1]):
        n_in = s.lay_nin[L]
        n_out = s.lay_nout[L]
        for o in range(n_out):
            y[o] = s.biases[s.lay_boff[L] + o]
        for i in range(n_in):
            w = s.weights + s.lay_woff[L] + i * n_out
            acc = x[i]
            for o in range(n_out):
                y[o] += w[o] * acc
        if slopes != NULL:
            slope = slopes + (L - s.lay_ptr[c]) * s.max_width
            for o in range(n_out):
                acc = activate(s.lay_act[L], y[o], s.lay_twist[L])
                slope[o] = activate_slope(s.lay_act[L], y[o], acc, s.lay_twist[L])
                y[o] = acc
        else:
            for o in range(n_out):
                y[o] = activate(s.lay_act[L], y[o], s.lay_twist[L])
        tmp = x
        x = y
        y = tmp
    return x[0]


cdef inline double nn_atomic_energy(const NNTables* s, long c, const double* g,
                                    double* buf) noexcept nogil:
    """Atomic energy (eV) of a c atom with raw descriptors g: NN_c(scaled g) + E0_c; 0 for an
    element without layers (a vacancy).

    buf must hold 2 * max_width doubles.
    """
    if s.lay_ptr[c] == s.lay_ptr[c + 1]:
        return 0.0
    return nn_forward(s, c, g, buf, NULL) + s.e0[c]


cdef inline double nn_energy_gradient(const NNTables* s, long c, const double* g, double* work,
                                      double* grad) noexcept nogil:
    """Atomic energy (eV) of a c atom with raw descriptors g, and grad[k] = dE/dg[k] (eV per
    unit of descriptor k: back-propagation through the layers and the scaling). An element
    without layers (a vacancy) has energy 0 and no descriptors: nothing is written to grad.

    work must hold (2 + nn_max_layers) * max_width doubles.
    """
    cdef double* slopes = work + 2 * s.max_width
    cdef double* delta = work
    cdef double* prev = work + s.max_width
    cdef double* tmp
    cdef const double* w
    cdef double acc, energy
    cdef long L, i, o, n_in, n_out, first = s.lay_ptr[c], off = s.sc_off[c]
    if first == s.lay_ptr[c + 1]:
        return 0.0
    energy = nn_forward(s, c, g, work, slopes) + s.e0[c]
    # delta: dE/dz of the nodes of layer L (z before the activation); one output
    L = s.lay_ptr[c + 1] - 1
    delta[0] = slopes[(L - first) * s.max_width]
    while L >= first:
        n_in = s.lay_nin[L]
        n_out = s.lay_nout[L]
        for i in range(n_in):
            w = s.weights + s.lay_woff[L] + i * n_out
            acc = 0.0
            for o in range(n_out):
                acc += w[o] * delta[o]
            prev[i] = acc if L == first else acc * slopes[(L - 1 - first) * s.max_width + i]
        tmp = delta
        delta = prev
        prev = tmp
        L -= 1
    for i in range(s.sc_off[c + 1] - off):
        grad[i] = delta[i] * s.scale[off + i]
    return energy


cdef enum:
    # multiply-adds per dgemm call above which OpenBLAS may start threads; batches stay below it
    BATCH_MACS = 131072


cdef inline long nn_batch_size(const NNTables* s) noexcept nogil:
    """Atoms per nn_batch_energies call (and rows of its scratch): at least 1, at most BATCH_MACS
    multiply-adds in any layer's matrix product."""
    cdef long L, macs = 1
    for L in range(s.lay_ptr[s.n_el]):
        if s.lay_nin[L] * s.lay_nout[L] > macs:
            macs = s.lay_nin[L] * s.lay_nout[L]
    return max(1, BATCH_MACS // macs)


cdef inline void nn_batch_energies(const NNTables* s, long c, long n, const long* rows, const double* G,
                                   long ldg, double* out, double* work) noexcept nogil:
    """out[r] = atomic energy (eV) of a c atom with raw descriptors G[rows[r]*ldg :], r < n, n at
    most nn_batch_size; 0 for an element without layers. work: 2 * n * max_width doubles."""
    cdef long L, r, i, o, n_in, n_out, off = s.sc_off[c]
    cdef int m_, n_, k_
    cdef double one = 1.0
    cdef double* x = work
    cdef double* y = work + n * s.max_width
    cdef double* tmp
    cdef const double* g
    if s.lay_ptr[c] == s.lay_ptr[c + 1] or n == 0:
        for r in range(n):
            out[r] = 0.0
        return
    n_in = s.sc_off[c + 1] - off
    for r in range(n):
        g = G + rows[r] * ldg
        for i in range(n_in):
            x[r * n_in + i] = (g[i] - s.shift[off + i]) * s.scale[off + i]
    for L in range(s.lay_ptr[c], s.lay_ptr[c + 1]):
        n_in = s.lay_nin[L]
        n_out = s.lay_nout[L]
        for r in range(n):
            for o in range(n_out):
                y[r * n_out + o] = s.biases[s.lay_boff[L] + o]
        # row-major y (n × n_out) += x (n × n_in) · W (n_in × n_out), as column-major yᵀ += Wᵀ xᵀ
        m_, n_, k_ = n_out, n, n_in
        dgemm("N", "N", &m_, &n_, &k_, &one, <double*> (s.weights + s.lay_woff[L]), &m_, x, &k_, &one, y, &m_)
        for i in range(n * n_out):
            y[i] = activate(s.lay_act[L], y[i], s.lay_twist[L])
        tmp = x
        x = y
        y = tmp
    for r in range(n):
        out[r] = x[r] + s.e0[c]
