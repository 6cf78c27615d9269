# cython: language_level=3
"""The incremental energy engine for lattice Monte Carlo (DESIGN.md, "Incremental engine").

Positions never move, so the neighbour list, distances and cutoff values are computed once.
The state is the element of every atom, its descriptor vector and its atomic energy.
A proposal (swap of two atoms, or a change of one atom's element) changes the descriptors
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

The Metropolis loops (sweep_swaps, sweep_flips) run whole sweeps here, without Python per
trial: propose -> ΔE -> accept -> commit, with uniform random numbers drawn beforehand by
the caller's numpy Generator (so a run is reproducible and resumable from its RNG state).
"""
import numpy as np
cimport numpy as cnp
from libc.math cimport exp, floor
from libc.string cimport memcpy, memset
from sf_math cimport (SFTables, SFMap, sf_tables_from, sf_pair_values, sf_triplet_values, sf_scatter,
                      sf_radial_map, sf_angular_map, sf_triplet_geometry, sf_pair_geometry,
                      sf_atom_descriptor)
from nn_math cimport NNTables, nn_tables_from, nn_atomic_energy

cnp.import_array()


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
    cdef Py_ssize_t n_aff
    cdef double[:, ::1] G_new
    cdef double[::1] E_new
    cdef double[::1] nn_buf
    cdef double[::1] sf_buf
    cdef double[::1] geo_buf
    cdef long n_changed
    cdef long changed[2]
    cdef long old_el[2]
    cdef long new_el[2]
    cdef readonly bint pending
    # optional triplet cache: (cos θ, R_ab, f_c,q(R_ab) for every cutoff q) of every ordered
    # pair of neighbour entries (a, b) of every atom
    cdef readonly bint triplet_cache
    cdef long[::1] tri_off
    cdef double[:, ::1] tri
    # lowest energy seen by the sweeps and its elements
    cdef readonly double best_total
    cdef long[::1] best_elem
    cdef readonly double pending_delta

    def __init__(self, dict sf_tables, dict nn_tables, long[::1] elements, long[::1] offsets,
                 long[::1] indices, double[:, ::1] vectors, bint triplet_cache=False,
                 LocalEnergyKernel geometry_from=None):
        """geometry_from: another kernel of the same structure and potential whose cached
        geometry (neighbour list, triplet cache) this one shares instead of building its own."""
        self._sf_dict = sf_tables
        self._nn_dict = nn_tables
        self.sf = sf_tables_from(sf_tables)
        self.nn = nn_tables_from(nn_tables)
        self.n_atoms = elements.shape[0]
        self.width = max(1, int(np.max(sf_tables["n_desc"])))
        self.elem = np.array(elements, dtype=np.int64)
        self.G = np.zeros((self.n_atoms, self.width))
        self.E = np.zeros(self.n_atoms)
        self.stamp = np.zeros(self.n_atoms, dtype=np.int64)
        self.stamp_value = 0
        self.aff = np.zeros(self.n_atoms, dtype=np.int64)
        self.G_new = np.zeros((self.n_atoms, self.width))
        self.E_new = np.zeros(self.n_atoms)
        self.nn_buf = np.zeros(2 * max(self.nn.max_width, self.width) + 2)
        self.sf_buf = np.zeros(max(self.sf.max_shapes, 1))
        self.geo_buf = np.zeros(2 + self.sf.n_cut)
        self.pending = False
        if geometry_from is not None:
            self._share_geometry(geometry_from)
        else:
            self._build_geometry(offsets, indices, vectors, triplet_cache)
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
                self.E[i] = nn_atomic_energy(&self.nn, self.elem[i], &self.G[i, 0], &self.nn_buf[0])
        self.total = float(np.sum(self.E))
        return self.total

    cdef inline void _full_descriptor(self, long i, long c, double* out) noexcept nogil:
        memset(out, 0, self.width * sizeof(double))
        if self.sf.n_cut == 0:
            return
        sf_atom_descriptor(&self.sf, c, self.offsets[i], self.offsets[i + 1], &self.indices[0],
                           &self.elem[0], &self.vec[0, 0], &self.dist[0], &self.fc[0, 0], &self.sf_buf[0],
                           &self.geo_buf[0], out)

    cdef inline long _old_element(self, long atom) noexcept nogil:
        """Element of atom before the pending change (elem holds the new ones meanwhile)."""
        if atom == self.changed[0]:
            return self.old_el[0]
        if self.n_changed == 2 and atom == self.changed[1]:
            return self.old_el[1]
        return self.elem[atom]

    cdef inline bint _is_changed(self, long atom) noexcept nogil:
        return atom == self.changed[0] or (self.n_changed == 2 and atom == self.changed[1])

    cdef void _add_affected(self, long k) noexcept nogil:
        if self.stamp[k] != self.stamp_value:
            self.stamp[k] = self.stamp_value
            self.aff[self.n_aff] = k
            self.n_aff += 1

    cdef double propose(self, long n_changed, long a0, long e0, long a1, long e1) noexcept nogil:
        """ΔE (eV) of setting atom a0 to element e0 (and a1 to e1 if n_changed == 2)."""
        cdef long m, k, c
        cdef Py_ssize_t s
        cdef double delta = 0.0
        cdef double* g
        self.n_changed = n_changed
        self.changed[0] = a0
        self.new_el[0] = e0
        self.changed[1] = a1
        self.new_el[1] = e1
        self.stamp_value += 1
        self.n_aff = 0
        for m in range(n_changed):
            self.old_el[m] = self.elem[self.changed[m]]
            self._add_affected(self.changed[m])
            for s in range(self.offsets[self.changed[m]], self.offsets[self.changed[m] + 1]):
                self._add_affected(self.indices[s])
        for m in range(n_changed):
            self.elem[self.changed[m]] = self.new_el[m]
        for s in range(self.n_aff):
            k = self.aff[s]
            g = &self.G_new[s, 0]
            c = self.elem[k]
            if self._is_changed(k) and not self.sf.same_layout[c * self.sf.n_el + self._old_element(k)]:
                self._full_descriptor(k, c, g)
            else:
                memcpy(g, &self.G[k, 0], self.width * sizeof(double))
                self._update_descriptor(k, c, g)
            self.E_new[s] = nn_atomic_energy(&self.nn, c, g, &self.nn_buf[0])
            delta += self.E_new[s] - self.E[k]
        for m in range(n_changed):
            self.elem[self.changed[m]] = self.old_el[m]
        self.pending = True
        self.pending_delta = delta
        return delta

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

    def sweep_swaps(self, double beta, const long[::1] movable, const long[::1] group,
                    long[::1] site_list, long[::1] site_pos, const long[::1] block_start,
                    const double[:, ::1] uniforms):
        """Canonical Metropolis trials at β = 1/(k_B T) (1/eV); returns (accepted, unlike trials).

        Trial t: site a = movable[⌊u0·n⌋] (so a swap group is picked in proportion to its movable
        sites); partner b uniform among the sites of a's swap group holding another element (a
        vacancy X is an element like any other); accept if u2 < exp(−β ΔE). site_list lists each group's sites
        ordered by element (group g, element e: block_start[g*(n_el+1)+e] up to the next
        entry), site_pos is its inverse; both are kept up to date.
        """
        cdef long n_el = self.sf.n_el, n_mov = movable.shape[0]
        cdef long t, a, b, g, ea, eb, e, k, n_other, pa, pb
        cdef long accepted = 0, unlike = 0
        cdef const long* blocks
        cdef double delta
        if block_start.shape[0] % (n_el + 1) or site_pos.shape[0] != self.n_atoms:
            raise ValueError(f"site blocks for {n_el} element indices (the potential's and X) and "
                             f"{self.n_atoms} atoms expected")
        with nogil:
            for t in range(uniforms.shape[0]):
                a = movable[<long> floor(uniforms[t, 0] * n_mov)]
                g = group[a]
                ea = self.elem[a]
                blocks = &block_start[g * (n_el + 1)]
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
                unlike += 1
                delta = self.propose(2, a, eb, b, ea)
                if self._metropolis(delta, beta, uniforms[t, 2]):
                    self.apply()
                    accepted += 1
                    pa = site_pos[a]
                    pb = site_pos[b]
                    site_list[pa] = b
                    site_list[pb] = a
                    site_pos[a] = pb
                    site_pos[b] = pa
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
                  self.E, self.stamp, self.aff, self.G_new, self.E_new, self.tri_off, self.tri,
                  self.best_elem]
        total = 0
        for x in arrays:
            total += np.asarray(x).nbytes
        return total
