# cython: language_level=3
"""Symmetry-function math shared by the full-evaluation kernel and the incremental engine.

One parameterised family (nanomc.potential.descriptors): every function has its own cutoff
function (kind, radius R_c, inner fraction α); radial functions exp(−η (R − R_s)²) f_c(R) or
T_n(2R/R_c − 1) f_c(R) (Chebyshev), angular functions 2^{1−ζ} (1 + λ cos θ)^ζ or T_n(cos θ)
(Chebyshev), times exp(−η Σ (R − R_s)²) · Π f_c over the three sides of the triplet ("narrow":
R_ij, R_ik, R_jk) or over the two sides from the centre ("wide"); each counts a neighbour
(pair) with the weight of its element (element pair).

Tables (built by nanomc.potential.tables) are factorised so that work is shared:
  - the distinct cutoff functions of the whole potential are evaluated once per neighbour
    entry (fc[entry * n_cut + q]) and once per triplet for the side R_jk;
  - radial *shapes* of central element c are evaluated once per neighbour: first the Gaussians
    (η, R_s, cutoff q), then per Chebyshev series (cutoff q, order n) T_0..T_n(2R/R_c,q − 1) f_c,q
    by the recurrence T_{k+1} = 2x T_k − T_{k−1};
  - angular shapes of c are products pref · factor · radial part: the distinct radial parts
    (η, R_s, narrow/wide, cutoff q) and the factors of c — the distinct (1 + λ cos θ)^ζ, then
    T_0..T_n(cos θ) up to c's largest Chebyshev order (one recurrence) — are evaluated once per
    triplet, then combined per shape (pref 2^{1−ζ}, 1 for Chebyshev);
  - shape values are scattered into the descriptor through a map for the neighbour's element e
    (radial) or element pair p (angular): SFMap = output positions (−1: none) and weights of
    `layers` layers of the shapes (a shape may feed several outputs, e.g. aenet's plain and
    type-spin-weighted copies): out[map[L*n + k]] += weight[L*n + k] · vals[k] (0 layers
    stands for one layer of weights 1, the plain functions: the weights are skipped), the maps of
    (c, e) at rad_map/rad_w + rmap_ptr[c*n_el + e] and of (c, p) at ang_map/ang_w +
    amap_ptr[c*n_pairs + p]. A change of a neighbour's element moves its terms from the old
    map to the new one, weights included.
    The last element index is the vacancy X: it has no shapes (a vacancy atom's descriptor is
    empty) and every map of a neighbour X, or of a pair containing X, places nothing, so a
    vacancy is invisible to every descriptor and creating or removing an atom is the same
    "move the terms to the new map" as any change of element.
    When all radial parts of c are narrow, unshifted and share one cutoff (nanomc's own G4,
    ang_simple[c]), they reduce to exp(−η ΣR²) · f_c f_c f_c with one sum and one product per
    triplet.
"""
cimport numpy as cnp
from libc.math cimport exp, cos, sin, pow, sqrt, tanh, M_PI, M_E

#: cutoff-function kinds (the numbers n2p2's `cutoff_type` uses)
cdef enum:
    CUT_HARD = 0
    CUT_COS = 1
    CUT_TANHU = 2
    CUT_TANH = 3
    CUT_EXP = 4
    CUT_POLY1 = 5
    CUT_POLY2 = 6
    CUT_POLY3 = 7
    CUT_POLY4 = 8


cdef struct SFTables:
    long n_el                 # element indices: the potential's elements, then the vacancy
    long n_pairs
    double rc                 # largest cutoff radius (Å): the neighbour-list cutoff
    long max_shapes           # scratch size needed by the value functions
    long n_cut                # distinct cutoff functions of the potential
    const long* cut_kind      # (n_cut,) CUT_* kind
    const double* cut_rc      # (n_cut,) radius (Å)
    const double* cut_alpha   # (n_cut,) inner radius as a fraction of the radius
    const long* n_desc        # (n_el,)
    const long* pair_slot     # (n_el*n_el,) unordered pair index of (a, b)
    const long* same_layout   # (n_el*n_el,) 1 if c1 and c2 have identical tables
    const long* rs_ptr        # (n_el+1,) radial shapes of c
    const double* rad_eta
    const double* rad_rs
    const long* rad_cut       # cutoff index of each Gaussian radial shape
    const long* rch_ptr       # (n_el+1,) Chebyshev radial series of c (after its Gaussians)
    const long* rch_cut       # cutoff index of each series
    const long* rch_order     # its largest order n (n + 1 shapes)
    const long* rad_layers    # (n_el,) map layers of c's radial shapes (0: one, unweighted)
    const long* rmap_ptr      # (n_el*n_el,)
    const long* rad_map
    const double* rad_w
    const long* aeta_ptr      # (n_el+1,) distinct angular radial parts of c
    const double* ang_eta
    const double* ang_rs
    const long* ang_wide      # 1: no R_jk terms (n2p2 type 9), 0: narrow
    const long* ang_cut
    const long* ang_simple    # (n_el,) 1 if every part of c is narrow, unshifted, one cutoff
    const long* ang_q0        # (n_el,) that cutoff
    const double* ang_rmax    # (n_el,) neighbours at R >= this are in no triplet of c
    const double* tri_rmax    # (n_el,) triplets with R_jk >= this contribute nothing to c
    const long* alz_ptr       # (n_el+1,) distinct (λ, ζ) of c
    const double* lz_lam
    const double* lz_zeta
    const long* lz_izeta      # ζ if integral, else -1
    const long* ach_order     # (n_el,) largest Chebyshev order of c's angular factors, -1: none
    const long* ash_ptr       # (n_el+1,) angular shapes of c
    const long* sh_eta        # index into c's radial-part list
    const long* sh_lz         # index into c's factors: (λ, ζ) list, then T_0..T_n
    const double* sh_pref     # 2^(1−ζ), or 1
    const long* ang_layers    # (n_el,) map layers of c's angular shapes (0: one, unweighted)
    const long* amap_ptr      # (n_el*n_pairs,)
    const long* ang_map
    const double* ang_w


