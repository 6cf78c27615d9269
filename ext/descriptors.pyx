# cython: language_level=3
"""Full evaluation of symmetry-function descriptors for every atom of a structure."""
import numpy as np
cimport numpy as cnp
from libc.math cimport sqrt
from sf_math cimport SFTables, sf_tables_from, cutoff_fn, sf_add_pair, sf_add_triplet

cnp.import_array()


def compute_descriptors(dict tables, const long[::1] elements, const long[::1] offsets,
                        const long[::1] indices, const double[:, ::1] vectors):
    """Descriptors of every atom, shape (N, max n_desc); row i holds n_desc[e(i)] values.

    elements: element index per atom; offsets/indices/vectors: the neighbour list (Å).
    """
    cdef SFTables s = sf_tables_from(tables)
    cdef Py_ssize_t n = elements.shape[0]
    cdef long width = int(np.max(tables["n_desc"])) if s.n_el else 0
    out = np.zeros((n, width), dtype=np.float64)
    cdef double[:, ::1] g = out
    cdef double[::1] dist = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))
    cdef double[::1] fc = np.empty(dist.shape[0])
    cdef Py_ssize_t a
    for a in range(dist.shape[0]):
        fc[a] = cutoff_fn(dist[a], s.rc)
    cdef Py_ssize_t i
    with nogil:
        for i in range(n):
            atom_descriptor(&s, elements[i], offsets[i], offsets[i + 1],
                            &indices[0] if indices.shape[0] else NULL, elements, vectors, dist, fc, &g[i, 0] if width else NULL)
    return out


cdef void atom_descriptor(const SFTables* s, long c, long start, long stop, const long* idx,
                          const long[::1] elements, const double[:, ::1] vec,
                          const double[::1] dist, const double[::1] fc, double* out) noexcept nogil:
    """Add the descriptor of one c atom whose neighbour entries are start..stop-1 to out."""
    cdef long a, b
    cdef double ra, rb, dx, dy, dz, rab, cos_t
    for a in range(start, stop):
        sf_add_pair(s, c, elements[idx[a]], dist[a], fc[a], 1.0, out)
    for a in range(start, stop):
        ra = dist[a]
        for b in range(a + 1, stop):
            rb = dist[b]
            dx = vec[b, 0] - vec[a, 0]
            dy = vec[b, 1] - vec[a, 1]
            dz = vec[b, 2] - vec[a, 2]
            rab = sqrt(dx * dx + dy * dy + dz * dz)
            if rab >= s.rc:
                continue
            cos_t = (vec[a, 0] * vec[b, 0] + vec[a, 1] * vec[b, 1] + vec[a, 2] * vec[b, 2]) / (ra * rb)
            sf_add_triplet(s, c, elements[idx[a]], elements[idx[b]], cos_t,
                           ra * ra + rb * rb + rab * rab, fc[a] * fc[b] * cutoff_fn(rab, s.rc),
                           1.0, out)
