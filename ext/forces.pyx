# cython: language_level=3
"""Forces and virial from the energy's gradient with respect to every atom's descriptors.

E = Σ_i E_i(G_i) and G_i depends on the vectors v_a = r_j + T − r_i of i's neighbour entries a,
so dE/dv_a = Σ_k dE_i/dG_i[k] · dG_i[k]/dv_a (sf_atom_gradient). Each entry then pulls on its
two atoms: F_i += dE/dv_a, F_j −= dE/dv_a (a periodic image is the atom itself), and the
virial is W = Σ_a dE/dv_a ⊗ v_a, the derivative of E under a homogeneous deformation
r → (1 + ε) r of positions and cell: W_αβ = dE/dε_αβ.
"""
import numpy as np
cimport numpy as cnp
from sf_math cimport (SFTables, sf_tables_from, sf_atom_gradient, sf_atom_tangent, sf_cutoff_slopes,
                     sf_deriv_scratch)
from nanomc._ext.descriptors import pair_geometry

cnp.import_array()


def descriptor_forces(dict tables, const long[::1] elements, const long[::1] offsets,
                      const long[::1] indices, const double[:, ::1] vectors,
                      const double[:, ::1] dedg):
    """Forces (N, 3) in eV/Å and virial W (3, 3) in eV, W_αβ = dE/dε_αβ, from dedg[i, k] = dE/dG_i[k]
    (eV per descriptor unit; row i holds n_desc[e(i)] values) and the neighbour list (Å)."""
    cdef SFTables s = sf_tables_from(tables)
    cdef Py_ssize_t n = elements.shape[0], m = indices.shape[0], i, a
    cdef long x, y, j
    forces_arr = np.zeros((n, 3))
    virial_arr = np.zeros((3, 3))
    if m == 0 or s.n_cut == 0:
        return forces_arr, virial_arr
    dist_arr, fc_arr = pair_geometry(tables, vectors)
    cdef const double[::1] dist = dist_arr
    cdef const double[:, ::1] fc = fc_arr
    cdef double[:, ::1] dfc = np.zeros((m, s.n_cut))
    cdef double[:, ::1] grad = np.zeros((m, 3))
    cdef double[::1] scratch = np.zeros(sf_deriv_scratch(&s))
    cdef double[::1] weights = np.zeros(max(s.max_shapes, 1))
    cdef double[::1] geo = np.zeros(2 + s.n_cut)
    cdef double[::1] dfjk = np.zeros(s.n_cut)
    cdef double[:, ::1] forces = forces_arr
    cdef double[:, ::1] virial = virial_arr
    with nogil:
        for a in range(m):
            sf_cutoff_slopes(&s, dist[a], &dfc[a, 0])
        for i in range(n):
            sf_atom_gradient(&s, elements[i], offsets[i], offsets[i + 1], &indices[0], &elements[0],
                             &vectors[0, 0], &dist[0], &fc[0, 0], &dfc[0, 0], &dedg[i, 0],
                             &scratch[0], &weights[0], &geo[0], &dfjk[0], &grad[0, 0])
        for i in range(n):
            for a in range(offsets[i], offsets[i + 1]):
                j = indices[a]
                for x in range(3):
                    forces[i, x] += grad[a, x]
                    forces[j, x] -= grad[a, x]
                    for y in range(3):
                        virial[x, y] += grad[a, x] * vectors[a, y]
    return forces_arr, virial_arr


def descriptor_tangents(dict tables, const long[::1] elements, const long[::1] offsets,
                        const long[::1] indices, const double[:, ::1] vectors,
                        const long[::1] atoms, const double[:, ::1] displacement):
    """Derivatives dG_i/dε of the descriptors of atoms[t] (rows t, shape (len(atoms), max n_desc))
    when every atom j moves as r_j + ε · displacement[j] (displacement (N, 3) in Å per unit ε).

    A periodic image moves with its atom, so the cell stays fixed. With a displacement that is
    one Cartesian unit vector on one atom k, row t is the column dG_i/dr_k of the Jacobian.
    """
    cdef SFTables s = sf_tables_from(tables)
    cdef Py_ssize_t t, a, n_out = atoms.shape[0]
    cdef long i, x, width = int(np.max(tables["n_desc"]))
    out_arr = np.zeros((n_out, max(width, 1)))
    if indices.shape[0] == 0 or s.n_cut == 0:
        return out_arr[:, :width]
    dist_arr, fc_arr = pair_geometry(tables, vectors)
    cdef const double[::1] dist = dist_arr
    cdef const double[:, ::1] fc = fc_arr
    cdef double[:, ::1] dfc = np.zeros((indices.shape[0], s.n_cut))
    cdef double[:, ::1] tan = np.zeros((indices.shape[0], 3))
    cdef double[::1] scratch = np.zeros(sf_deriv_scratch(&s))
    cdef double[::1] vals = np.zeros(max(s.max_shapes, 1))
    cdef double[::1] geo = np.zeros(2 + s.n_cut)
    cdef double[::1] dfjk = np.zeros(s.n_cut)
    cdef double[:, ::1] out = out_arr
    with nogil:
        for t in range(n_out):
            i = atoms[t]
            for a in range(offsets[i], offsets[i + 1]):
                sf_cutoff_slopes(&s, dist[a], &dfc[a, 0])
                for x in range(3):
                    tan[a, x] = displacement[indices[a], x] - displacement[i, x]
            sf_atom_tangent(&s, elements[i], offsets[i], offsets[i + 1], &indices[0], &elements[0],
                            &vectors[0, 0], &dist[0], &fc[0, 0], &dfc[0, 0], &tan[0, 0], &scratch[0],
                            &vals[0], &geo[0], &dfjk[0], &out[t, 0])
    return out_arr[:, :width]
