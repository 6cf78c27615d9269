"""Shared helpers and fixtures: random test structures and small random potentials.

Helpers are plain functions (importable as `from conftest import ...`) so they can feed
`pytest.mark.parametrize`; every one takes a fixed seed.
"""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

try:
    import nanomc._ext  # noqa: F401  (a checkout whose kernels are not built: say how to build them)
except ImportError as exc:
    sys.exit(f"nanomc tests: {exc}")  # one line, exit status 1 (pytest.exit would print a traceback)

from ase import Atoms
from ase.build import bulk, fcc100, fcc111
from ase.cluster import Octahedron
from ase.neighborlist import neighbor_list as ase_neighbor_list

import nanomc
from nanomc.local_energy import LocalEnergyModel
from nanomc.potential import (AngularFunction, CutoffFunction, DescriptorSet, Network, Potential, RadialFunction,
                              chebyshev_descriptor_set)

sys.path.insert(0, str(Path(__file__).parent))  # `import reference` from any test module

CUTOFF = 6.5


# --------------------------------------------------------------------------- structures


def min_distance(atoms: Atoms, probe: float = 3.0) -> float:
    """Smallest interatomic distance (periodic images included), inf if none below `probe`."""
    _, _, d = ase_neighbor_list("ijd", atoms, probe, self_interaction=False)
    return float(d.min()) if len(d) else np.inf


