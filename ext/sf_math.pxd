# cython: language_level=3
"""Symmetry-function math shared by the full-evaluation kernel and the incremental engine.

Tables (built by nanomc.potential.tables) are factorised so that work is shared:
  - radial *shapes* (η, R_s) of central element c are evaluated once per neighbour and
    scattered into the descriptor through a map for the neighbour's element
    (rad_map[rmap_ptr[c*n_el + e] + shape] = output position, or -1);
  - angular shapes of c are products pref·(1 + λ cos θ)^ζ · exp(−η Σ R²) · Π f_c: the distinct η
    and the distinct (λ, ζ) of c are evaluated once per triplet, then combined per shape and
    scattered through ang_map[amap_ptr[c*n_pairs + p] + shape] for the element pair p.
"""
cimport numpy as cnp
from libc.math cimport exp, cos, pow, sqrt, M_PI


cdef struct SFTables:
    long n_el
    long n_pairs
    double rc
    long max_shapes           # scratch size needed by the value functions
    const long* n_desc        # (n_el,)
    const long* pair_slot     # (n_el*n_el,) unordered pair index of (a, b)
    const long* same_layout   # (n_el*n_el,) 1 if c1 and c2 have identical tables
    const long* rs_ptr        # (n_el+1,) radial shapes of c
    const double* rad_eta
    const double* rad_rs
    const long* rmap_ptr      # (n_el*n_el,)
    const long* rad_map
    const long* aeta_ptr      # (n_el+1,) distinct angular η of c
    const double* ang_eta
    const long* alz_ptr       # (n_el+1,) distinct (λ, ζ) of c
    const double* lz_lam
    const double* lz_zeta
    const long* lz_izeta      # ζ if integral, else -1
    const long* ash_ptr       # (n_el+1,) angular shapes of c
    const long* sh_eta        # index into c's η list
    const long* sh_lz         # index into c's (λ, ζ) list
    const double* sh_pref     # 2^(1−ζ)
    const long* amap_ptr      # (n_el*n_pairs,)
    const long* ang_map


cdef inline const long* _ptr(object arr):
    return <const long*> cnp.PyArray_DATA(arr)


cdef inline const double* _dptr(object arr):
    return <const double*> cnp.PyArray_DATA(arr)


cdef inline SFTables sf_tables_from(dict t):
    """Point an SFTables at the arrays of a table dict (the dict must outlive the struct)."""
    cdef SFTables s
    s.n_el = t["n_el"]
    s.n_pairs = t["n_pairs"]
    s.rc = t["rc"]
    s.max_shapes = t["max_shapes"]
    s.n_desc = _ptr(t["n_desc"])
    s.pair_slot = _ptr(t["pair_slot"])
    s.same_layout = _ptr(t["same_layout"])
    s.rs_ptr = _ptr(t["rs_ptr"])
    s.rad_eta = _dptr(t["rad_eta"])
    s.rad_rs = _dptr(t["rad_rs"])
    s.rmap_ptr = _ptr(t["rmap_ptr"])
    s.rad_map = _ptr(t["rad_map"])
    s.aeta_ptr = _ptr(t["aeta_ptr"])
    s.ang_eta = _dptr(t["ang_eta"])
    s.alz_ptr = _ptr(t["alz_ptr"])
    s.lz_lam = _dptr(t["lz_lam"])
    s.lz_zeta = _dptr(t["lz_zeta"])
    s.lz_izeta = _ptr(t["lz_izeta"])
    s.ash_ptr = _ptr(t["ash_ptr"])
    s.sh_eta = _ptr(t["sh_eta"])
    s.sh_lz = _ptr(t["sh_lz"])
    s.sh_pref = _dptr(t["sh_pref"])
    s.amap_ptr = _ptr(t["amap_ptr"])
    s.ang_map = _ptr(t["ang_map"])
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


cdef inline long sf_pair_values(const SFTables* s, long c, double r, double fc,
                                double* vals) noexcept nogil:
    """Radial shape values exp(−η (r − R_s)²) f_c of one neighbour of a c atom; returns count."""
    cdef long f, n = 0
    cdef double d
    for f in range(s.rs_ptr[c], s.rs_ptr[c + 1]):
        d = r - s.rad_rs[f]
        vals[n] = exp(-s.rad_eta[f] * d * d) * fc
        n += 1
    return n


