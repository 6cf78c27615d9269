"""Composite moves (issue 38 §3): a cation swap that carries a vacancy along, for oxides such as
Cu-doped CeO2 with swap groups [["Ce", "Cu"], ["O", "X"]].

The move (LocalEnergyKernel.sweep_swaps): sites a, b drawn as in a canonical trial (a uniform
among the movable sites, b uniform among the unlike sites of a's group); N(a, b) counts the
pairs (v, o) of a vacancy v next to a but not b and an occupied site o of v's group next to b but
not a ("next to": SwapGroups.anion_shells). If N(a, b) > 0 one pair is drawn uniformly and both
swaps are one trial, accepted with min(1, exp(−βΔE)·N(a, b)/N'(b, a)), N' counted after the move;
if N(a, b) = 0 the trial is the plain swap when N(b, a) = 0 too, and nothing otherwise.

Checks: the move written out as a transition matrix on Ce6O8 (420 occupations of 2 Cu and 2 X)
leaves the Boltzmann distribution invariant, and would not without the Hastings factor; the
kernel's proposals from fixed states match that matrix's (at β = 0, chi-square); long chains
sample the exact Boltzmann distribution (chi-square of energy levels, with a wrong temperature and
the no-Hastings distribution as negative controls); the cached energy stays exact after thousands of
committed composite moves on every engine path; composition, frozen sites and groups are kept;
bad `composite_moves` values are one-line errors naming the file and line.
"""
import numpy as np
import pytest
from scipy.stats import chisquare

import nanomc
from nanomc.local_energy import LocalEnergyModel, MoveError
from nanomc.mc import KB, Chain, SwapGroups
from test_mc_sampling import chi_square, level_index
from nanomc.campaign import run_campaign
from nanomc.campaign.results import read_results
from nanomc.campaign.schema import ConfigError, load_config
from nanomc.particles import read_frames
from test_vacancies import (BASE, CE, CU, GROUPS, O, PARAMS, SPECIES, X, campaign, ce6o8,  # noqa: F401 (fixtures)
                            enumerated, fluorite_cluster, oxide_files, oxide_potential, real_energy, sublattices)

ALPHA = 1e-3


# --------------------------------------------------------------------------- the move, written out


def shells_of(groups, atoms):
    ptr, table = groups.anion_shells(atoms, X)
    return [set(table[ptr[i]:ptr[i + 1]].tolist()) for i in range(len(atoms))]


def carry_pairs(z, groups, shells, a, b):
    """The pairs (v, o) a composite trial drawing a then b may move, in the kernel's order."""
    return [(v, o) for v in sorted(shells[a] - shells[b]) if z[v] == X
            for o in sorted(shells[b] - shells[a]) if z[o] != X and groups.group[o] == groups.group[v]]


def swapped(z, *pairs):
    y = z.copy()
    for i, j in pairs:
        y[i], y[j] = y[j], y[i]
    return y


def composite_proposals(z, groups, shells, hastings=True):
    """Every outcome of one composite trial from occupation z: (new occupation, proposal
    probability, Hastings ratio N(a, b)/N'(b, a)); a trial that does nothing is left out."""
    out = []
    n = len(groups.movable)
    for a in groups.movable:
        partners = [b for b in groups.movable if groups.group[b] == groups.group[a] and z[b] != z[a]]
        for b in partners:
            p = 1.0 / (n * len(partners))
            forward = carry_pairs(z, groups, shells, a, b)
            if not forward:
                if not carry_pairs(z, groups, shells, b, a):
                    out.append((swapped(z, (a, b)), p, 1.0))
                continue
            for v, o in forward:
                y = swapped(z, (a, b), (v, o))
                ratio = len(forward) / len(carry_pairs(y, groups, shells, b, a)) if hastings else 1.0
                out.append((y, p / len(forward), ratio))
    return out


def plain_proposals(z, groups):
    n = len(groups.movable)
    out = []
    for a in groups.movable:
        partners = [b for b in groups.movable if groups.group[b] == groups.group[a] and z[b] != z[a]]
        out += [(swapped(z, (a, b)), 1.0 / (n * len(partners)), 1.0) for b in partners]
    return out


