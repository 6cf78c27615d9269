# cython: language_level=3
"""Full evaluation of symmetry-function descriptors for every atom of a structure."""
import numpy as np
cimport numpy as cnp
from sf_math cimport SFTables, sf_tables_from, sf_pair_geometry, sf_atom_descriptor

cnp.import_array()


def pair_geometry(dict tables, const double[:, ::1] vectors):
    """Distances (Å, shape (M,)) and cutoff values (shape (M, n_cut)) of neighbour-list vectors.

    Column q holds the value of the potential's cutoff function q (tables["cut_*"]).
    """
    cdef SFTables s = sf_tables_from(tables)
    cdef Py_ssize_t m = vectors.shape[0]
    dist_arr = np.zeros(m)
    fc_arr = np.zeros((m, s.n_cut))
    cdef double[::1] dist = dist_arr
    cdef double[:, ::1] fc = fc_arr
    if m and s.n_cut:
        with nogil:
            sf_pair_geometry(&s, m, &vectors[0, 0], &dist[0], &fc[0, 0])
    elif m:
        dist_arr[:] = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))
    return dist_arr, fc_arr


def compute_descriptors(dict tables, const long[::1] elements, const long[::1] offsets,
                        const long[::1] indices, const double[:, ::1] vectors):
    """Descriptors of every atom, shape (N, max n_desc); row i holds n_desc[e(i)] values.

    elements: element index per atom; offsets/indices/vectors: the neighbour list (Å).
    """
    cdef SFTables s = sf_tables_from(tables)
    cdef Py_ssize_t n = elements.shape[0], i
    cdef long width = int(np.max(tables["n_desc"]))
    out = np.zeros((n, max(width, 1)), dtype=np.float64)
    cdef double[:, ::1] g = out
    if indices.shape[0] == 0 or s.n_cut == 0:
        return out[:, :width]
    dist_arr, fc_arr = pair_geometry(tables, vectors)
    cdef const double[::1] dist = dist_arr
    cdef const double[:, ::1] fc = fc_arr
    cdef double[::1] scratch = np.zeros(max(s.max_shapes, 1))
    cdef double[::1] geo = np.zeros(2 + s.n_cut)
    with nogil:
        for i in range(n):
            sf_atom_descriptor(&s, elements[i], offsets[i], offsets[i + 1], &indices[0],
                               &elements[0], &vectors[0, 0], &dist[0], &fc[0, 0], &scratch[0],
                               &geo[0], &g[i, 0])
    return out[:, :width]