cdef struct SFMap:
    const long* out           # (layers * n,) output position, or -1
    const double* weight      # (layers * n,)
    long layers               # 0: one layer of weights 1 (weight not read)


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
    s.n_cut = t["n_cut"]
    s.cut_kind = _ptr(t["cut_kind"])
    s.cut_rc = _dptr(t["cut_rc"])
    s.cut_alpha = _dptr(t["cut_alpha"])
    s.n_desc = _ptr(t["n_desc"])
    s.pair_slot = _ptr(t["pair_slot"])
    s.same_layout = _ptr(t["same_layout"])
    s.rs_ptr = _ptr(t["rs_ptr"])
    s.rad_eta = _dptr(t["rad_eta"])
    s.rad_rs = _dptr(t["rad_rs"])
    s.rad_cut = _ptr(t["rad_cut"])
    s.rch_ptr = _ptr(t["rch_ptr"])
    s.rch_cut = _ptr(t["rch_cut"])
    s.rch_order = _ptr(t["rch_order"])
    s.rad_layers = _ptr(t["rad_layers"])
    s.rmap_ptr = _ptr(t["rmap_ptr"])
    s.rad_map = _ptr(t["rad_map"])
    s.rad_w = _dptr(t["rad_w"])
    s.aeta_ptr = _ptr(t["aeta_ptr"])
    s.ang_eta = _dptr(t["ang_eta"])
    s.ang_rs = _dptr(t["ang_rs"])
    s.ang_wide = _ptr(t["ang_wide"])
    s.ang_cut = _ptr(t["ang_cut"])
    s.ang_simple = _ptr(t["ang_simple"])
    s.ang_q0 = _ptr(t["ang_q0"])
    s.ang_rmax = _dptr(t["ang_rmax"])
    s.tri_rmax = _dptr(t["tri_rmax"])
    s.alz_ptr = _ptr(t["alz_ptr"])
    s.lz_lam = _dptr(t["lz_lam"])
    s.lz_zeta = _dptr(t["lz_zeta"])
    s.lz_izeta = _ptr(t["lz_izeta"])
    s.ach_order = _ptr(t["ach_order"])
    s.ash_ptr = _ptr(t["ash_ptr"])
    s.sh_eta = _ptr(t["sh_eta"])
    s.sh_lz = _ptr(t["sh_lz"])
    s.sh_pref = _dptr(t["sh_pref"])
    s.ang_layers = _ptr(t["ang_layers"])
    s.amap_ptr = _ptr(t["amap_ptr"])
    s.ang_map = _ptr(t["ang_map"])
    s.ang_w = _dptr(t["ang_w"])
    return s


cdef inline double ipow(double x, long n) noexcept nogil:
    """x**n for integer n >= 0 by repeated squaring."""
    cdef double result = 1.0
    while n > 0:
        if n & 1:
            result *= x
        x *= x
        n >>= 1
    return result


cdef inline double cutoff_value(long kind, double rc, double alpha, double r) noexcept nogil:
    """Cutoff function f_c(r) of one kind, radius rc (Å), inner radius alpha·rc; 0 for r >= rc.

    hard 1; tanhu tanh³(1 − r/rc); tanh the same normalised to 1 at r = 0; the other kinds are 1
    below alpha·rc and f(x), x = (r − alpha·rc)/(rc − alpha·rc), above: cos ½[cos(πx) + 1],
    exp e·exp(1/(x² − 1)), poly1 (2x − 3)x² + 1, poly2 ((15 − 6x)x − 10)x³ + 1,
    poly3 (x(x(20x − 70) + 84) − 35)x⁴ + 1, poly4 (x(x((315 − 70x)x − 540) + 420) − 126)x⁵ + 1.
    """
    cdef double x, t, rci
    if r >= rc:
        return 0.0
    if kind == CUT_COS and alpha == 0.0:
        return 0.5 * (cos(M_PI * r / rc) + 1.0)
    if kind == CUT_HARD:
        return 1.0
    if kind == CUT_TANHU or kind == CUT_TANH:
        t = tanh(1.0 - r / rc)
        # tanh: normalised by 1/tanh(1)³ = coth(1)³ so that f_c(0) = 1
        return t * t * t * (2.2637537952253513 if kind == CUT_TANH else 1.0)
    rci = alpha * rc
    if r < rci:
        return 1.0
    x = (r - rci) / (rc - rci)
    if kind == CUT_COS:
        return 0.5 * (cos(M_PI * x) + 1.0)
    if kind == CUT_EXP:
        return M_E * exp(1.0 / (x * x - 1.0))
    if kind == CUT_POLY1:
        return (2.0 * x - 3.0) * x * x + 1.0
    if kind == CUT_POLY2:
        return ((15.0 - 6.0 * x) * x - 10.0) * x * x * x + 1.0
    if kind == CUT_POLY3:
        return (x * (x * (20.0 * x - 70.0) + 84.0) - 35.0) * x * x * x * x + 1.0
    return (x * (x * ((315.0 - 70.0 * x) * x - 540.0) + 420.0) - 126.0) * x * x * x * x * x + 1.0


