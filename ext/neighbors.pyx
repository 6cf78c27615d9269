# cython: language_level=3
"""Cell-list neighbour search, periodic or open boundaries, O(N).

neighbor_list(positions, cell, pbc, cutoff) returns a compressed sparse row list:
the neighbours of atom i are indices[offsets[i]:offsets[i+1]], with vectors
r_j + T − r_i (Å) for the lattice translation T of that image, 0 < |vector| < cutoff.
Every periodic image within the cutoff is listed, including images of i itself.
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport floor, ceil, sqrt

cnp.import_array()


def neighbor_list(double[:, ::1] positions, double[:, ::1] cell, pbc, double cutoff):
    """Return (offsets int64 (N+1), indices int64 (M), vectors float64 (M, 3)) within cutoff Å."""
    cdef Py_ssize_t n = positions.shape[0]
    periodic = np.array([bool(p) for p in pbc], dtype=bool)
    pos = np.asarray(positions)
    if n == 0:
        return np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros((0, 3))
    if not periodic.any():
        basis = np.eye(3)
    else:
        from ase.geometry import complete_cell
        basis = complete_cell(np.asarray(cell))
        # non-periodic directions: use a vector orthogonal to the periodic ones
        for d in range(3):
            if not periodic[d]:
                others = [basis[k] for k in range(3) if k != d]
                normal = np.cross(others[0], others[1])
                basis[d] = normal / np.linalg.norm(normal)
    recip = np.linalg.inv(basis).T          # rows: reciprocal vectors (no 2π)
    spacing = 1.0 / np.linalg.norm(recip, axis=1)  # distance between lattice planes, Å
    frac = pos @ recip.T
    # integer shifts that wrap periodic coordinates into [0, 1)
    wrap = np.zeros((n, 3), dtype=np.int64)
    for d in range(3):
        if periodic[d]:
            wrap[:, d] = np.floor(frac[:, d]).astype(np.int64)
            frac[:, d] -= wrap[:, d]
            # f − floor(f) rounds to exactly 1.0 for f = −1e-17: that atom belongs to the next
            # cell (the shift and the bin must agree, or its neighbours come out wrong)
            over = frac[:, d] >= 1.0
            wrap[over, d] += 1
            frac[over, d] -= 1.0
    lo = np.zeros(3)
    nbins = np.ones(3, dtype=np.int64)
    reach = np.ones(3, dtype=np.int64)
    binw = np.ones(3)
    for d in range(3):
        if periodic[d]:
            nbins[d] = max(1, int(spacing[d] // cutoff))
            width_frac = 1.0 / nbins[d]
        else:
            lo[d] = frac[:, d].min()
            extent = (frac[:, d].max() - lo[d]) * spacing[d]
            nbins[d] = max(1, min(int(extent // cutoff), 1 << 20))
            width_frac = max(extent / nbins[d], cutoff) / spacing[d]
        binw[d] = width_frac
        reach[d] = int(np.ceil(cutoff / (width_frac * spacing[d])))
    # cap the number of bins (very sparse systems): merge bins, reach grows accordingly
    while nbins.prod() > 8 * n + 64:
        d = int(np.argmax(nbins))
        nbins[d] = max(1, nbins[d] // 2)
        binw[d] = (1.0 / nbins[d]) if periodic[d] else binw[d] * 2
        reach[d] = int(np.ceil(cutoff / (binw[d] * spacing[d])))
    b = np.empty((n, 3), dtype=np.int64)
    for d in range(3):
        b[:, d] = np.clip(((frac[:, d] - lo[d]) / binw[d]).astype(np.int64), 0, nbins[d] - 1)
    flat = (b[:, 0] * nbins[1] + b[:, 1]) * nbins[2] + b[:, 2]
    order = np.argsort(flat, kind="stable").astype(np.int64)
    starts = np.searchsorted(flat[order], np.arange(nbins.prod() + 1)).astype(np.int64)

    cdef long[:, ::1] bin_of = b
    cdef long[::1] atom_order = order
    cdef long[::1] bin_start = starts
    cdef long[:, ::1] wrap_v = wrap
    cdef double[:, ::1] basis_v = np.ascontiguousarray(basis)
    cdef long nb0 = nbins[0], nb1 = nbins[1], nb2 = nbins[2]
    cdef long r0 = reach[0], r1 = reach[1], r2 = reach[2]
    cdef bint p0 = periodic[0], p1 = periodic[1], p2 = periodic[2]
    cdef double rc2 = cutoff * cutoff

    counts = np.zeros(n, dtype=np.int64)
    cdef long[::1] cnt = counts
    _search(positions, basis_v, bin_of, atom_order, bin_start, wrap_v, nb0, nb1, nb2,
            r0, r1, r2, p0, p1, p2, rc2, cnt, None, None, 0)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    m = int(offsets[n])
    indices = np.empty(m, dtype=np.int64)
    vectors = np.empty((m, 3), dtype=np.float64)
    counts[:] = offsets[:n]
    _search(positions, basis_v, bin_of, atom_order, bin_start, wrap_v, nb0, nb1, nb2,
            r0, r1, r2, p0, p1, p2, rc2, cnt, indices, vectors, 1)
    return offsets, indices, vectors


cdef void _search(double[:, ::1] pos, double[:, ::1] basis, long[:, ::1] bin_of,
                  long[::1] atom_order, long[::1] bin_start, long[:, ::1] wrap,
                  long nb0, long nb1, long nb2, long r0, long r1, long r2,
                  bint p0, bint p1, bint p2, double rc2, long[::1] cursor,
                  long[::1] indices, double[:, ::1] vectors, bint fill) noexcept:
    """Visit every pair within the cutoff; count (fill=0) or write at cursor[i] (fill=1)."""
    cdef Py_ssize_t n = pos.shape[0]
    cdef Py_ssize_t i, jj, j, k
    cdef long o0, o1, o2, t0, t1, t2, s0, s1, s2, tb, c0, c1, c2
    cdef double dx, dy, dz, d2
    for i in range(n):
        for o0 in range(-r0, r0 + 1):
            if not _target_bin(bin_of[i, 0] + o0, nb0, p0, &t0, &s0):
                continue
            for o1 in range(-r1, r1 + 1):
                if not _target_bin(bin_of[i, 1] + o1, nb1, p1, &t1, &s1):
                    continue
                for o2 in range(-r2, r2 + 1):
                    if not _target_bin(bin_of[i, 2] + o2, nb2, p2, &t2, &s2):
                        continue
                    tb = (t0 * nb1 + t1) * nb2 + t2
                    for jj in range(bin_start[tb], bin_start[tb + 1]):
                        j = atom_order[jj]
                        # lattice translation of this image, in units of the cell vectors
                        c0 = s0 + wrap[i, 0] - wrap[j, 0]
                        c1 = s1 + wrap[i, 1] - wrap[j, 1]
                        c2 = s2 + wrap[i, 2] - wrap[j, 2]
                        if j == i and c0 == 0 and c1 == 0 and c2 == 0:
                            continue
                        dx = pos[j, 0] - pos[i, 0] + c0 * basis[0, 0] + c1 * basis[1, 0] + c2 * basis[2, 0]
                        dy = pos[j, 1] - pos[i, 1] + c0 * basis[0, 1] + c1 * basis[1, 1] + c2 * basis[2, 1]
                        dz = pos[j, 2] - pos[i, 2] + c0 * basis[0, 2] + c1 * basis[1, 2] + c2 * basis[2, 2]
                        d2 = dx * dx + dy * dy + dz * dz
                        if d2 < rc2:
                            if fill:
                                k = cursor[i]
                                indices[k] = j
                                vectors[k, 0] = dx
                                vectors[k, 1] = dy
                                vectors[k, 2] = dz
                            cursor[i] += 1


cdef inline bint _target_bin(long t, long nb, bint periodic, long* target, long* shift) noexcept:
    """Bin index t along one axis -> (bin in range, image shift); False if outside an open axis."""
    shift[0] = 0
    if periodic:
        shift[0] = _floordiv(t, nb)
        t -= shift[0] * nb
    elif t < 0 or t >= nb:
        return False
    target[0] = t
    return True


cdef inline long _floordiv(long a, long b) noexcept:
    """Floor division for b > 0."""
    cdef long q = a // b
    if (a % b != 0) and (a < 0):
        q -= 1
    return q