def transition_matrix(states, energies, beta, groups, shells, fraction, hastings=True):
    """One trial of Chain(composite_fraction=fraction) as a matrix over `states` (rows: occupations)."""
    index = {s.tobytes(): k for k, s in enumerate(states)}
    T = np.zeros((len(states), len(states)))
    for k, z in enumerate(states):
        moves = [(fraction, m) for m in composite_proposals(z, groups, shells, hastings)]
        moves += [(1.0 - fraction, m) for m in plain_proposals(z, groups)] if fraction < 1 else []
        for weight, (y, p, ratio) in moves:
            m = index[y.tobytes()]
            T[k, m] += weight * p * min(1.0, ratio * np.exp(-beta * (energies[m] - energies[k])))
        T[k, k] += 1.0 - T[k].sum()
    return T


def stationary(T):
    w, v = np.linalg.eig(T.T)
    p = np.real(v[:, np.argmin(np.abs(w - 1.0))])
    return p / p.sum()


@pytest.fixture(scope="module")
def two_cu_two_x(enumerated):
    """The 420 occupations of Ce6O8 with 2 Cu and 2 X, their energies (eV), a temperature (K) at
    which the levels are all in play, and the anion shells (4 O sites per cation, 2 shared with
    each of its 4 nearest cations, none with the opposite one)."""
    pot, atoms, energies, n_cu, n_x = enumerated
    mask = (n_cu == 2) & (n_x == 2)
    bits = (np.flatnonzero(mask)[:, None] >> np.arange(14)) & 1
    temperature = np.std(energies[mask]) / (1.5 * KB)
    return pot, atoms, BASE + bits, energies[mask], mask, temperature, shells_of(GROUPS, atoms)


def test_anion_shells_are_the_nearest_anions_of_each_cation(two_cu_two_x):
    _, atoms, *_, shells = two_cu_two_x
    cations, anions = np.arange(6), np.arange(6, 14)
    for c in cations:
        d = atoms.get_distances(c, anions)
        assert shells[c] == set(anions[d < d.min() + 1e-6].tolist()) and len(shells[c]) == 4
    assert all(not shells[a] for a in anions)
    assert len(shells[0] & shells[1]) == 0 and len(shells[0] & shells[2]) == 2  # opposite, adjacent


@pytest.mark.parametrize("fraction", [0.5, 1.0])
def test_the_move_leaves_the_boltzmann_distribution_invariant(two_cu_two_x, fraction):
    """Exact: π T = π for the one-trial transition matrix (Hastings ratio included); without the ratio
    some occupations would be off by 20–34 %."""
    _, _, states, e, _, temperature, shells = two_cu_two_x
    beta = 1.0 / (KB * temperature)
    pi = np.exp(-beta * (e - e.min()))
    pi /= pi.sum()
    T = transition_matrix(states, e, beta, GROUPS, shells, fraction)
    assert np.allclose(T.sum(axis=1), 1.0) and T.min() >= 0.0
    assert np.abs(pi @ T - pi).max() < 1e-15
    wrong = stationary(transition_matrix(states, e, beta, GROUPS, shells, fraction, hastings=False))
    assert np.abs(wrong / pi - 1.0).max() > 0.15


def one_trial_outcomes(model, groups, uniforms, beta=0.0):
    """The occupation after a single composite trial from the model's state, for each row of uniforms
    (six columns); the state is restored after each."""
    kernel = model._kernel
    start = kernel.get_state()
    before = model.element_indices
    ptr, table = groups.anion_shells(model.atoms, X)
    out = []
    for u in uniforms:
        site_list, site_pos, block_start = groups.site_blocks(before, len(SPECIES))
        kernel.sweep_swaps(beta, groups.movable, groups.group, site_list, site_pos, block_start, u[None, :].copy(),
                           None, None, 0.0, ptr, table, 1.0)
        out.append(model.element_indices.tobytes())
        kernel.set_state(start)
    return out


N_TRIALS = 20000  # the rarest outcome (probability 1/448) expects 45