cdef inline double cutoff_slope(long kind, double rc, double alpha, double r) noexcept nogil:
    """Derivative df_c/dr (1/Å) of cutoff_value(kind, rc, alpha, r); 0 for r >= rc and below α·rc.

    With x as in cutoff_value and x' = 1/(rc − α·rc): cos −½π sin(πx)·x', exp f·(−2x/(x² − 1)²)·x',
    poly1 6x(x − 1)·x', poly2 −30x²(x − 1)²·x', poly3 140x³(x − 1)³·x', poly4 −630x⁴(x − 1)⁴·x';
    tanhu −3t²(1 − t²)/rc with t = tanh(1 − r/rc) (tanh: times coth(1)³); hard 0.
    """
    cdef double x, t, rci, dx, xm
    if r >= rc or kind == CUT_HARD:
        return 0.0
    if kind == CUT_COS and alpha == 0.0:
        return -0.5 * M_PI / rc * sin(M_PI * r / rc)
    if kind == CUT_TANHU or kind == CUT_TANH:
        t = tanh(1.0 - r / rc)
        return -3.0 * t * t * (1.0 - t * t) / rc * (2.2637537952253513 if kind == CUT_TANH else 1.0)
    rci = alpha * rc
    if r < rci:
        return 0.0
    dx = 1.0 / (rc - rci)
    x = (r - rci) * dx
    xm = x - 1.0
    if kind == CUT_COS:
        return -0.5 * M_PI * sin(M_PI * x) * dx
    if kind == CUT_EXP:
        t = x * x - 1.0
        return M_E * exp(1.0 / t) * (-2.0 * x / (t * t)) * dx
    if kind == CUT_POLY1:
        return 6.0 * x * xm * dx
    if kind == CUT_POLY2:
        return -30.0 * x * x * xm * xm * dx
    if kind == CUT_POLY3:
        return 140.0 * ipow(x * xm, 3) * dx
    return -630.0 * ipow(x * xm, 4) * dx


cdef inline void sf_cutoff_values(const SFTables* s, double r, double* out) noexcept nogil:
    """out[q] = f_c(r) of every cutoff function q of the potential."""
    cdef long q
    for q in range(s.n_cut):
        out[q] = cutoff_value(s.cut_kind[q], s.cut_rc[q], s.cut_alpha[q], r)


cdef inline void sf_cutoff_slopes(const SFTables* s, double r, double* out) noexcept nogil:
    """out[q] = df_c/dr (1/Å) of every cutoff function q of the potential."""
    cdef long q
    for q in range(s.n_cut):
        out[q] = cutoff_slope(s.cut_kind[q], s.cut_rc[q], s.cut_alpha[q], r)


cdef inline long sf_chebyshev(double x, long order, double scale, double* out) noexcept nogil:
    """out[k] = scale · T_k(x) for k = 0..order (recurrence T_{k+1} = 2x T_k − T_{k−1}); returns order + 1."""
    cdef long k
    cdef double t0 = 1.0, t1 = x, t2
    out[0] = scale
    if order >= 1:
        out[1] = scale * x
    for k in range(2, order + 1):
        t2 = 2.0 * x * t1 - t0
        out[k] = scale * t2
        t0 = t1
        t1 = t2
    return order + 1


cdef inline void sf_chebyshev_slopes(double x, long order, double f, double df, double dxdr,
                                     double* out) noexcept nogil:
    """out[k] = d/dr [T_k(x) f] = T_k'(x) · dx/dr · f + T_k(x) · df/dr for k = 0..order, where
    x, f and their slopes dxdr, df are taken at the same r (T'_{k+1} = 2T_k + 2x T'_k − T'_{k−1})."""
    cdef long k
    cdef double t0 = 1.0, t1 = x, t2, d0 = 0.0, d1 = 1.0, d2
    out[0] = df
    if order >= 1:
        out[1] = dxdr * f + x * df
    for k in range(2, order + 1):
        t2 = 2.0 * x * t1 - t0
        d2 = 2.0 * t1 + 2.0 * x * d1 - d0
        out[k] = d2 * dxdr * f + t2 * df
        t0, t1, d0, d1 = t1, t2, d1, d2