cdef inline long sf_triplet_values(const SFTables* s, long c, double cos_t, double r2sum,
                                   double fprod, double* vals) noexcept nogil:
    """Angular shape values of one triplet of a c atom; returns count. vals needs max_shapes.

    cos_t = cos θ, r2sum = R_ij² + R_ik² + R_jk², fprod = f_c(R_ij) f_c(R_ik) f_c(R_jk).
    """
    cdef long k, n_eta = s.aeta_ptr[c + 1] - s.aeta_ptr[c], n_lz = s.alz_ptr[c + 1] - s.alz_ptr[c]
    cdef long n_sh = s.ash_ptr[c + 1] - s.ash_ptr[c]
    cdef double* radial = vals + n_sh
    cdef double* angular = radial + n_eta
    cdef double base
    cdef const double* eta = s.ang_eta + s.aeta_ptr[c]
    for k in range(n_eta):
        radial[k] = exp(-eta[k] * r2sum) * fprod
    for k in range(n_lz):
        base = 1.0 + s.lz_lam[s.alz_ptr[c] + k] * cos_t
        if base <= 0.0:
            angular[k] = 0.0
        elif s.lz_izeta[s.alz_ptr[c] + k] >= 0:
            angular[k] = ipow(base, s.lz_izeta[s.alz_ptr[c] + k])
        else:
            angular[k] = pow(base, s.lz_zeta[s.alz_ptr[c] + k])
    for k in range(s.ash_ptr[c], s.ash_ptr[c + 1]):
        vals[k - s.ash_ptr[c]] = s.sh_pref[k] * angular[s.sh_lz[k]] * radial[s.sh_eta[k]]
    return n_sh


cdef inline void sf_scatter(const long* mapping, long n, const double* vals, double sign,
                            double* out) noexcept nogil:
    """out[mapping[k]] += sign * vals[k] for the k with mapping[k] >= 0."""
    cdef long k
    for k in range(n):
        if mapping[k] >= 0:
            out[mapping[k]] += sign * vals[k]


cdef inline const long* sf_radial_map(const SFTables* s, long c, long e) noexcept nogil:
    """Output positions of c's radial shapes for a neighbour of element e."""
    return s.rad_map + s.rmap_ptr[c * s.n_el + e]


cdef inline const long* sf_angular_map(const SFTables* s, long c, long ea, long eb) noexcept nogil:
    """Output positions of c's angular shapes for a neighbour pair of elements (ea, eb)."""
    return s.ang_map + s.amap_ptr[c * s.n_pairs + s.pair_slot[ea * s.n_el + eb]]


cdef inline void sf_triplet_geometry(const double* va, const double* vb, double ra, double rb,
                                     double fca, double fcb, double rc, double* cos_t,
                                     double* r2sum, double* fprod) noexcept nogil:
    """Geometry of the triplet (i; a, b) from the vectors i→a, i→b; fprod = 0 beyond the cutoff."""
    cdef double dx = vb[0] - va[0], dy = vb[1] - va[1], dz = vb[2] - va[2]
    cdef double rab2 = dx * dx + dy * dy + dz * dz
    if rab2 >= rc * rc:
        fprod[0] = 0.0
        return
    cos_t[0] = (va[0] * vb[0] + va[1] * vb[1] + va[2] * vb[2]) / (ra * rb)
    r2sum[0] = ra * ra + rb * rb + rab2
    fprod[0] = fca * fcb * cutoff_fn(sqrt(rab2), rc)


cdef inline void sf_atom_descriptor(const SFTables* s, long c, long start, long stop,
                                    const long* idx, const long* elem, const double* vec,
                                    const double* dist, const double* fc, double* scratch,
                                    double* out) noexcept nogil:
    """Add the full descriptor of a c atom to out (scratch: max_shapes doubles).

    Its neighbour entries are start..stop-1: atom idx[a] of element elem[idx[a]] at vector
    vec[3a:3a+3] (Å), distance dist[a], cutoff value fc[a].
    """
    cdef long a, b, n
    cdef double cos_t = 0.0, r2sum = 0.0, fprod
    for a in range(start, stop):
        n = sf_pair_values(s, c, dist[a], fc[a], scratch)
        sf_scatter(sf_radial_map(s, c, elem[idx[a]]), n, scratch, 1.0, out)
    for a in range(start, stop):
        for b in range(a + 1, stop):
            sf_triplet_geometry(&vec[3 * a], &vec[3 * b], dist[a], dist[b], fc[a], fc[b], s.rc,
                                &cos_t, &r2sum, &fprod)
            if fprod != 0.0:
                n = sf_triplet_values(s, c, cos_t, r2sum, fprod, scratch)
                sf_scatter(sf_angular_map(s, c, elem[idx[a]], elem[idx[b]]), n, scratch, 1.0, out)
