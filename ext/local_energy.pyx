# cython: language_level=3
"""The incremental energy engine for lattice Monte Carlo (DESIGN.md, "Incremental engine").

Positions never move, so the neighbour list, distances and cutoff values are computed once.
The state is the element of every atom, its descriptor vector and its atomic energy.
A proposal (swap of two atoms, a change of one atom's element, or two swaps at once: a composite
move, at most MAX_CHANGED atoms) changes the descriptors
of the changed atoms and of their neighbours only:
  - a changed atom gets its descriptor recomputed for its new element;
  - any other affected atom k gets, for each neighbour entry that is a changed atom, the old
    radial term subtracted and the new one added, and likewise for each triplet (k; a, b)
    that contains a changed atom, moved from the old element-pair slot to the new one.
Networks run on the affected atoms only. Nothing changes until commit().
A vacancy (X, the last element index) has no descriptor terms and energy 0 (see sf_math.pxd),
so a move that creates or removes an atom (O -> X, an O/X swap) needs nothing special: the
changed site's energy appears or vanishes and its neighbours' terms move to or from maps
that place nothing.

The lattice path: when the atoms sit on a lattice, every neighbour vector is one of a few
hundred distinct offsets (nanomc.local_energy.lattice_offsets), so the radial shape values of
every central element at every offset and the angular shape values at every pair of offsets
(the "rows" with a non-zero value) are computed once, and each atom's neighbours are found by
offset (atom_at). An affected atom k that sees a changed atom at offset a then moves the radial
values of a, and the sums over its other neighbours b, per element of b, of the rows (a, b):
no distance, angle or exponential per trial. Elements with identical tables share them.
Otherwise (positions off a lattice) the per-atom path computes triplet geometry, from a
per-atom cache when it fits in memory.
The networks of all affected atoms of one element run as one matrix product per layer.

The Metropolis loops (sweep_swaps, sweep_flips) run whole sweeps here, without Python per
trial: propose -> ΔE -> accept -> commit, with uniform random numbers drawn beforehand by
the caller's numpy Generator (so a run is reproducible and resumable from its RNG state).
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport exp, floor, log
from libc.string cimport memcpy, memset
from sf_math cimport (SFTables, SFMap, sf_tables_from, sf_pair_values, sf_triplet_values, sf_scatter,
                      sf_radial_map, sf_angular_map, sf_triplet_geometry, sf_pair_geometry,
                      sf_atom_descriptor, sf_radial_count)
from nn_math cimport NNTables, nn_tables_from, nn_batch_size, nn_batch_energies

cnp.import_array()

#: the most atoms one proposal may change: a swap changes 2, a composite move (two swaps) 4
cdef enum:
    MAX_CHANGED = 4

cdef extern from *:
    """
    #define nanomc_prefetch(p) __builtin_prefetch((const void*) (p))
    /* acc[el[nb[part[p]]] * width + q] += rows[p * width + q] for p0 <= p < p1, q < n: compiled
       for AVX-512, AVX2 and plain x86-64, the CPU picks at load time */
    __attribute__((target_clones("avx512f", "avx2", "default")))
    static void nanomc_sum_rows(const double* rows, long width, long n, long p0, long p1, const int* part,
                                const int* nb, const long* el, double* acc) {
        for (long p = p0; p < p1; p++) {
            double* a = acc + el[nb[part[p]]] * width;
            const double* v = rows + p * width;
            for (long q = 0; q < n; q++)
                a[q] += v[q];
        }
    }
    """
    void nanomc_prefetch(const void* p) noexcept nogil
    void nanomc_sum_rows(const double* rows, long width, long n, long p0, long p1, const int* part,
                         const int* nb, const long* el, double* acc) noexcept nogil


cdef inline bint _in_shell(const long[::1] shell_ptr, const long[::1] shell, long site, long other) noexcept nogil:
    """Whether `other` is among the anion neighbours shell[shell_ptr[site]:shell_ptr[site+1]] of `site`."""
    cdef long r
    for r in range(shell_ptr[site], shell_ptr[site + 1]):
        if shell[r] == other:
            return True
    return False


cdef class LocalEnergyKernel:
    """Cached geometry and state; propose() returns ΔE (eV), commit() applies it."""

    cdef dict _sf_dict, _nn_dict
    cdef SFTables sf
    cdef NNTables nn
    cdef readonly Py_ssize_t n_atoms, width
    cdef long[::1] offsets, indices
    cdef double[:, ::1] vec
    cdef double[::1] dist
    cdef double[:, ::1] fc      # (entries, n_cut): every cutoff function at every neighbour
    cdef long[::1] elem
    cdef double[:, ::1] G
    cdef double[::1] E
    cdef readonly double total
    # proposal scratch
    cdef long[::1] stamp
    cdef long stamp_value
    cdef long[::1] aff
    cdef long[::1] slot          # (n_atoms,) position of an affected atom in aff
    cdef Py_ssize_t n_aff
    cdef double[:, ::1] G_new
    cdef double[::1] E_new
    cdef long batch              # atoms per network batch
    cdef double[::1] nn_work
    cdef long[::1] batch_rows
    cdef double[::1] batch_out
    cdef long[::1] aff_el        # element of each affected atom after the proposal
    cdef double[::1] sf_buf
    cdef double[::1] geo_buf
    cdef long n_changed
    cdef long changed[MAX_CHANGED]
    cdef long old_el[MAX_CHANGED]
    cdef long new_el[MAX_CHANGED]
    cdef readonly bint pending
    # optional triplet cache: (cos θ, R_ab, f_c,q(R_ab) for every cutoff q) of every ordered
    # pair of neighbour entries (a, b) of every atom
    cdef readonly bint triplet_cache
    cdef long[::1] tri_off
    cdef double[:, ::1] tri
    # lattice path (module docstring): every neighbour vector is one of n_off distinct offsets;
    # shape values are tabulated per (central element, offset) and per (central element,
    # offset pair), and atoms are found by offset
    cdef readonly bint lattice
    cdef readonly long n_off
    cdef int[::1] back_oid       # (entries,) offset from the neighbour back to the atom
    cdef int[::1] atom_at        # (n_atoms*n_off,) atom at offset o from atom k, n_atoms: none
    cdef double[:, ::1] lat_rad  # (n_el*n_off, shapes) radial shape values of c at offset o
    cdef long[::1] part_ptr      # (n_el*n_off + 1,) triplet rows of c with first offset o
    cdef int[::1] part_off       # (rows,) the second offset of each row
    cdef double[:, ::1] lat_ang  # (rows, shapes) angular shape values of each row
    cdef int[::1] lat_row        # (n_el*n_off*n_off,) row of c for offsets (a, b), -1: none
    cdef long[::1] lat_el        # (n_el,) the element whose tables c uses (the first with identical tables)
    # lattice proposal scratch: per affected atom (slot), a list of the offsets at which it
    # sees changed atoms
    cdef long[::1] ch_head
    cdef long[::1] ch_next
    cdef int[::1] ch_off
    cdef long n_ch
    cdef double[::1] ang_acc     # ((n_el + 1) * shapes) per-element sums of one update
    # lowest energy seen by the sweeps and its elements
    cdef readonly double best_total
    cdef long[::1] best_elem
    cdef readonly double pending_delta
    # composite trials of the last sweep_swaps call: proposed (a cation swap and a carried vacancy) and accepted
    cdef readonly long composite_proposed, composite_accepted

    def __init__(self, dict sf_tables, dict nn_tables, long[::1] elements, long[::1] offsets,
                 long[::1] indices, double[:, ::1] vectors, bint triplet_cache=False,
                 LocalEnergyKernel geometry_from=None, int[::1] offset_ids=None,
                 double[:, ::1] offset_vectors=None):
        """geometry_from: another kernel of the same structure and potential whose cached
        geometry (neighbour list, triplet cache, lattice tables) this one shares instead of
        building its own. offset_ids, offset_vectors: the lattice path — entry s of the
        neighbour list is the vector offset_vectors[offset_ids[s]] (Å, to within rounding)."""
        self._sf_dict = sf_tables
        self._nn_dict = nn_tables
        self.sf = sf_tables_from(sf_tables)
        self.nn = nn_tables_from(nn_tables)
        self.n_atoms = elements.shape[0]
        self.width = max(1, int(np.max(sf_tables["n_desc"])))
        # one element past the atoms: n_el, read by the lattice path for a site without an atom
        elem_and_none = np.full(self.n_atoms + 1, self.sf.n_el, dtype=np.int64)
        elem_and_none[:self.n_atoms] = elements
        self.elem = elem_and_none[:self.n_atoms]
        self.G = np.zeros((self.n_atoms, self.width))
        self.E = np.zeros(self.n_atoms)
        self.stamp = np.zeros(self.n_atoms, dtype=np.int64)
        self.stamp_value = 0
        self.aff = np.zeros(self.n_atoms, dtype=np.int64)
        self.slot = np.zeros(self.n_atoms, dtype=np.int64)
        self.G_new = np.zeros((self.n_atoms, self.width))
        self.E_new = np.zeros(self.n_atoms)
        self.batch = nn_batch_size(&self.nn)
        self.nn_work = np.zeros(2 * self.batch * max(self.nn.max_width, 1))
        self.batch_rows = np.zeros(self.batch, dtype=np.int64)
        self.batch_out = np.zeros(self.batch)
        self.aff_el = np.zeros(self.n_atoms, dtype=np.int64)
        self.sf_buf = np.zeros(max(self.sf.max_shapes, 1))
        self.geo_buf = np.zeros(2 + self.sf.n_cut)
        self.pending = False
        if geometry_from is not None:
            self._share_geometry(geometry_from)
        else:
            self._build_geometry(offsets, indices, vectors, triplet_cache and offset_ids is None)
            self.lattice = offset_ids is not None
            if self.lattice:
                self._build_lattice(offset_ids, offset_vectors)
        if self.lattice:
            n_nb = np.diff(np.asarray(self.offsets))
            n_records = MAX_CHANGED * ((int(n_nb.max()) if n_nb.size else 0) + 1)
            self.ch_head = np.zeros(self.n_atoms, dtype=np.int64)
            self.ch_next = np.zeros(n_records, dtype=np.int64)
            self.ch_off = np.zeros(n_records, dtype=np.int32)
            self.ang_acc = np.zeros((self.sf.n_el + 1) * max(self.sf.max_shapes, 1))
        self.recompute()
        self.reset_best()

    def _build_geometry(self, long[::1] offsets, long[::1] indices, double[:, ::1] vectors, bint triplet_cache):
        self.offsets = offsets
        self.indices = indices if indices.shape[0] else np.zeros(1, np.int64)
        self.vec = vectors if vectors.shape[0] else np.zeros((1, 3))
        self.dist = np.zeros(self.vec.shape[0])
        self.fc = np.zeros((self.vec.shape[0], self.sf.n_cut))
        if self.sf.n_cut:
            sf_pair_geometry(&self.sf, self.vec.shape[0], &self.vec[0, 0], &self.dist[0], &self.fc[0, 0])
        self.triplet_cache = triplet_cache
        n_nb = np.diff(np.asarray(offsets))
        self.tri_off = np.concatenate([[0], np.cumsum(n_nb * n_nb)]).astype(np.int64)
        self.tri = np.zeros((self.tri_off[self.n_atoms] if triplet_cache else 0, 2 + self.sf.n_cut))
        if triplet_cache:
            self._fill_triplet_cache()

    def _share_geometry(self, LocalEnergyKernel other):
        if other.n_atoms != self.n_atoms or other._sf_dict is not self._sf_dict:
            raise ValueError("geometry can only be shared between kernels of the same structure and potential")
        self.offsets, self.indices, self.vec = other.offsets, other.indices, other.vec
        self.dist, self.fc = other.dist, other.fc
        self.triplet_cache, self.tri_off, self.tri = other.triplet_cache, other.tri_off, other.tri
        self.lattice, self.n_off, self.back_oid, self.atom_at = other.lattice, other.n_off, other.back_oid, other.atom_at
        self.lat_rad, self.part_ptr, self.part_off = other.lat_rad, other.part_ptr, other.part_off
        self.lat_ang, self.lat_row, self.lat_el = other.lat_ang, other.lat_row, other.lat_el

    def _build_lattice(self, int[::1] oid, double[:, ::1] offset_vectors):
        """Tables of the lattice path: atoms by offset, reverse offsets, and the shape values of
        every central element at every offset and valid offset pair (Å vectors)."""
        cdef long n_el = self.sf.n_el, D = offset_vectors.shape[0], width = max(self.sf.max_shapes, 1)
        cdef long c, oa, ob, k, s, r, j, n_rows = 0, n_entries = self.offsets[self.n_atoms]
        cdef double dx, dy, dz
        if oid.shape[0] != n_entries:
            raise ValueError(f"{oid.shape[0]} offset ids for {n_entries} neighbour entries")
        self.n_off = D
        self.atom_at = np.full(max(self.n_atoms * D, 1), self.n_atoms, dtype=np.int32)
        self.back_oid = np.full(max(n_entries, 1), -1, dtype=np.int32)
        for k in range(self.n_atoms):
            for s in range(self.offsets[k], self.offsets[k + 1]):
                self.atom_at[k * D + oid[s]] = self.indices[s]
        for k in range(self.n_atoms):
            for s in range(self.offsets[k], self.offsets[k + 1]):
                j = self.indices[s]
                for r in range(self.offsets[j], self.offsets[j + 1]):
                    dx = self.vec[r, 0] + self.vec[s, 0]
                    dy = self.vec[r, 1] + self.vec[s, 1]
                    dz = self.vec[r, 2] + self.vec[s, 2]
                    if self.indices[r] == k and dx * dx + dy * dy + dz * dz < 1e-16:
                        self.back_oid[s] = oid[r]
                        break
                if self.back_oid[s] < 0:
                    raise ValueError(f"neighbour list not symmetric: atom {j} does not list atom {k}")
        dist = np.zeros(max(D, 1))
        fc = np.zeros((max(D, 1), max(self.sf.n_cut, 1)))
        cdef double[::1] d = dist
        cdef double[:, ::1] f = fc
        cdef double[::1] geo = np.zeros(2 + self.sf.n_cut)
        cdef double[::1] vals = np.zeros(width)
        self.lat_rad = np.zeros((max(n_el * D, 1), width))
        self.lat_row = np.full(max(n_el * D * D, 1), -1, dtype=np.int32)
        self.part_ptr = np.zeros(n_el * D + 1, dtype=np.int64)
        self.lat_el = np.array([next(e for e in range(n_el) if self.sf.same_layout[c * n_el + e])
                                for c in range(n_el)], dtype=np.int64)
        if D and self.sf.n_cut:
            sf_pair_geometry(&self.sf, D, &offset_vectors[0, 0], &d[0], &f[0, 0])
        for c in range(n_el):
            for oa in range(D):
                self.part_ptr[c * D + oa + 1] = n_rows
                if self.lat_el[c] != c:  # c reads the tables of lat_el[c]
                    continue
                if self.sf.n_cut:
                    sf_pair_values(&self.sf, c, d[oa], &f[oa, 0], &self.lat_rad[c * D + oa, 0])
                for ob in range(D):  # rows: the triplets with a non-zero shape value
                    if self.sf.n_cut and self._lattice_triplet(c, oa, ob, offset_vectors, d, f, geo, vals):
                        self.lat_row[(c * D + oa) * D + ob] = n_rows
                        n_rows += 1
                self.part_ptr[c * D + oa + 1] = n_rows
        self.part_off = np.zeros(max(n_rows, 1), dtype=np.int32)
        self.lat_ang = np.zeros((max(n_rows, 1), width))
        for c in range(n_el):
            for oa in range(D):
                for ob in range(D):
                    r = self.lat_row[(c * D + oa) * D + ob]
                    if r >= 0:
                        self.part_off[r] = ob
                        self._lattice_triplet(c, oa, ob, offset_vectors, d, f, geo, self.lat_ang[r])

    cdef bint _lattice_triplet(self, long c, long oa, long ob, double[:, ::1] v, double[::1] d,
                               double[:, ::1] f, double[::1] geo, double[::1] vals):
        """Angular shape values of c for neighbours at offsets oa, ob into vals; False if none."""
        if oa == ob or d[oa] >= self.sf.ang_rmax[c] or d[ob] >= self.sf.ang_rmax[c]:
            return False
        if not sf_triplet_geometry(&self.sf, &v[oa, 0], &v[ob, 0], d[oa], d[ob], self.sf.tri_rmax[c], &geo[0]):
            return False
        return sf_triplet_values(&self.sf, c, geo[0], d[oa], d[ob], geo[1], &f[oa, 0], &f[ob, 0],
                                 &geo[2], &vals[0]) > 0

    cdef void _fill_triplet_cache(self) noexcept nogil:
        """Rows of pairs beyond every element's tri_rmax hold only R_ab (never read further)."""
        cdef Py_ssize_t k
        cdef long a, b, t, c
        cdef double rmax = 0.0
        for c in range(self.sf.n_el):
            if self.sf.tri_rmax[c] > rmax:
                rmax = self.sf.tri_rmax[c]
        for k in range(self.n_atoms):
            t = self.tri_off[k]
            for a in range(self.offsets[k], self.offsets[k + 1]):
                for b in range(self.offsets[k], self.offsets[k + 1]):
                    if a != b:
                        sf_triplet_geometry(&self.sf, &self.vec[a, 0], &self.vec[b, 0], self.dist[a],
                                            self.dist[b], rmax, &self.tri[t, 0])
                    t += 1

    def recompute(self):
        """Full evaluation of every descriptor and atomic energy from scratch; returns E (eV)."""
        cdef Py_ssize_t i
        self.pending = False
        with nogil:
            for i in range(self.n_atoms):
                self._full_descriptor(i, self.elem[i], &self.G[i, 0])
            self._energies(self.n_atoms, &self.elem[0], &self.G[0, 0], &self.E[0])
        self.total = float(np.sum(self.E))
        return self.total

    cdef void _energies(self, long n, const long* el, const double* G, double* E) noexcept nogil:
        """E[r] = atomic energy (eV) of row r < n of G (width values per row), of element el[r];
        the networks run on batches of rows of one element."""
        cdef long c, r, m, count
        for c in range(self.sf.n_el):
            count = 0
            for r in range(n + 1):
                if r < n and el[r] == c:
                    self.batch_rows[count] = r
                    count += 1
                if count == self.batch or (r == n and count):
                    nn_batch_energies(&self.nn, c, count, &self.batch_rows[0], G, self.width,
                                      &self.batch_out[0], &self.nn_work[0])
                    for m in range(count):
                        E[self.batch_rows[m]] = self.batch_out[m]
                    count = 0

    cdef inline void _full_descriptor(self, long i, long c, double* out) noexcept nogil:
        memset(out, 0, self.width * sizeof(double))
        if self.sf.n_cut == 0:
            return
        sf_atom_descriptor(&self.sf, c, self.offsets[i], self.offsets[i + 1], &self.indices[0],
                           &self.elem[0], &self.vec[0, 0], &self.dist[0], &self.fc[0, 0], &self.sf_buf[0],
                           &self.geo_buf[0], out)

    cdef inline long _changed_index(self, long atom) noexcept nogil:
        """m with changed[m] == atom, or -1 if the pending proposal does not change atom."""
        cdef long m
        for m in range(self.n_changed):
            if atom == self.changed[m]:
                return m
        return -1

    cdef inline long _old_element(self, long atom) noexcept nogil:
        """Element of atom before the pending change (elem holds the new ones meanwhile)."""
        cdef long m = self._changed_index(atom)
        return self.elem[atom] if m < 0 else self.old_el[m]

    cdef inline bint _is_changed(self, long atom) noexcept nogil:
        return self._changed_index(atom) >= 0

    cdef long _add_affected(self, long k) noexcept nogil:
        """Slot of atom k among the affected atoms of this proposal (added if new)."""
        if self.stamp[k] != self.stamp_value:
            self.stamp[k] = self.stamp_value
            self.aff[self.n_aff] = k
            self.slot[k] = self.n_aff
            if self.lattice:
                self.ch_head[self.n_aff] = -1
            self.n_aff += 1
        return self.slot[k]

    cdef double propose(self, long n_changed, long a0, long e0, long a1, long e1) noexcept nogil:
        """ΔE (eV) of setting atom a0 to element e0 (and a1 to e1 if n_changed == 2)."""
        self.n_changed = n_changed
        self.changed[0] = a0
        self.new_el[0] = e0
        self.changed[1] = a1
        self.new_el[1] = e1
        return self._propose()

    cdef double propose_swaps(self, long a, long b, long v, long o) noexcept nogil:
        """ΔE (eV) of exchanging the elements of a and b and of v and o at once (four distinct atoms)."""
        self.n_changed = 4
        self.changed[0], self.changed[1], self.changed[2], self.changed[3] = a, b, v, o
        self.new_el[0], self.new_el[1] = self.elem[b], self.elem[a]
        self.new_el[2], self.new_el[3] = self.elem[o], self.elem[v]
        return self._propose()

    cdef double _propose(self) noexcept nogil:
        """ΔE (eV) of giving the atoms changed[:n_changed] the elements new_el[:n_changed].

        Changed atoms whose new element has other tables than the old get their descriptor
        recomputed in full; every other affected atom is updated (_update_descriptor, or
        _update_descriptor_lattice, during which the changed atoms hold the element index
        n_el, which no table reads).
        """
        cdef long m, k, c, sl
        cdef long n_changed = self.n_changed
        cdef Py_ssize_t s
        cdef double delta = 0.0
        cdef bint full[MAX_CHANGED]
        cdef double* g
        self.stamp_value += 1
        self.n_aff = 0
        self.n_ch = 0
        for m in range(n_changed):
            self.old_el[m] = self.elem[self.changed[m]]
            self._add_affected(self.changed[m])
        for m in range(n_changed):
            for s in range(self.offsets[self.changed[m]], self.offsets[self.changed[m] + 1]):
                sl = self._add_affected(self.indices[s])
                if self.lattice:  # the neighbour sees changed atom m at the reverse offset
                    self.ch_off[self.n_ch] = self.back_oid[s]
                    self.ch_next[self.n_ch] = self.ch_head[sl]
                    self.ch_head[sl] = self.n_ch
                    self.n_ch += 1
        if self.lattice:
            self._prefetch_affected()
        for m in range(n_changed):
            self.elem[self.changed[m]] = self.new_el[m]
        for m in range(n_changed):
            k = self.changed[m]
            full[m] = not self.sf.same_layout[self.new_el[m] * self.sf.n_el + self.old_el[m]]
            if full[m]:
                self._full_descriptor(k, self.new_el[m], &self.G_new[self.slot[k], 0])
        if self.lattice:
            for m in range(n_changed):
                self.elem[self.changed[m]] = self.sf.n_el
        for s in range(self.n_aff):
            k = self.aff[s]
            m = self._changed_index(k)
            if m >= 0:
                c = self.new_el[m]
                if full[m]:
                    self.aff_el[s] = c
                    continue
            else:
                c = self.elem[k]
            self.aff_el[s] = c
            g = &self.G_new[s, 0]
            memcpy(g, &self.G[k, 0], self.width * sizeof(double))
            if self.lattice:
                self._update_descriptor_lattice(k, s, c, g)
            else:
                self._update_descriptor(k, c, g)
        for m in range(n_changed):
            self.elem[self.changed[m]] = self.old_el[m]
        self._energies(self.n_aff, &self.aff_el[0], &self.G_new[0, 0], &self.E_new[0])
        for s in range(self.n_aff):
            delta += self.E_new[s] - self.E[self.aff[s]]
        self.pending = True
        self.pending_delta = delta
        return delta

    cdef void _prefetch_affected(self) noexcept nogil:
        """Ask the CPU for the descriptor rows and lattice neighbours of every affected atom at
        once, so that on a large particle their cache misses overlap instead of queueing."""
        cdef Py_ssize_t s
        cdef long k, byte
        for s in range(self.n_aff):
            k = self.aff[s]
            for byte in range(0, self.width * sizeof(double), 64):
                nanomc_prefetch(<char*> &self.G[k, 0] + byte)
            for byte in range(0, self.n_off * sizeof(int), 64):
                nanomc_prefetch(<char*> &self.atom_at[k * self.n_off] + byte)

    cdef inline long _new_element(self, long atom) noexcept nogil:
        """Element of a changed atom after the pending change."""
        return self.new_el[self._changed_index(atom)]

    cdef void _update_descriptor(self, long k, long c, double* g) noexcept nogil:
        """Move the terms of k's neighbour entries that are changed atoms to their new slots.

        Radial: one term per changed entry. Angular: each triplet (k; a, b) with a changed
        entry a, counted once when b is changed too; skipped if its element pair is unchanged.
        """
        cdef long a, b, n, ea_old, ea_new, eb_old, eb_new
        cdef SFMap old_map, new_map
        cdef long start = self.offsets[k], stop = self.offsets[k + 1]
        cdef double rmax = self.sf.tri_rmax[c], ang_rmax = self.sf.ang_rmax[c]
        cdef double* vals = &self.sf_buf[0]
        cdef const double* t
        for a in range(start, stop):
            if not self._is_changed(self.indices[a]):
                continue
            ea_old = self._old_element(self.indices[a])
            ea_new = self.elem[self.indices[a]]
            n = sf_pair_values(&self.sf, c, self.dist[a], &self.fc[a, 0], vals)
            old_map, new_map = sf_radial_map(&self.sf, c, ea_old), sf_radial_map(&self.sf, c, ea_new)
            sf_scatter(old_map, n, vals, -1.0, g)
            sf_scatter(new_map, n, vals, 1.0, g)
            if self.dist[a] >= ang_rmax:
                continue
            for b in range(start, stop):
                if b == a or (b < a and self._is_changed(self.indices[b])) or self.dist[b] >= ang_rmax:
                    continue
                eb_old = self._old_element(self.indices[b])
                eb_new = self.elem[self.indices[b]]
                if self._same_pair(ea_old, eb_old, ea_new, eb_new):
                    continue
                if self.triplet_cache:
                    t = &self.tri[self.tri_off[k] + (a - start) * (stop - start) + (b - start), 0]
                    if t[1] >= rmax:
                        continue
                elif sf_triplet_geometry(&self.sf, &self.vec[a, 0], &self.vec[b, 0], self.dist[a],
                                         self.dist[b], rmax, &self.geo_buf[0]):
                    t = &self.geo_buf[0]
                else:
                    continue
                n = sf_triplet_values(&self.sf, c, t[0], self.dist[a], self.dist[b], t[1],
                                      &self.fc[a, 0], &self.fc[b, 0], t + 2, vals)
                if n == 0:
                    continue
                # both maps first: their table reads are then shared, not repeated after the stores
                old_map = sf_angular_map(&self.sf, c, ea_old, eb_old)
                new_map = sf_angular_map(&self.sf, c, ea_new, eb_new)
                sf_scatter(old_map, n, vals, -1.0, g)
                sf_scatter(new_map, n, vals, 1.0, g)

    cdef void _update_descriptor_lattice(self, long k, long sl, long c, double* g) noexcept nogil:
        """_update_descriptor from the lattice tables, for affected atom k (slot sl, element c).

        For each offset at which k sees a changed atom: the radial values move from the old
        element's map to the new one; the angular values of the triplets with every other
        neighbour b (the offset's rows) are summed per element of b, then moved from the old
        pair's map to the new one in one scatter per element. Changed atoms and sites without
        an atom (element n_el) and vacancies are summed into slots no map reads; a triplet of
        two changed atoms is moved on its own, once.
        """
        cdef long r, r2, oa, ob, j, p, q, row, e, ea_old, ea_new, eb_old, eb_new
        cdef long n_el = self.sf.n_el, D = self.n_off, t = self.lat_el[c]
        cdef long n_rad = sf_radial_count(&self.sf, c), n_ang = self.sf.ash_ptr[c + 1] - self.sf.ash_ptr[c]
        cdef long width = self.lat_ang.shape[1]
        cdef const int* nb = &self.atom_at[k * D]
        cdef const int* part = &self.part_off[0]
        cdef const long* el = &self.elem[0]
        cdef const double* v
        cdef double* acc = &self.ang_acc[0]
        cdef double* acc_e
        r = self.ch_head[sl]
        while r >= 0:
            oa = self.ch_off[r]
            j = nb[oa]
            ea_old = self._old_element(j)
            ea_new = self._new_element(j)
            v = &self.lat_rad[t * D + oa, 0]
            sf_scatter(sf_radial_map(&self.sf, c, ea_old), n_rad, v, -1.0, g)
            sf_scatter(sf_radial_map(&self.sf, c, ea_new), n_rad, v, 1.0, g)
            if n_ang:
                memset(acc, 0, (n_el + 1) * width * sizeof(double))
                # el[n_atoms] = n_el: no atom there
                nanomc_sum_rows(&self.lat_ang[0, 0], width, n_ang, self.part_ptr[t * D + oa],
                                self.part_ptr[t * D + oa + 1], part, nb, el, acc)
                for e in range(n_el - 1):  # the elements with maps: not the vacancy, not changed atoms
                    sf_scatter(sf_angular_map(&self.sf, c, ea_old, e), n_ang, acc + e * width, -1.0, g)
                    sf_scatter(sf_angular_map(&self.sf, c, ea_new, e), n_ang, acc + e * width, 1.0, g)
                r2 = self.ch_next[r]
                while r2 >= 0:
                    ob = self.ch_off[r2]
                    row = self.lat_row[(t * D + oa) * D + ob]
                    if row >= 0:
                        eb_old = self._old_element(nb[ob])
                        eb_new = self._new_element(nb[ob])
                        if not self._same_pair(ea_old, eb_old, ea_new, eb_new):
                            v = &self.lat_ang[row, 0]
                            sf_scatter(sf_angular_map(&self.sf, c, ea_old, eb_old), n_ang, v, -1.0, g)
                            sf_scatter(sf_angular_map(&self.sf, c, ea_new, eb_new), n_ang, v, 1.0, g)
                    r2 = self.ch_next[r2]
            r = self.ch_next[r]

    cdef inline bint _same_pair(self, long a_old, long b_old, long a_new, long b_new) noexcept nogil:
        return (a_old == a_new and b_old == b_new) or (a_old == b_new and b_old == a_new)

    cdef void apply(self) noexcept nogil:
        """Make the pending proposal the state."""
        cdef Py_ssize_t s
        cdef long k
        for s in range(self.n_aff):
            k = self.aff[s]
            memcpy(&self.G[k, 0], &self.G_new[s, 0], self.width * sizeof(double))
            self.E[k] = self.E_new[s]
        for s in range(self.n_changed):
            self.elem[self.changed[s]] = self.new_el[s]
        self.total += self.pending_delta
        self.pending = False

    # ------------------------------------------------------------ Python interface
    def delta_swap(self, long i, long j):
        """ΔE (eV) of exchanging the elements of atoms i and j (indices already checked)."""
        if self.elem[i] == self.elem[j]:
            self.pending = False
            return 0.0
        return self.propose(2, i, self.elem[j], j, self.elem[i])

    def delta_swaps(self, long i, long j, long k, long l):
        """ΔE (eV) of exchanging the elements of atoms i and j and those of k and l in one proposal (four
        distinct atoms, indices already checked): a composite move."""
        if len({i, j, k, l}) != 4:
            raise ValueError(f"a composite move changes four distinct atoms, got {i}, {j}, {k}, {l}")
        return self.propose_swaps(i, j, k, l)

    def delta_flip(self, long i, long element):
        """ΔE (eV) of giving atom i the element index `element` (indices already checked)."""
        if self.elem[i] == element:
            self.pending = False
            return 0.0
        return self.propose(1, i, element, -1, -1)

    def commit(self):
        """Apply the pending proposal; False if there was none."""
        if not self.pending:
            return False
        self.apply()
        return True

    def discard(self):
        """Forget the pending proposal."""
        self.pending = False

    def set_elements(self, long[::1] elements):
        """Replace every element (indices) and re-evaluate from scratch; returns E (eV)."""
        np.asarray(self.elem)[:] = elements
        return self.recompute()

    def get_state(self):
        """Exact copy of the state: elements, descriptors, atomic energies, total, best record."""
        return {"elements": np.asarray(self.elem).copy(), "descriptors": np.asarray(self.G).copy(),
                "atomic_energies": np.asarray(self.E).copy(), "total": self.total,
                "best_elements": np.asarray(self.best_elem).copy(), "best_total": self.best_total}

    def set_state(self, state):
        """Restore a get_state() copy bit for bit (shapes are checked)."""
        for key, arr in (("elements", self.elem), ("descriptors", self.G), ("atomic_energies", self.E),
                         ("best_elements", self.best_elem)):
            if np.shape(state[key]) != np.shape(arr):
                raise ValueError(f"state {key} has shape {np.shape(state[key])}, expected {np.shape(arr)}")
        np.asarray(self.elem)[:] = state["elements"]
        np.asarray(self.G)[:, :] = state["descriptors"]
        np.asarray(self.E)[:] = state["atomic_energies"]
        np.asarray(self.best_elem)[:] = state["best_elements"]
        self.total = float(state["total"])
        self.best_total = float(state["best_total"])
        self.pending = False

    def reset_best(self):
        """Forget the lowest-energy record; the current state becomes it."""
        self.best_total = self.total
        self.best_elem = np.array(self.elem, dtype=np.int64)

    @property
    def best_elements(self):
        """Elements of the lowest-energy state seen by the sweeps since reset_best()."""
        return np.asarray(self.best_elem).copy()

    cdef inline bint _metropolis(self, double delta, double beta, double u) noexcept nogil:
        return delta <= 0.0 or u < exp(-beta * delta)

    cdef inline void _note_best(self) noexcept nogil:
        if self.total < self.best_total:
            self.best_total = self.total
            memcpy(&self.best_elem[0], &self.elem[0], self.n_atoms * sizeof(long))

    cdef inline long _seen_element(self, long s, long v, long o) noexcept nogil:
        """Element of atom s as it would be after exchanging the elements of v and o (v = o = −1: as it is)."""
        if s == v:
            return self.elem[o]
        if s == o:
            return self.elem[v]
        return self.elem[s]

    cdef long _carry_pairs(self, const long[::1] shell_ptr, const long[::1] shell, const long[::1] group,
                           long a, long b, long v_swap, long o_swap, long pick, long* picked) noexcept nogil:
        """The vacancy moves a composite trial may add to the swap of a and b: pairs (v, o) of a vacancy v
        among a's anion neighbours (shell[shell_ptr[a]:shell_ptr[a+1]]) that are not b's and an occupied
        site o of v's swap group among b's anion neighbours that are not a's, with the elements seen as
        after exchanging v_swap and o_swap (−1: as they are). Returns how many there are; if pick ≥ 0,
        pair number `pick` (in shell order) goes to picked[0], picked[1]."""
        cdef long p, q, v, o, count = 0, x = self.sf.n_el - 1
        for p in range(shell_ptr[a], shell_ptr[a + 1]):
            v = shell[p]
            if self._seen_element(v, v_swap, o_swap) != x:
                continue
            if _in_shell(shell_ptr, shell, b, v):
                continue
            for q in range(shell_ptr[b], shell_ptr[b + 1]):
                o = shell[q]
                if group[o] != group[v] or self._seen_element(o, v_swap, o_swap) == x:
                    continue
                if _in_shell(shell_ptr, shell, a, o):
                    continue
                if count == pick:
                    picked[0] = v
                    picked[1] = o
                count += 1
        return count

    cdef inline void _swap_in_lists(self, long[::1] site_list, long[::1] site_pos, long a, long b) noexcept nogil:
        """Keep the site lists of sweep_swaps true after a and b exchanged elements."""
        cdef long pa = site_pos[a], pb = site_pos[b]
        site_list[pa] = b
        site_list[pb] = a
        site_pos[a] = pb
        site_pos[b] = pa

    def sweep_swaps(self, double beta, const long[::1] movable, const long[::1] group,
                    long[::1] site_list, long[::1] site_pos, const long[::1] block_start,
                    const double[:, ::1] uniforms, const long[::1] partner_ptr=None,
                    const long[::1] partners=None, double neighbour_fraction=0.0,
                    const long[::1] shell_ptr=None, const long[::1] shell=None, double composite_fraction=0.0):
        """Canonical Metropolis trials at β = 1/(k_B T) (1/eV); returns (accepted, unlike trials).

        Trial t: site a = movable[⌊u0·n⌋] (so a swap group is picked in proportion to its movable
        sites); partner b uniform among the sites of a's swap group holding another element (a
        vacancy X is an element like any other); accept if u2 < exp(−β ΔE). site_list lists each group's sites
        ordered by element (group g, element e: block_start[g*(n_el+1)+e] up to the next
        entry), site_pos is its inverse; both are kept up to date.
        Neighbour swaps: if u3 < neighbour_fraction, b is instead uniform among a's neighbours
        partners[partner_ptr[a]:partner_ptr[a+1]] (a symmetric table of sites of a's group), and a
        trial that draws a like neighbour does nothing. The pair {a, b} is then proposed with
        probability (1/n_a + 1/n_b)/n whatever the occupation, so the plain Metropolis rule keeps
        detailed balance; uniforms needs a fourth column.
        Composite trials: if u4 < composite_fraction (uniforms then need six columns), a and b are
        drawn as above with a partner from the whole group, and a vacancy next to a moves along:
        shell[shell_ptr[i]:shell_ptr[i+1]] lists the anion sites next to site i (SwapGroups.anion_shells).
        With N(a, b) the number of pairs (v, o) of _carry_pairs, the trial proposes, if N(a, b) > 0, the
        swap of a and b together with the swap of the pair number ⌊u5·N(a, b)⌋, accepted if
        u2 < exp(−β ΔE)·N(a, b)/N'(b, a), N' counted after the move (the reverse trial draws b then a,
        with the same probability, and one of N'(b, a) pairs: Hastings). If N(a, b) = 0 it proposes the
        plain swap when N(b, a) = 0 too (a condition symmetric in a and b that the swap does not change,
        so the plain Metropolis rule holds) and nothing otherwise. composite_proposed and
        composite_accepted count the four-site trials.
        """
        cdef long n_el = self.sf.n_el, n_mov = movable.shape[0]
        cdef long t, a, b, g, ea, eb, e, k, n_other, n_fwd, n_rev, v, o
        cdef long accepted = 0, unlike = 0
        cdef long picked[2]
        cdef const long* blocks
        cdef double delta, log_ratio
        cdef bint local, composite
        if block_start.shape[0] % (n_el + 1) or site_pos.shape[0] != self.n_atoms:
            raise ValueError(f"site blocks for {n_el} element indices (the potential's and X) and "
                             f"{self.n_atoms} atoms expected")
        if neighbour_fraction > 0.0 and (partner_ptr is None or partners is None or uniforms.shape[1] < 4
                                         or partner_ptr.shape[0] != self.n_atoms + 1):
            raise ValueError("neighbour swaps need a partner table over all atoms and four uniforms per trial")
        if composite_fraction > 0.0 and (shell_ptr is None or shell is None or uniforms.shape[1] < 6
                                         or shell_ptr.shape[0] != self.n_atoms + 1):
            raise ValueError("composite moves need an anion-shell table over all atoms and six uniforms per trial")
        self.composite_proposed = 0
        self.composite_accepted = 0
        with nogil:
            for t in range(uniforms.shape[0]):
                a = movable[<long> floor(uniforms[t, 0] * n_mov)]
                g = group[a]
                ea = self.elem[a]
                blocks = &block_start[g * (n_el + 1)]
                composite = composite_fraction > 0.0 and uniforms[t, 4] < composite_fraction
                local = not composite and neighbour_fraction > 0.0 and uniforms[t, 3] < neighbour_fraction
                if local:
                    n_other = partner_ptr[a + 1] - partner_ptr[a]
                    if n_other == 0:
                        continue
                    b = partners[partner_ptr[a] + <long> floor(uniforms[t, 1] * n_other)]
                    eb = self.elem[b]
                    if eb == ea:
                        continue
                else:
                    n_other = (blocks[n_el] - blocks[0]) - (blocks[ea + 1] - blocks[ea])
                    if n_other == 0:
                        continue
                    k = <long> floor(uniforms[t, 1] * n_other)
                    for e in range(n_el):
                        if e == ea:
                            continue
                        if k < blocks[e + 1] - blocks[e]:
                            break
                        k -= blocks[e + 1] - blocks[e]
                    eb = e
                    b = site_list[blocks[e] + k]
                if composite:
                    n_fwd = self._carry_pairs(shell_ptr, shell, group, a, b, -1, -1, -1, picked)
                    if n_fwd == 0 and self._carry_pairs(shell_ptr, shell, group, b, a, -1, -1, -1, picked):
                        continue
                    if n_fwd:
                        self._carry_pairs(shell_ptr, shell, group, a, b, -1, -1,
                                          <long> floor(uniforms[t, 5] * n_fwd), picked)
                        v, o = picked[0], picked[1]
                        n_rev = self._carry_pairs(shell_ptr, shell, group, b, a, v, o, -1, picked)
                        unlike += 1
                        self.composite_proposed += 1
                        delta = self.propose_swaps(a, b, v, o)
                        log_ratio = log(<double> n_fwd / <double> n_rev)
                        if beta * delta - log_ratio <= 0.0 or uniforms[t, 2] < exp(log_ratio - beta * delta):
                            self.apply()
                            accepted += 1
                            self.composite_accepted += 1
                            self._swap_in_lists(site_list, site_pos, a, b)
                            self._swap_in_lists(site_list, site_pos, v, o)
                            self._note_best()
                        continue
                unlike += 1
                delta = self.propose(2, a, eb, b, ea)
                if self._metropolis(delta, beta, uniforms[t, 2]):
                    self.apply()
                    accepted += 1
                    self._swap_in_lists(site_list, site_pos, a, b)
                    self._note_best()
            self.pending = False
        return accepted, unlike

    def sweep_flips(self, double beta, const long[::1] movable, const long[::1] group,
                    const long[::1] allowed_ptr, const long[::1] allowed, const double[::1] mu,
                    const double[:, ::1] uniforms):
        """Semi-grand-canonical Metropolis trials at β (1/eV); returns the number accepted.

        Trial t: site a = movable[⌊u0·n⌋]; new element uniform among the other elements allowed
        in a's group (allowed[allowed_ptr[g]:allowed_ptr[g+1]]); accept if
        u2 < exp(−β (ΔE − (μ_new − μ_old))), μ in eV per element index.
        """
        cdef long n_mov = movable.shape[0]
        cdef long t, a, g, ea, enew, k, n_allowed
        cdef long accepted = 0
        cdef double delta
        if mu.shape[0] != self.sf.n_el:
            raise ValueError(f"{self.sf.n_el} chemical potentials (the potential's elements and X) expected, "
                             f"got {mu.shape[0]}")
        with nogil:
            for t in range(uniforms.shape[0]):
                a = movable[<long> floor(uniforms[t, 0] * n_mov)]
                g = group[a]
                ea = self.elem[a]
                n_allowed = allowed_ptr[g + 1] - allowed_ptr[g]
                if n_allowed < 2:
                    continue
                k = <long> floor(uniforms[t, 1] * (n_allowed - 1))
                enew = allowed[allowed_ptr[g] + k]
                if enew == ea:  # skip the current element: take the last allowed one instead
                    enew = allowed[allowed_ptr[g + 1] - 1]
                delta = self.propose(1, a, enew, -1, -1)
                if self._metropolis(delta - (mu[enew] - mu[ea]), beta, uniforms[t, 2]):
                    self.apply()
                    accepted += 1
                    self._note_best()
            self.pending = False
        return accepted

    @property
    def elements(self):
        return np.asarray(self.elem).copy()

    @property
    def descriptors(self):
        return np.asarray(self.G).copy()

    @property
    def atomic_energies(self):
        return np.asarray(self.E).copy()

    @property
    def last_affected(self):
        """Atoms whose descriptors the last proposal touched."""
        return np.asarray(self.aff[: self.n_aff]).copy()

    @property
    def nbytes(self):
        """Bytes held by the cached geometry, state and proposal scratch."""
        arrays = [self.offsets, self.indices, self.vec, self.dist, self.fc, self.elem, self.G,
                  self.E, self.stamp, self.aff, self.slot, self.G_new, self.E_new, self.tri_off, self.tri,
                  self.best_elem, self.aff_el, self.nn_work, self.batch_rows, self.batch_out]
        if self.lattice:
            arrays += [self.back_oid, self.atom_at, self.lat_rad, self.part_ptr, self.part_off, self.lat_ang,
                       self.lat_row, self.lat_el, self.ch_head, self.ch_next, self.ch_off, self.ang_acc]
        total = 0
        for x in arrays:
            total += np.asarray(x).nbytes
        return total