cdef inline long sf_pair_values(const SFTables* s, long c, double r, const double* fc,
                                double* vals) noexcept nogil:
    """Radial shape values of one neighbour of a c atom at r (Å); returns their count.

    Gaussians exp(−η (r − R_s)²) f_c,q(r), then each Chebyshev series T_0..T_n(2r/R_c,q − 1) f_c,q(r).
    fc: the cutoff values of this neighbour for every cutoff q of the potential.
    """
    cdef long f, q, n = 0
    cdef double d, w
    for f in range(s.rs_ptr[c], s.rs_ptr[c + 1]):
        w = fc[s.rad_cut[f]]
        if w == 0.0:
            vals[n] = 0.0
        else:
            d = r - s.rad_rs[f]
            vals[n] = exp(-s.rad_eta[f] * d * d) * w
        n += 1
    for f in range(s.rch_ptr[c], s.rch_ptr[c + 1]):
        q = s.rch_cut[f]
        n += sf_chebyshev(2.0 * r / s.cut_rc[q] - 1.0, s.rch_order[f], fc[q], vals + n)
    return n


cdef inline long sf_radial_count(const SFTables* s, long c) noexcept nogil:
    """Number of radial shape values of c (what sf_pair_values returns)."""
    cdef long f, n = s.rs_ptr[c + 1] - s.rs_ptr[c]
    for f in range(s.rch_ptr[c], s.rch_ptr[c + 1]):
        n += s.rch_order[f] + 1
    return n


cdef inline bint _general_parts(const SFTables* s, long c, double ra, double rb, double rjk,
                                const double* fca, const double* fcb, const double* fcjk,
                                double* radial) noexcept nogil:
    """Radial parts of c for one triplet in the general case; False if all of them vanish."""
    cdef long k, q, p0 = s.aeta_ptr[c]
    cdef double f, d, da, db, dj
    cdef bint any_term = False
    for k in range(s.aeta_ptr[c + 1] - p0):
        q = s.ang_cut[p0 + k]
        f = fca[q] * fcb[q]
        if not s.ang_wide[p0 + k]:
            f *= fcjk[q]
        any_term = any_term or f != 0.0
        if f == 0.0 or s.ang_eta[p0 + k] == 0.0:  # η = 0 (e.g. Chebyshev): no Gaussian
            radial[k] = f
            continue
        da = ra - s.ang_rs[p0 + k]
        db = rb - s.ang_rs[p0 + k]
        d = da * da + db * db
        if not s.ang_wide[p0 + k]:
            dj = rjk - s.ang_rs[p0 + k]
            d += dj * dj
        radial[k] = exp(-s.ang_eta[p0 + k] * d) * f
    return any_term


cdef inline long sf_triplet_values(const SFTables* s, long c, double cos_t, double ra, double rb,
                                   double rjk, const double* fca, const double* fcb,
                                   const double* fcjk, double* vals) noexcept nogil:
    """Angular shape values of one triplet of a c atom; returns their count, 0 if all vanish.

    cos_t = cos θ_jik; ra, rb = R_ij, R_ik; rjk = R_jk (Å); fca, fcb, fcjk: the values of every
    cutoff function of the potential at R_ij, R_ik, R_jk. vals needs max_shapes doubles
    (shapes, then scratch for the radial parts and the factors).
    """
    cdef long k, q, n_eta = s.aeta_ptr[c + 1] - s.aeta_ptr[c], n_lz = s.alz_ptr[c + 1] - s.alz_ptr[c]
    cdef long n_sh = s.ash_ptr[c + 1] - s.ash_ptr[c]
    cdef double* radial = vals + n_sh
    cdef double* angular = radial + n_eta
    cdef double base, r2sum, fprod
    cdef const double* eta = s.ang_eta + s.aeta_ptr[c]
    if n_sh == 0:
        return 0
    if s.ang_simple[c]:
        q = s.ang_q0[c]
        fprod = fca[q] * fcb[q] * fcjk[q]
        if fprod == 0.0:
            return 0
        r2sum = ra * ra + rb * rb + rjk * rjk
        for k in range(n_eta):
            radial[k] = exp(-eta[k] * r2sum) * fprod
    elif not _general_parts(s, c, ra, rb, rjk, fca, fcb, fcjk, radial):
        return 0
    for k in range(n_lz):
        base = 1.0 + s.lz_lam[s.alz_ptr[c] + k] * cos_t
        if base <= 0.0:
            angular[k] = 0.0
        elif s.lz_izeta[s.alz_ptr[c] + k] >= 0:
            angular[k] = ipow(base, s.lz_izeta[s.alz_ptr[c] + k])
        else:
            angular[k] = pow(base, s.lz_zeta[s.alz_ptr[c] + k])
    if s.ach_order[c] >= 0:
        sf_chebyshev(cos_t, s.ach_order[c], 1.0, angular + n_lz)
    for k in range(s.ash_ptr[c], s.ash_ptr[c + 1]):
        vals[k - s.ash_ptr[c]] = s.sh_pref[k] * angular[s.sh_lz[k]] * radial[s.sh_eta[k]]
    return n_sh


