# cython: language_level=3
"""Atomic energies from descriptors with the per-element feed-forward networks."""
import numpy as np
cimport numpy as cnp
from libc.stdlib cimport malloc, free
from nn_math cimport NNTables, nn_tables_from, nn_atomic_energy, nn_energy_gradient, nn_max_layers

cnp.import_array()


def atomic_energies(dict tables, const long[::1] elements, const double[:, ::1] descriptors):
    """Atomic energies (eV, including E0) of atoms with the given element indices and raw descriptors."""
    cdef NNTables s = nn_tables_from(tables)
    cdef Py_ssize_t n = elements.shape[0], i
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] e = out
    cdef double* buf = <double*> malloc(2 * max(s.max_width, 1) * sizeof(double))
    if buf == NULL:
        raise MemoryError()
    try:
        with nogil:
            for i in range(n):
                e[i] = nn_atomic_energy(&s, elements[i], &descriptors[i, 0], buf)
    finally:
        free(buf)
    return out


def atomic_energy_gradients(dict tables, const long[::1] elements, const double[:, ::1] descriptors):
    """Atomic energies (eV, including E0) and their gradients dE_i/dG_i (same shape as the raw
    descriptors; zero beyond each element's descriptor count)."""
    cdef NNTables s = nn_tables_from(tables)
    cdef Py_ssize_t n = elements.shape[0], i
    out = np.empty(n, dtype=np.float64)
    grad_arr = np.zeros((n, descriptors.shape[1]), dtype=np.float64)
    cdef double[::1] e = out
    cdef double[:, ::1] grad = grad_arr
    cdef double* work = <double*> malloc((2 + nn_max_layers(&s)) * max(s.max_width, 1) * sizeof(double))
    if work == NULL:
        raise MemoryError()
    try:
        with nogil:
            for i in range(n):
                e[i] = nn_energy_gradient(&s, elements[i], &descriptors[i, 0], work, &grad[i, 0])
    finally:
        free(work)
    return out, grad_arr