def test_the_kernel_proposes_and_accepts_as_written_out(two_cu_two_x):
    """At β = 0 a trial is accepted with min(1, N/N'), so one trial's outcome has the probability
    p·min(1, N/N') of the written-out move: N_TRIALS single trials from the occupation where the
    Hastings factor matters most (largest chi-square distance between the outcome probabilities with
    and without it: 0.30 per trial), against those probabilities (chi-square), and against the
    probabilities without the factor (must be rejected)."""
    pot, atoms, states, *_, shells = two_cu_two_x

    def expected(z, hastings):
        prob = {}
        for y, p, ratio in composite_proposals(z, GROUPS, shells, hastings):
            prob[y.tobytes()] = prob.get(y.tobytes(), 0.0) + p * min(1.0, ratio)
        prob[z.tobytes()] = 1.0 - sum(prob.values())
        return prob

    def distance(z):
        right, wrong = expected(z, True), expected(z, False)
        return sum((right[k] - wrong[k]) ** 2 / wrong[k] for k in right)

    z = states[int(np.argmax([distance(z) for z in states]))]
    assert distance(z) * N_TRIALS > 1000
    model = LocalEnergyModel(pot, atoms)
    model._kernel.set_elements(z)
    observed = one_trial_outcomes(model, GROUPS, np.random.default_rng(11).random((N_TRIALS, 6)))

    def p_value(prob):
        keys = list(prob)
        counts = np.array([observed.count(k) for k in keys], float)
        assert counts.sum() == len(observed)  # nothing outside the written-out moves
        exp = np.array([prob[k] for k in keys]) * len(observed)
        return chisquare(counts, exp).pvalue

    right = expected(z, True)
    assert min(right.values()) * len(observed) >= 40
    assert p_value(right) > ALPHA
    assert p_value(expected(z, False)) < ALPHA


N_SAMPLES, THIN = 12000, 3


@pytest.mark.parametrize("fraction", [0.5, 1.0], ids=["half-composite", "composite-only"])
def test_composite_moves_sample_boltzmann(two_cu_two_x, fraction):
    """Chi-square of the sampled energy levels (16) against the exact distribution, thinned to 3
    sweeps (τ_int ≈ 1 sweep from the transition matrix's gap); negative controls: 1.3 T, and for
    composite moves only the stationary distribution without the Hastings factor (expected
    statistic 12000 × 0.0083 ≈ 100 above its 15 degrees of freedom)."""
    pot, atoms, states, e, mask, temperature, shells = two_cu_two_x
    start = atoms.copy()
    start.set_chemical_symbols([SPECIES[k] for k in states[0]])
    model = LocalEnergyModel(pot, start)
    chain = Chain(model, GROUPS, np.random.default_rng(5), composite_fraction=fraction)
    chain.sweep(temperature, 20)
    codes, composite = [], 0
    for _ in range(N_SAMPLES):
        chain.sweep(temperature, THIN)
        composite += model._kernel.composite_accepted
        codes.append(int(np.sum((model.element_indices - BASE) << np.arange(14))))
    codes = np.array(codes)
    assert np.all(mask[codes])  # both compositions are conserved
    assert composite > N_SAMPLES * fraction  # composite moves were accepted, many
    _, level = np.unique(np.round(e, 9), return_inverse=True)
    level_of = np.full(mask.size, -1)
    level_of[mask] = level
    beta = 1.0 / (KB * temperature)
    weights = np.exp(-beta * (e - e.min()))
    assert chi_square(level_of[codes], level, weights) > ALPHA
    assert chi_square(level_of[codes], level, np.exp(-beta / 1.3 * (e - e.min()))) < 1e-6
    if fraction == 1.0:
        wrong = stationary(transition_matrix(states, e, beta, GROUPS, shells, fraction, hastings=False))
        assert chi_square(level_of[codes], level, wrong) < 1e-6


# --------------------------------------------------------------------------- exactness and bookkeeping

PATHS = {"lattice": {}, "triplet cache": {"lattice": False, "triplet_cache": True},
         "direct": {"lattice": False, "memory_limit": 0}}
MOVES = {"lattice": 20_000, "triplet cache": 5000, "direct": 5000}  # the slower paths: fewer


