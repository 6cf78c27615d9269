# cython: language_level=3
"""Symmetry-function math shared by the full-evaluation kernel and the incremental engine.

The tables (built by nanomc.potential.tables) list, for every central element c and
neighbour element e (radial) or unordered neighbour-element pair p (angular), the range of
functions that apply and the position of each in the atom's descriptor vector.
"""
cimport numpy as cnp
from libc.math cimport exp, cos, pow, M_PI


cdef struct SFTables:
    long n_el
    long n_pairs
    double rc
    const long* n_desc       # (n_el,)
    const long* pair_slot    # (n_el*n_el,) unordered pair index of (a, b)
    const long* rad_ptr      # (n_el*n_el + 1,) functions of central c, neighbour e
    const double* rad_eta
    const double* rad_rs
    const long* rad_out
    const long* ang_ptr      # (n_el*n_pairs + 1,) functions of central c, pair p
    const double* ang_eta
    const double* ang_zeta
    const double* ang_lam
    const double* ang_pref   # 2^(1-ζ)
    const long* ang_izeta    # ζ if integral, else -1
    const long* ang_out


cdef inline SFTables sf_tables_from(dict t):
    """Point an SFTables at the arrays of a table dict (the dict must outlive the struct)."""
    cdef SFTables s
    s.n_el = t["n_el"]
    s.n_pairs = t["n_pairs"]
    s.rc = t["rc"]
    s.n_desc = <const long*> cnp.PyArray_DATA(t["n_desc"])
    s.pair_slot = <const long*> cnp.PyArray_DATA(t["pair_slot"])
    s.rad_ptr = <const long*> cnp.PyArray_DATA(t["rad_ptr"])
    s.rad_eta = <const double*> cnp.PyArray_DATA(t["rad_eta"])
    s.rad_rs = <const double*> cnp.PyArray_DATA(t["rad_rs"])
    s.rad_out = <const long*> cnp.PyArray_DATA(t["rad_out"])
    s.ang_ptr = <const long*> cnp.PyArray_DATA(t["ang_ptr"])
    s.ang_eta = <const double*> cnp.PyArray_DATA(t["ang_eta"])
    s.ang_zeta = <const double*> cnp.PyArray_DATA(t["ang_zeta"])
    s.ang_lam = <const double*> cnp.PyArray_DATA(t["ang_lam"])
    s.ang_pref = <const double*> cnp.PyArray_DATA(t["ang_pref"])
    s.ang_izeta = <const long*> cnp.PyArray_DATA(t["ang_izeta"])
    s.ang_out = <const long*> cnp.PyArray_DATA(t["ang_out"])
    return s


cdef inline double cutoff_fn(double r, double rc) noexcept nogil:
    """Cosine cutoff ½[cos(πr/R_c) + 1] for r < R_c, else 0."""
    if r >= rc:
        return 0.0
    return 0.5 * (cos(M_PI * r / rc) + 1.0)


cdef inline double ipow(double x, long n) noexcept nogil:
    """x**n for integer n >= 0 by repeated squaring."""
    cdef double result = 1.0
    while n > 0:
        if n & 1:
            result *= x
        x *= x
        n >>= 1
    return result


cdef inline void sf_add_pair(const SFTables* s, long c, long e, double r, double fc,
                             double sign, double* out) noexcept nogil:
    """Add sign × the radial terms of one neighbour (element e, distance r, f_c) of a c atom."""
    cdef long f, k = c * s.n_el + e
    cdef double d
    for f in range(s.rad_ptr[k], s.rad_ptr[k + 1]):
        d = r - s.rad_rs[f]
        out[s.rad_out[f]] += sign * exp(-s.rad_eta[f] * d * d) * fc


cdef inline void sf_add_triplet(const SFTables* s, long c, long ea, long eb, double cos_t,
                                double r2sum, double fprod, double sign, double* out) noexcept nogil:
    """Add sign × the angular terms of one neighbour pair (elements ea, eb) of a c atom.

    cos_t = cos θ, r2sum = R_ij² + R_ik² + R_jk², fprod = f_c(R_ij) f_c(R_ik) f_c(R_jk).
    """
    cdef long f, k = c * s.n_pairs + s.pair_slot[ea * s.n_el + eb]
    cdef double base, last_eta = -1.0, radial = 0.0, ang
    for f in range(s.ang_ptr[k], s.ang_ptr[k + 1]):
        base = 1.0 + s.ang_lam[f] * cos_t
        if base <= 0.0:
            continue
        if s.ang_eta[f] != last_eta:
            last_eta = s.ang_eta[f]
            radial = exp(-last_eta * r2sum) * fprod
        if s.ang_izeta[f] >= 0:
            ang = ipow(base, s.ang_izeta[f])
        else:
            ang = pow(base, s.ang_zeta[f])
        out[s.ang_out[f]] += sign * s.ang_pref[f] * ang * radial
