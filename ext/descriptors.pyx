# cython: language_level=3
"""Full evaluation of symmetry-function descriptors for every atom of a structure."""
import numpy as np
cimport numpy as cnp
from sf_math cimport SFTables, sf_tables_from, cutoff_fn, sf_atom_descriptor

cnp.import_array()


def pair_geometry(const double[:, ::1] vectors, double rc):
    """Distances (Å) and cosine-cutoff values of neighbour-list vectors."""
    dist = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))
    fc = np.where(dist < rc, 0.5 * (np.cos(np.pi * dist / rc) + 1.0), 0.0)
    return dist, fc


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
    dist_arr, fc_arr = pair_geometry(vectors, s.rc)
    cdef const double[::1] dist = dist_arr
    cdef const double[::1] fc = fc_arr
    cdef double[::1] scratch = np.zeros(s.max_shapes)
    if indices.shape[0] == 0:
        return out[:, :width]
    with nogil:
        for i in range(n):
            sf_atom_descriptor(&s, elements[i], offsets[i], offsets[i + 1], &indices[0],
                               &elements[0], &vectors[0, 0], &dist[0], &fc[0], &scratch[0], &g[i, 0])
    return out[:, :width]