cdef inline long sf_pair_derivs(const SFTables* s, long c, double r, const double* fc,
                                const double* dfc, double* ders) noexcept nogil:
    """d/dr (1/Å) of the radial shape values of sf_pair_values, in the same order; returns count.

    fc, dfc: the values and slopes (sf_cutoff_slopes) of every cutoff function at r.
    """
    cdef long f, q, n = 0
    cdef double d
    for f in range(s.rs_ptr[c], s.rs_ptr[c + 1]):
        q = s.rad_cut[f]
        if fc[q] == 0.0 and dfc[q] == 0.0:
            ders[n] = 0.0
        else:
            d = r - s.rad_rs[f]
            ders[n] = exp(-s.rad_eta[f] * d * d) * (dfc[q] - 2.0 * s.rad_eta[f] * d * fc[q])
        n += 1
    for f in range(s.rch_ptr[c], s.rch_ptr[c + 1]):
        q = s.rch_cut[f]
        sf_chebyshev_slopes(2.0 * r / s.cut_rc[q] - 1.0, s.rch_order[f], fc[q], dfc[q], 2.0 / s.cut_rc[q], ders + n)
        n += s.rch_order[f] + 1
    return n


cdef inline bint _general_part_derivs(const SFTables* s, long c, double ra, double rb, double rjk,
                                      const double* fca, const double* fcb, const double* fcjk,
                                      const double* dfca, const double* dfcb, const double* dfcjk,
                                      double* radial, double* d_a, double* d_b,
                                      double* d_jk) noexcept nogil:
    """_general_parts and their derivatives with respect to R_ij, R_ik, R_jk; False if all vanish."""
    cdef long k, q, p0 = s.aeta_ptr[c]
    cdef double fa, fb, fj, f, e, da, db, dj, eta
    cdef bint any_term = False
    for k in range(s.aeta_ptr[c + 1] - p0):
        q = s.ang_cut[p0 + k]
        fa = fca[q]
        fb = fcb[q]
        fj = 1.0 if s.ang_wide[p0 + k] else fcjk[q]
        f = fa * fb * fj
        if f == 0.0:
            radial[k] = d_a[k] = d_b[k] = d_jk[k] = 0.0
            continue
        eta = s.ang_eta[p0 + k]
        da = ra - s.ang_rs[p0 + k]
        db = rb - s.ang_rs[p0 + k]
        dj = 0.0 if s.ang_wide[p0 + k] else rjk - s.ang_rs[p0 + k]
        e = exp(-eta * (da * da + db * db + dj * dj))
        radial[k] = e * f
        d_a[k] = e * (dfca[q] * fb * fj - 2.0 * eta * da * f)
        d_b[k] = e * (fa * dfcb[q] * fj - 2.0 * eta * db * f)
        d_jk[k] = 0.0 if s.ang_wide[p0 + k] else e * (fa * fb * dfcjk[q] - 2.0 * eta * dj * f)
        any_term = True
    return any_term


cdef inline long sf_triplet_derivs(const SFTables* s, long c, double cos_t, double ra, double rb,
                                   double rjk, const double* fca, const double* fcb,
                                   const double* fcjk, const double* dfca, const double* dfcb,
                                   const double* dfcjk, double* ders) noexcept nogil:
    """Derivatives of the angular shape values of sf_triplet_values; returns their count n, 0 if
    all vanish. ders[k], ders[n + k], ders[2n + k], ders[3n + k]: d/dR_ij, d/dR_ik, d/dR_jk (1/Å)
    and d/dcos θ of shape k. dfca, dfcb, dfcjk: cutoff slopes (sf_cutoff_slopes) at R_ij, R_ik,
    R_jk. ders needs sf_deriv_scratch doubles.
    """
    cdef long k, m, q, n_eta = s.aeta_ptr[c + 1] - s.aeta_ptr[c], n_lz = s.alz_ptr[c + 1] - s.alz_ptr[c]
    cdef long n = s.ash_ptr[c + 1] - s.ash_ptr[c], l0 = s.alz_ptr[c], n_fac = n_lz + s.ach_order[c] + 1
    cdef double* radial = ders + 4 * n
    cdef double* d_a = radial + n_eta
    cdef double* d_b = d_a + n_eta
    cdef double* d_jk = d_b + n_eta
    cdef double* angular = d_jk + n_eta
    cdef double* d_cos = angular + n_fac
    cdef double base, r2sum, fprod, ga, gb, gj, e, a, ar
    cdef const double* eta = s.ang_eta + s.aeta_ptr[c]
    if n == 0:
        return 0
    if s.ang_simple[c]:
        q = s.ang_q0[c]
        fprod = fca[q] * fcb[q] * fcjk[q]
        if fprod == 0.0:
            return 0
        r2sum = ra * ra + rb * rb + rjk * rjk
        ga = dfca[q] * fcb[q] * fcjk[q]
        gb = fca[q] * dfcb[q] * fcjk[q]
        gj = fca[q] * fcb[q] * dfcjk[q]
        for k in range(n_eta):
            e = exp(-eta[k] * r2sum)
            radial[k] = e * fprod
            d_a[k] = e * (ga - 2.0 * eta[k] * ra * fprod)
            d_b[k] = e * (gb - 2.0 * eta[k] * rb * fprod)
            d_jk[k] = e * (gj - 2.0 * eta[k] * rjk * fprod)
    elif not _general_part_derivs(s, c, ra, rb, rjk, fca, fcb, fcjk, dfca, dfcb, dfcjk,
                                  radial, d_a, d_b, d_jk):
        return 0
    for k in range(n_lz):
        base = 1.0 + s.lz_lam[l0 + k] * cos_t
        if base <= 0.0:
            angular[k] = d_cos[k] = 0.0
        elif s.lz_izeta[l0 + k] >= 0:
            angular[k] = ipow(base, s.lz_izeta[l0 + k])
            d_cos[k] = s.lz_izeta[l0 + k] * s.lz_lam[l0 + k] * ipow(base, s.lz_izeta[l0 + k] - 1)
        else:
            angular[k] = pow(base, s.lz_zeta[l0 + k])
            d_cos[k] = s.lz_zeta[l0 + k] * s.lz_lam[l0 + k] * pow(base, s.lz_zeta[l0 + k] - 1.0)
    if s.ach_order[c] >= 0:
        sf_chebyshev(cos_t, s.ach_order[c], 1.0, angular + n_lz)
        sf_chebyshev_slopes(cos_t, s.ach_order[c], 1.0, 0.0, 1.0, d_cos + n_lz)
    for k in range(s.ash_ptr[c], s.ash_ptr[c + 1]):
        m = k - s.ash_ptr[c]
        a = s.sh_pref[k] * angular[s.sh_lz[k]]
        ders[m] = a * d_a[s.sh_eta[k]]
        ders[n + m] = a * d_b[s.sh_eta[k]]
        ders[2 * n + m] = a * d_jk[s.sh_eta[k]]
        ar = s.sh_pref[k] * radial[s.sh_eta[k]]
        ders[3 * n + m] = ar * d_cos[s.sh_lz[k]]
    return n