@pytest.mark.parametrize("path", list(PATHS))
def test_cached_energy_is_exact_after_many_composite_moves(path):
    """A Cu-doped CeO2 cluster (Cu 30 %, X 15 %) on each engine path (rattled off the lattice for the
    other two); composite moves only (MOVES committed), at a temperature where most are accepted. The cached energy,
    descriptors and atomic energies equal a full re-evaluation to 1e-9 eV, and ΔE of a composite move
    equals the energy difference of two full evaluations."""
    atoms = fluorite_cluster(7.0, seed=4, cu=0.3, vacancies=0.15, rattle=0.0 if path == "lattice" else 0.03)
    pot = oxide_potential()
    model = LocalEnergyModel(pot, atoms, **PATHS[path])
    assert model.engine_path == path
    cations, anions = sublattices(atoms)
    groups = SwapGroups(np.where(np.isin(np.arange(len(atoms)), cations), 0, 1), [[CE, CU], [O, X]])
    chain = Chain(model, groups, np.random.default_rng(17), composite_fraction=1.0)
    committed = 0
    while committed < MOVES[path]:
        chain.sweep(4000.0, 10)
        committed += model._kernel.composite_accepted
    cached = model.energy, model.descriptors, model.atomic_energies
    fresh = model.recompute()
    assert abs(cached[0] - fresh) < 1e-9
    np.testing.assert_allclose(cached[1], model.descriptors, rtol=0, atol=1e-9)
    np.testing.assert_allclose(cached[2], model.atomic_energies, rtol=0, atol=1e-9)
    z = model.element_indices
    i, j = cations[z[cations] == CU][0], cations[z[cations] == CE][0]
    v, o = anions[z[anions] == X][0], anions[z[anions] == O][0]
    delta = model.delta_swaps(i, j, v, o)
    assert model.commit()
    assert delta == pytest.approx(model.recompute() - fresh, abs=1e-9)


def test_composite_moves_keep_composition_groups_and_frozen_sites():
    """Frozen cations and anions (a third of each, their sites left out of every shell) never change;
    each group keeps its composition; the best-state record and the kernel's site lists stay true."""
    atoms = fluorite_cluster(7.0, seed=6, cu=0.3, vacancies=0.2)
    pot = oxide_potential()
    model = LocalEnergyModel(pot, atoms)
    cations, anions = sublattices(atoms)
    group = np.where(np.isin(np.arange(len(atoms)), cations), 0, 1)
    frozen = np.random.default_rng(2).random(len(atoms)) < 1 / 3
    group[frozen] = -1
    groups = SwapGroups(group, [[CE, CU], [O, X]])
    ptr, table = groups.anion_shells(atoms, X)
    assert np.all(group[table] == 1) and np.all(np.diff(ptr)[group != 0] == 0) and len(table) > 0
    before = model.element_indices
    chain = Chain(model, groups, np.random.default_rng(3), composite_fraction=0.8, neighbour_fraction=0.5)
    accepted = 0
    for _ in range(40):
        chain.sweep(3000.0, 5)
        accepted += model._kernel.composite_accepted
        z = model.element_indices
        assert np.array_equal(z[frozen], before[frozen])
        for g in (0, 1):
            assert np.array_equal(np.sort(z[group == g]), np.sort(before[group == g]))
    assert accepted > 100 and np.count_nonzero(z != before) > 10
    best_energy, best = chain.best
    model._kernel.set_elements(best)
    assert model.energy == pytest.approx(best_energy, abs=1e-9)
    # the site lists the kernel kept up to date are those of the final occupation
    site_list, site_pos, block_start = groups.site_blocks(z, len(SPECIES))
    model._kernel.set_elements(z)
    mine = site_list.copy()
    model._kernel.sweep_swaps(0.0, groups.movable, groups.group, site_list, site_pos, block_start,
                              np.random.default_rng(1).random((50, 6)), None, None, 0.0, ptr, table, 1.0)
    fresh = groups.site_blocks(model.element_indices, len(SPECIES))
    for g in range(2 * (len(SPECIES) + 1) - 1):  # same sets per (group, element) block
        assert set(site_list[block_start[g]:block_start[g + 1]]) == set(fresh[0][fresh[2][g]:fresh[2][g + 1]])
    assert not np.array_equal(mine, site_list)