def random_cluster(elements, n, seed, min_dist=2.0, density=0.06) -> Atoms:
    """n atoms in a cube (rejection sampling, all pairs ≥ min_dist Å); pbc False, zero cell.

    density in atoms/Å³ (fcc metals: ~0.085); elements drawn at random, each at least once
    when n ≥ len(elements).
    """
    rng = np.random.default_rng(seed)
    side = (n / density) ** (1.0 / 3.0)
    pos = []
    tries = 0
    while len(pos) < n:
        tries += 1
        assert tries < 200000, "rejection sampling failed: lower the density"
        p = rng.uniform(0.0, side, 3)
        if all(np.linalg.norm(p - q) >= min_dist for q in pos):
            pos.append(p)
    symbols = list(elements) * (n // len(elements)) + [str(s) for s in rng.choice(elements, n % len(elements))]
    rng.shuffle(symbols)
    # shift away from the origin so nothing relies on positions inside a cell
    return Atoms(symbols=symbols, positions=np.array(pos) - side / 3.0, pbc=False)


def random_in_cell(elements, n, cell, pbc, seed, min_dist=2.0, spill=0.0) -> Atoms:
    """n random atoms in `cell` with the given pbc, all distances (images included) ≥ min_dist.

    spill > 0 draws fractional coordinates in [−spill, 1 + spill) so some atoms lie outside
    the cell (positions are not wrapped).
    """
    rng = np.random.default_rng(seed)
    cell = np.asarray(cell, dtype=float)
    symbols = [str(s) for s in rng.choice(elements, n)]
    atoms = Atoms(symbols=symbols[:0], cell=cell, pbc=pbc)
    tries = 0
    while len(atoms) < n:
        tries += 1
        assert tries < 100000, "rejection sampling failed"
        f = rng.uniform(-spill, 1.0 + spill, 3)
        trial = atoms + Atoms(symbols[len(atoms)], positions=[f @ cell], cell=cell, pbc=pbc)
        if len(trial) == 1 and not any(pbc):
            atoms = trial
            continue
        if min_distance(trial, probe=min_dist + 0.1) >= min_dist:
            atoms = trial
    return atoms


def bulk_alloy(elements, seed, a=3.75, repeat=(2, 2, 2), rattle=0.05) -> Atoms:
    """Periodic fcc supercell (cubic, 4·prod(repeat) atoms), random occupation, small rattle."""
    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(repeat)
    atoms.set_chemical_symbols([str(s) for s in rng.choice(elements, len(atoms))])
    atoms.positions += rng.normal(0.0, rattle, atoms.positions.shape)
    return atoms


def skewed_cell(elements, seed, n=6) -> Atoms:
    """Triclinic periodic cell with strongly non-orthogonal vectors, random positions."""
    cell = np.array([[7.0, 0.0, 0.0], [3.1, 6.2, 0.0], [-2.4, 1.7, 6.6]])
    return random_in_cell(elements, n, cell, (True, True, True), seed, min_dist=2.0, spill=0.3)


def small_cell(element="Cu") -> Atoms:
    """1-atom fcc primitive cell (plane spacing 2.17 Å, much smaller than the 6.5 Å cutoff)."""
    return bulk(element, "fcc", a=3.76)


def small_triclinic(elements, seed) -> Atoms:
    """2-atom triclinic cell, every vector and plane spacing smaller than the cutoff."""
    cell = np.array([[3.3, 0.0, 0.0], [1.2, 3.1, 0.0], [0.7, -0.9, 3.4]])
    return random_in_cell(elements, 2, cell, (True, True, True), seed, min_dist=2.0)


def slab(elements, seed, kind="111") -> Atoms:
    """fcc slab, pbc (True, True, False), random occupation, small rattle."""
    rng = np.random.default_rng(seed)
    build = fcc111 if kind == "111" else fcc100
    atoms = build("Cu", size=(2, 2, 3), a=3.75, vacuum=6.0)
    assert list(atoms.pbc) == [True, True, False]
    atoms.set_chemical_symbols([str(s) for s in rng.choice(elements, len(atoms))])
    atoms.positions += rng.normal(0.0, 0.05, atoms.positions.shape)
    return atoms


def mixed_pbc(elements, seed, pbc=(True, False, True), n=8) -> Atoms:
    """Random atoms in a skewed cell periodic along some directions only (some outside the cell)."""
    cell = np.array([[6.1, 0.0, 0.0], [1.3, 7.4, 0.0], [0.9, -1.6, 5.3]])
    return random_in_cell(elements, n, cell, pbc, seed, min_dist=2.0, spill=0.4)


def structure_zoo(elements, seed=0):
    """(name, Atoms) pairs covering all boundary conditions, for parametrised tests."""
    return [
        ("cluster", random_cluster(elements, 14, seed)),
        ("bulk", bulk_alloy(elements, seed + 1, repeat=(2, 1, 1))),
        ("skewed", skewed_cell(elements, seed + 2)),
        ("small_cell", small_cell(elements[0])),
        ("small_triclinic", small_triclinic(elements, seed + 3)),
        ("slab", slab(elements, seed + 4)),
        ("mixed_TFT", mixed_pbc(elements, seed + 5, (True, False, True))),
        ("mixed_FTF", mixed_pbc(elements, seed + 6, (False, True, False))),
    ]


# --------------------------------------------------------------------------- potentials


def small_descriptor_set(elements, cutoff=CUTOFF) -> DescriptorSet:
    """Default-style descriptor set kept small so the Python reference stays fast."""
    return nanomc.default_descriptor_set(elements, cutoff, n_radial=3, angular_etas=[0.01, 0.1])


def element_specific_sets(elements) -> dict[str, DescriptorSet]:
    """Hand-built descriptor sets that differ between central elements (sizes, η, ζ incl. 2.5, λ)."""
    sets = {}
    for k, c in enumerate(elements):
        radial = [RadialFunction(0.05 + 0.3 * k, 0.0, e) for e in elements]
        radial += [RadialFunction(1.2, 2.6 + 0.4 * k, elements[(k + m) % len(elements)]) for m in range(k + 1)]
        angular = []
        for a_ in range(len(elements)):
            for b_ in range(a_, len(elements)):
                pair = (elements[b_], elements[a_])  # deliberately unsorted: must not matter
                angular.append(AngularFunction(0.005 + 0.01 * k, 1.0, 1.0, pair))
                angular.append(AngularFunction(0.02, 2.5, -1.0, pair))
                if (a_ + b_ + k) % 2 == 0:
                    angular.append(AngularFunction(0.05, 4.0 + k, 1.0, pair))
                    angular.append(AngularFunction(0.003, 1.7, 1.0, pair))
        sets[c] = DescriptorSet(tuple(radial), tuple(angular))
    return sets


def make_potential(
    elements,
    cutoff=CUTOFF,
    hidden=(6, 5),
    activation="tanh",
    seed=0,
    twist=0.0,
    e0=None,
    scaling=None,
    descriptor_sets=None,
) -> Potential:
    """A random potential built through the Potential constructor (e0, scaling, per-element sets)."""
    rng = np.random.default_rng(seed)
    if descriptor_sets is None:
        dset = small_descriptor_set(elements, cutoff)
        descriptor_sets = {e: dset for e in elements}
    nets = {
        e: Network.random(descriptor_sets[e].size, hidden, activation, rng, twist=twist) for e in elements
    }
    return Potential(elements, cutoff, descriptor_sets, nets, scaling=scaling, e0=e0)


#: (radial order, R_c^r, angular order, R_c^a) in Å: radial cutoff longer, shorter, equal
ORDERS = [(8, 6.0, 4, 4.5), (5, 4.0, 6, 5.5), (10, 5.0, 10, 5.0)]


def chebyshev_potential(elements, orders=ORDERS[0], seed=0, hidden=(6, 5), spins=None):
    """Random potential with aenet's Chebyshev descriptor for every element; cutoff max(R_c^r, R_c^a)."""
    nr, rcr, na, rca = orders
    dset = chebyshev_descriptor_set(elements, nr, rcr, na, rca, spins)
    return make_potential(elements, cutoff=max(rcr, rca), hidden=hidden, seed=seed,
                          descriptor_sets={e: dset for e in elements},
                          scaling={e: (np.full(dset.size, 0.5), np.full(dset.size, 0.2)) for e in elements})


def mixed_sets(elements):
    """Per element: plain and weighted Gaussians and power factors sharing shapes (several map
    layers), Chebyshev functions, its own positions."""
    a, b = elements[0], elements[-1]
    radial = (
        RadialFunction(0.5, 2.0, a),
        RadialFunction(0.5, 2.0, None, weights={a: 0.5, b: -2.0}),
        RadialFunction(0.5, 2.0, b),
        RadialFunction(0.0, 0.0, None, CutoffFunction("cos", 4.0), "chebyshev", 3, {a: 1.0, b: 0.25}),
        RadialFunction(0.0, 0.0, a, CutoffFunction("poly2", 5.0, 0.2), "chebyshev", 2),
    )
    angular = (
        AngularFunction(0.02, 2.0, 1.0, (a, b)),
        AngularFunction(0.02, 2.0, 1.0, None, weights={(b, a): 3.0, (b, b): 1.0}),
        AngularFunction(0.01, 1.0, -1.0, None, 1.0, "wide", weights={(a, a): -1.0, (a, b): 0.5}),
        AngularFunction(0.0, 1.0, 1.0, None, 0.0, "wide", CutoffFunction("cos", 4.5), "chebyshev", 4,
                        {(a, a): 1.0, (a, b): -1.0, (b, b): 2.0}),
        AngularFunction(0.0, 1.0, 1.0, (b, b), 0.0, "wide", CutoffFunction("cos", 3.5), "chebyshev", 1),
    )
    n = len(radial) + len(angular)
    return {e: DescriptorSet(radial, angular, tuple(np.random.default_rng(k).permutation(n)))
            for k, e in enumerate(elements)}


def fitted_potential(elements, structures, **kw) -> Potential:
    """make_potential with scaling fitted on `structures` and nonzero E0 per element."""
    e0 = {e: -1.5 - 0.75 * k for k, e in enumerate(elements)}
    pot = make_potential(elements, e0=e0, **kw)
    pot.fit_scaling(structures)
    # rebuild through the constructor so tables are fresh and scaling passes validation
    return Potential(pot.elements, pot.cutoff, pot.descriptor_sets, pot.networks,
                     scaling=pot.scaling, e0=pot.e0)


def random_rotation(seed) -> np.ndarray:
    """A random proper rotation matrix (QR of a Gaussian matrix, det +1)."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q @ np.diag(np.sign(np.diag(r)))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def write_campaign(directory: Path, potential_bytes: bytes, text: str, name: str = "params.toml") -> Path:
    """A campaign's parameter file `name` (text dedented) in `directory`, next to the potential file pot.h5
    it names; returns the parameter file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pot.h5").write_bytes(potential_bytes)
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def held_out_errors(training: Path, potential: Potential) -> tuple[int, np.ndarray]:
    """(number of structures, per-atom energy errors of `potential` in meV/atom on the held-out ones):
    the trainer's split of the committed labels a training file (train.toml) names."""
    from nanomc.campaign.schema import load_config
    from nanomc.training.io import read_reference
    from nanomc.training.trainer import TRAIN_SCHEMA, split

    config, _ = load_config(training, TRAIN_SCHEMA)
    structures = read_reference([training.parent / f for f in config["data"]["files"]])
    _, test = split(len(structures), config["data"]["test_fraction"], config["data"]["seed"])
    return len(structures), np.array([1e3 * (potential.energy(structures[k]) - structures[k].info["energy"])
                                      / len(structures[k]) for k in test])


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def pot_AuCu() -> Potential:
    return make_potential(["Au", "Cu"], seed=7)


@pytest.fixture(scope="session")
def pot_AuCuPd() -> Potential:
    return make_potential(["Au", "Cu", "Pd"], seed=8)


@pytest.fixture(scope="session")
def campaign_potential_file(tmp_path_factory):
    """A small random Au–Cu potential file (R_c 4.5 Å, few functions) for fast campaign tests."""
    dset = nanomc.default_descriptor_set(["Au", "Cu"], 4.5, n_radial=3, angular_etas=[0.05])
    pot = nanomc.Potential.random(["Au", "Cu"], 4.5, hidden=(5,), seed=4, descriptor_set=dset)
    path = tmp_path_factory.mktemp("pot") / "pot.h5"
    pot.save(path)
    return path


@pytest.fixture(scope="session")
def potential_bytes(campaign_potential_file):
    """The bytes of campaign_potential_file, to write next to a test's parameter file."""
    return campaign_potential_file.read_bytes()


@pytest.fixture(scope="session")
def enumerable_cluster():
    """(potential, 13-atom cuboctahedron, energy (eV) of each of its 2^13 Au/Cu occupations by bit
    pattern (bit i set: atom i is Cu), number of Cu of each pattern) for exact sampling tests."""
    atoms = Octahedron("Cu", 3, 1, latticeconstant=3.9)
    # radial functions only: a sweep costs 4× less than with angular ones (whose incremental updates
    # test_local_energy checks); seed 2 has a large heat capacity (|Δ|/σ = 0.074) at its T*
    dset = nanomc.default_descriptor_set(["Au", "Cu"], 5.0, n_radial=3, angular_etas=[])
    pot = nanomc.Potential.random(["Au", "Cu"], 5.0, hidden=(4,), seed=2, descriptor_set=dset)
    model = LocalEnergyModel(pot, atoms)
    n = len(atoms)
    energies = np.empty(2**n)
    for code in range(2**n):
        z = np.array([(code >> i) & 1 for i in range(n)], dtype=np.int64)
        energies[code] = model._kernel.set_elements(z)
    n_cu = np.array([bin(c).count("1") for c in range(2**n)])
    return pot, atoms, energies, n_cu


# --------------------------------------------------------------------------- incremental engine


def random_occupation(atoms: Atoms, elements, seed) -> Atoms:
    """A copy of `atoms` with elements drawn uniformly from `elements`."""
    atoms = atoms.copy()
    atoms.set_chemical_symbols(np.random.default_rng(seed).choice(elements, len(atoms)).tolist())
    return atoms


def assert_moves_match_full(pot: Potential, atoms: Atoms, cache: bool, seed: int, trials: int = 30,
                            flip_every: int = 3, commit_every: int = 2) -> None:
    """Random delta_flip (every `flip_every`-th trial) and delta_swap proposals of a
    LocalEnergyModel equal full re-evaluation; some are committed; the end state is exact."""
    from nanomc.local_energy import LocalEnergyModel

    model = LocalEnergyModel(pot, atoms, triplet_cache=cache)
    assert model.uses_triplet_cache == cache
    assert model.energy == pytest.approx(pot.energy(atoms), rel=1e-12)
    rng = np.random.default_rng(seed)
    for trial in range(trials):
        i, j = (int(x) for x in rng.choice(len(atoms), 2, replace=False))
        current = model.to_atoms()
        after = current.copy()
        if trial % flip_every == 0:
            new = str(rng.choice([e for e in pot.elements if e != current[i].symbol]))
            after[i].symbol = new
            delta = model.delta_flip(i, new)
        else:
            s = after.get_chemical_symbols()
            s[i], s[j] = s[j], s[i]
            after.set_chemical_symbols(s)
            delta = model.delta_swap(i, j)
        assert delta == pytest.approx(pot.energy(after) - pot.energy(current), rel=1e-9, abs=1e-10)
        if trial % commit_every:
            model.commit()
    cached = model.descriptors
    assert model.recompute() == pytest.approx(pot.energy(model.to_atoms()), rel=1e-12)
    np.testing.assert_allclose(cached, model.descriptors, rtol=0, atol=1e-12)


def assert_cache_paths_agree(pot: Potential, atoms: Atoms, seed: int, trials: int) -> None:
    """The per-atom paths with and without the triplet cache give bit-identical ΔE and descriptors
    (the lattice path is compared with them in test_lattice_path.py)."""
    from nanomc.local_energy import LocalEnergyModel

    fast = LocalEnergyModel(pot, atoms, triplet_cache=True)
    slow = LocalEnergyModel(pot, atoms, lattice=False, memory_limit=0)
    assert fast.engine_path == "triplet cache" and slow.engine_path == "direct"
    assert slow.nbytes < fast.nbytes
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        i, j = rng.choice(len(atoms), 2, replace=False)
        assert fast.delta_swap(i, j) == slow.delta_swap(i, j)
        fast.commit()
        slow.commit()
    assert np.array_equal(fast.descriptors, slow.descriptors)