cdef inline long sf_deriv_scratch(const SFTables* s) noexcept nogil:
    """Doubles of scratch that sf_pair_derivs and sf_triplet_derivs need (for any element)."""
    cdef long c, size = max(1, s.max_shapes)
    for c in range(s.n_el):
        size = max(size, 4 * (s.ash_ptr[c + 1] - s.ash_ptr[c]) + 4 * (s.aeta_ptr[c + 1] - s.aeta_ptr[c])
                   + 2 * (s.alz_ptr[c + 1] - s.alz_ptr[c] + s.ach_order[c] + 1))
    return size


cdef inline void sf_scatter(SFMap m, long n, const double* vals, double sign, double* out) noexcept nogil:
    """out[m.out[L*n + k]] += sign · m.weight[L*n + k] · vals[k] for every layer L and shape k
    with an output (m.out[L*n + k] >= 0)."""
    cdef long k, layer
    cdef const long* o = m.out
    cdef const double* w
    if m.layers == 0:
        for k in range(n):
            if o[k] >= 0:
                out[o[k]] += sign * vals[k]
        return
    for layer in range(m.layers):
        o = m.out + layer * n
        w = m.weight + layer * n
        for k in range(n):
            if o[k] >= 0:
                out[o[k]] += sign * w[k] * vals[k]


cdef inline void sf_gather(SFMap m, long n, const double* grad, double* weights) noexcept nogil:
    """The transpose of sf_scatter: weights[k] = Σ_L m.weight[L*n + k] · grad[m.out[L*n + k]]
    over the layers with an output (0 if none).

    With grad = dE/dG of an atom, weights[k] is the energy per unit of shape value k.
    """
    cdef long k, layer
    cdef const long* o = m.out
    cdef const double* w
    if m.layers == 0:
        for k in range(n):
            weights[k] = grad[o[k]] if o[k] >= 0 else 0.0
        return
    for k in range(n):
        weights[k] = 0.0
    for layer in range(m.layers):
        o = m.out + layer * n
        w = m.weight + layer * n
        for k in range(n):
            if o[k] >= 0:
                weights[k] += w[k] * grad[o[k]]


cdef inline SFMap sf_radial_map(const SFTables* s, long c, long e) noexcept nogil:
    """Output positions and weights of c's radial shapes for a neighbour of element e."""
    cdef SFMap m
    cdef long offset = s.rmap_ptr[c * s.n_el + e]
    m.out = s.rad_map + offset
    m.weight = s.rad_w + offset
    m.layers = s.rad_layers[c]
    return m


cdef inline SFMap sf_angular_map(const SFTables* s, long c, long ea, long eb) noexcept nogil:
    """Output positions and weights of c's angular shapes for a neighbour pair of elements (ea, eb)."""
    cdef SFMap m
    cdef long offset = s.amap_ptr[c * s.n_pairs + s.pair_slot[ea * s.n_el + eb]]
    m.out = s.ang_map + offset
    m.weight = s.ang_w + offset
    m.layers = s.ang_layers[c]
    return m