def test_composite_moves_need_their_table_and_canonical_swaps():
    atoms = ce6o8()
    dset = nanomc.default_descriptor_set(["Ce", "Cu", "O"], 5.0, n_radial=2, angular_etas=[0.05])
    model = LocalEnergyModel(nanomc.Potential.random(["Ce", "Cu", "O"], 5.0, hidden=(3,), seed=1, descriptor_set=dset),
                             atoms)
    site_list, site_pos, block_start = GROUPS.site_blocks(model.element_indices, len(SPECIES))
    ptr, table = GROUPS.anion_shells(atoms, X)
    with pytest.raises(ValueError, match="composite moves need"):  # four uniforms per trial, not six
        model._kernel.sweep_swaps(0.0, GROUPS.movable, GROUPS.group, site_list, site_pos, block_start,
                                  np.full((1, 4), 0.5), None, None, 0.0, ptr, table, 0.5)
    with pytest.raises(ValueError, match="composite moves need"):  # no table
        model._kernel.sweep_swaps(0.0, GROUPS.movable, GROUPS.group, site_list, site_pos, block_start,
                                  np.full((1, 6), 0.5), None, None, 0.0, None, None, 0.5)
    for kwargs in ({"composite_fraction": 1.5}, {"composite_fraction": 0.5, "ensemble": "sgc"}):
        with pytest.raises(ValueError, match="composite_fraction"):
            Chain(model, GROUPS, np.random.default_rng(0), **kwargs)
    with pytest.raises(MoveError, match="four distinct"):
        model.delta_swaps(0, 1, 6, 0)


# --------------------------------------------------------------------------- campaigns


@pytest.mark.parametrize("edits,words", [
    ([("seed = 2", "seed = 2\ncomposite_moves = 1.5")],
     ["params.toml:16:", "`composite_moves` is a fraction from 0 to 1, got 1.5"]),
    ([("seed = 2", "seed = 2\ncomposite_moves = -0.1")], ["params.toml:16:", "got -0.1"]),
    ([("seed = 2", 'seed = 2\ncomposite_moves = "half"')], ["params.toml:16:", "composite_moves"]),
    ([('ensemble = "canonical"', 'ensemble = "sgc"'), ("seed = 2", "seed = 2\ncomposite_moves = 0.5\n"
                                                                   "chemical_potentials = { O = -2.0 }")],
     ["params.toml:16:", "`composite_moves` applies to swaps, not to ensemble = \"sgc\""]),
    ([('swap_groups = [["Ce", "Cu"], ["O", "X"]]', 'swap_groups = [["Ce", "Cu"]]'),
      ("composition = { Cu = 0.2, X = 0.1 }", "composition = { Cu = 0.2 }"),
      ("seed = 2", "seed = 2\ncomposite_moves = 0.5")],
     ["params.toml:16:", "needs `swap_groups` with a group that holds X and one that does not"]),
], ids=["above-1", "negative", "text", "sgc", "no-vacancy-group"])
def test_bad_composite_moves_name_the_file_and_line(tmp_path, oxide_files, edits, words):
    text = PARAMS
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    with pytest.raises(ConfigError) as err:
        load_config(campaign(tmp_path, oxide_files, text))
    assert "\n" not in str(err.value)
    for w in words:
        assert w in str(err.value), str(err.value)


def test_campaign_with_composite_moves(tmp_path, oxide_files):
    """composite_moves = 0.5 in a replica campaign: both sublattices keep their composition in every
    snapshot, the chains move, and the final energies are those of the final occupations."""
    params = campaign(tmp_path, oxide_files, PARAMS.replace("seed = 2", "seed = 2\ncomposite_moves = 0.5")
                      .replace("sweeps = 6", "sweeps = 12"))
    config, _ = load_config(params)
    assert config["mc"]["composite_moves"] == 0.5
    (tmp_path / "default").mkdir()
    assert load_config(campaign(tmp_path / "default", oxide_files))[0]["mc"]["composite_moves"] == 0.0
    record = run_campaign(params, quiet=True)
    rec = read_results(tmp_path / "out" / "results.h5")
    for chain in rec.snapshots:
        for snap in chain:
            for g in (0, 1):
                assert np.array_equal(np.sort(snap[rec.group == g]), np.sort(rec.initial_elements[rec.group == g]))
    assert not np.array_equal(rec.final_elements[0], rec.initial_elements)
    pot = nanomc.Potential.load(tmp_path / "pot.h5")
    for t, frame in enumerate(read_frames(tmp_path / "out" / "final.extxyz")):
        assert real_energy(pot, frame) == pytest.approx(record.final_energy[t], abs=1e-8)