cdef inline bint sf_triplet_geometry(const SFTables* s, const double* va, const double* vb,
                                     double ra, double rb, double rmax, double* geo) noexcept nogil:
    """Geometry of the triplet (i; a, b) from the vectors i→a, i→b (Å), of lengths ra, rb.

    geo[0] = cos θ, geo[1] = R_ab, geo[2 + q] = f_c,q(R_ab) for every cutoff q
    (2 + n_cut values: one row of the triplet cache). If R_ab >= rmax the result is False and
    only geo[1] is set, to rmax.
    """
    cdef double dx = vb[0] - va[0], dy = vb[1] - va[1], dz = vb[2] - va[2]
    cdef double d2 = dx * dx + dy * dy + dz * dz
    if d2 >= rmax * rmax:
        geo[1] = rmax
        return False
    geo[1] = sqrt(d2)
    geo[0] = (va[0] * vb[0] + va[1] * vb[1] + va[2] * vb[2]) / (ra * rb)
    sf_cutoff_values(s, geo[1], geo + 2)
    return True


cdef inline void sf_pair_geometry(const SFTables* s, long n_entries, const double* vec,
                                  double* dist, double* fc) noexcept nogil:
    """Distances (Å) and cutoff values fc[a*n_cut + q] of neighbour-list vectors vec (3 per entry)."""
    cdef long a
    for a in range(n_entries):
        dist[a] = sqrt(vec[3 * a] * vec[3 * a] + vec[3 * a + 1] * vec[3 * a + 1]
                       + vec[3 * a + 2] * vec[3 * a + 2])
        sf_cutoff_values(s, dist[a], fc + a * s.n_cut)


cdef inline void sf_atom_descriptor(const SFTables* s, long c, long start, long stop,
                                    const long* idx, const long* elem, const double* vec,
                                    const double* dist, const double* fc, double* scratch,
                                    double* geo, double* out) noexcept nogil:
    """Add the full descriptor of a c atom to out (scratch: max_shapes doubles, geo: 2 + n_cut).

    Its neighbour entries are start..stop-1: atom idx[a] of element elem[idx[a]] at vector
    vec[3a:3a+3] (Å), distance dist[a], cutoff values fc[a*n_cut : (a+1)*n_cut].
    """
    cdef long a, b, n
    cdef double rmax = s.ang_rmax[c]
    for a in range(start, stop):
        n = sf_pair_values(s, c, dist[a], fc + a * s.n_cut, scratch)
        sf_scatter(sf_radial_map(s, c, elem[idx[a]]), n, scratch, 1.0, out)
    for a in range(start, stop):
        if dist[a] >= rmax:
            continue
        for b in range(a + 1, stop):
            if dist[b] >= rmax or not sf_triplet_geometry(s, &vec[3 * a], &vec[3 * b], dist[a], dist[b],
                                                          s.tri_rmax[c], geo):
                continue
            n = sf_triplet_values(s, c, geo[0], dist[a], dist[b], geo[1], fc + a * s.n_cut,
                                  fc + b * s.n_cut, geo + 2, scratch)
            sf_scatter(sf_angular_map(s, c, elem[idx[a]], elem[idx[b]]), n, scratch, 1.0, out)


cdef inline double _dot(const double* x, const double* y, long n) noexcept nogil:
    cdef long k
    cdef double acc = 0.0
    for k in range(n):
        acc += x[k] * y[k]
    return acc


cdef inline void sf_triplet_gradient(const double* va, const double* vb, double ra, double rb,
                                     double cos_t, double rjk, double de_a, double de_b,
                                     double de_jk, double de_cos, double* ga,
                                     double* gb) noexcept nogil:
    """Add the gradients with respect to the vectors i→a, i→b (va, vb; Å) of an energy that
    depends on the triplet through R_ia, R_ib, R_ab and cos θ, with partial derivatives
    de_a, de_b, de_jk (eV/Å) and de_cos (eV), to ga and gb (eV/Å)."""
    cdef long m
    cdef double u, inv_ab = 1.0 / (ra * rb)
    for m in range(3):
        u = de_jk * (vb[m] - va[m]) / rjk
        ga[m] += de_a * va[m] / ra + de_cos * (vb[m] * inv_ab - cos_t * va[m] / (ra * ra)) - u
        gb[m] += de_b * vb[m] / rb + de_cos * (va[m] * inv_ab - cos_t * vb[m] / (rb * rb)) + u


cdef inline long sf_triplet_shape_derivs(const SFTables* s, long c, long a, long b, const double* vec,
                                         const double* dist, const double* fc, const double* dfc,
                                         double* geo, double* dfjk, double* scratch) noexcept nogil:
    """sf_triplet_derivs of the triplet of neighbour entries a, b of a c atom (arguments as in
    sf_atom_gradient; its geometry left in geo, cutoff slopes at R_ab in dfjk); 0 if b lies beyond
    the angular functions' range, the triplet outside every cutoff, or all derivatives vanish."""
    if dist[b] >= s.ang_rmax[c] or not sf_triplet_geometry(s, &vec[3 * a], &vec[3 * b], dist[a], dist[b],
                                                           s.tri_rmax[c], geo):
        return 0
    sf_cutoff_slopes(s, geo[1], dfjk)
    return sf_triplet_derivs(s, c, geo[0], dist[a], dist[b], geo[1], fc + a * s.n_cut, fc + b * s.n_cut,
                             geo + 2, dfc + a * s.n_cut, dfc + b * s.n_cut, dfjk, scratch)


cdef inline void sf_atom_gradient(const SFTables* s, long c, long start, long stop,
                                  const long* idx, const long* elem, const double* vec,
                                  const double* dist, const double* fc, const double* dfc,
                                  const double* dedg, double* scratch, double* weights,
                                  double* geo, double* dfjk, double* grad) noexcept nogil:
    """Add to grad[3a:3a+3] the gradient (eV/Å) of the energy with respect to each neighbour vector
    vec[3a:3a+3] of a c atom (a in start..stop-1, arguments as in sf_atom_descriptor), through
    this atom's descriptor only: dedg[k] = dE/dG[k] of the atom.

    dfc: cutoff slopes per entry (like fc); scratch: sf_deriv_scratch doubles; weights:
    max_shapes doubles; geo: 2 + n_cut doubles; dfjk: n_cut doubles.
    """
    cdef long a, b, n, m
    cdef double de, rmax = s.ang_rmax[c]
    for a in range(start, stop):
        n = sf_pair_derivs(s, c, dist[a], fc + a * s.n_cut, dfc + a * s.n_cut, scratch)
        sf_gather(sf_radial_map(s, c, elem[idx[a]]), n, dedg, weights)
        de = _dot(weights, scratch, n) / dist[a]
        for m in range(3):
            grad[3 * a + m] += de * vec[3 * a + m]
    for a in range(start, stop):
        if dist[a] >= rmax:
            continue
        for b in range(a + 1, stop):
            n = sf_triplet_shape_derivs(s, c, a, b, vec, dist, fc, dfc, geo, dfjk, scratch)
            if n == 0:
                continue
            sf_gather(sf_angular_map(s, c, elem[idx[a]], elem[idx[b]]), n, dedg, weights)
            sf_triplet_gradient(&vec[3 * a], &vec[3 * b], dist[a], dist[b], geo[0], geo[1],
                                _dot(weights, scratch, n), _dot(weights, scratch + n, n),
                                _dot(weights, scratch + 2 * n, n), _dot(weights, scratch + 3 * n, n),
                                &grad[3 * a], &grad[3 * b])


cdef inline void sf_atom_tangent(const SFTables* s, long c, long start, long stop,
                                 const long* idx, const long* elem, const double* vec,
                                 const double* dist, const double* fc, const double* dfc,
                                 const double* tan, double* scratch, double* vals,
                                 double* geo, double* dfjk, double* out) noexcept nogil:
    """Add to out the derivative of a c atom's descriptor along a motion in which each neighbour
    vector vec[3a:3a+3] moves with velocity tan[3a:3a+3] (Å per unit of the motion); arguments
    as in sf_atom_gradient, vals: max_shapes doubles. Entries with tan = 0 cost no derivatives.
    This is the transpose of sf_atom_gradient: Σ_k dedg[k] · out[k] = Σ_a grad_a · tan_a.
    """
    cdef long a, b, k, m, n
    cdef double rmax = s.ang_rmax[c], d_a, d_b, d_jk, d_cos, inv_ab
    cdef bint moves_a
    for a in range(start, stop):
        d_a = tan[3 * a] * vec[3 * a] + tan[3 * a + 1] * vec[3 * a + 1] + tan[3 * a + 2] * vec[3 * a + 2]
        if d_a == 0.0:
            continue
        n = sf_pair_derivs(s, c, dist[a], fc + a * s.n_cut, dfc + a * s.n_cut, scratch)
        for k in range(n):
            vals[k] = scratch[k] * d_a / dist[a]
        sf_scatter(sf_radial_map(s, c, elem[idx[a]]), n, vals, 1.0, out)
    for a in range(start, stop):
        if dist[a] >= rmax:
            continue
        moves_a = tan[3 * a] != 0.0 or tan[3 * a + 1] != 0.0 or tan[3 * a + 2] != 0.0
        for b in range(a + 1, stop):
            if not moves_a and tan[3 * b] == 0.0 and tan[3 * b + 1] == 0.0 and tan[3 * b + 2] == 0.0:
                continue
            n = sf_triplet_shape_derivs(s, c, a, b, vec, dist, fc, dfc, geo, dfjk, scratch)
            if n == 0:
                continue
            d_a = 0.0
            d_b = 0.0
            d_jk = 0.0
            d_cos = 0.0
            for m in range(3):
                d_a += vec[3 * a + m] * tan[3 * a + m]
                d_b += vec[3 * b + m] * tan[3 * b + m]
                d_jk += (vec[3 * b + m] - vec[3 * a + m]) * (tan[3 * b + m] - tan[3 * a + m])
                d_cos += tan[3 * a + m] * vec[3 * b + m] + vec[3 * a + m] * tan[3 * b + m]
            d_a /= dist[a]
            d_b /= dist[b]
            d_jk /= geo[1]
            inv_ab = 1.0 / (dist[a] * dist[b])
            d_cos = d_cos * inv_ab - geo[0] * (d_a / dist[a] + d_b / dist[b])
            for k in range(n):
                vals[k] = (scratch[k] * d_a + scratch[n + k] * d_b + scratch[2 * n + k] * d_jk
                           + scratch[3 * n + k] * d_cos)
            sf_scatter(sf_angular_map(s, c, elem[idx[a]], elem[idx[b]]), n, vals, 1.0, out)
