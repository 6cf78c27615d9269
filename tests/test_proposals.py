"""The sweep kernels propose moves uniformly: counts of proposed moves against uniform (chi-square).

At β = 0 (infinite temperature, μ = 0) the Metropolis test accepts every proposal, so one
trial's proposal is read off the change of the occupation. Each trial starts from the same
state (restored after every trial), so the proposals are independent draws from one
distribution: site a uniform among the movable sites; for a swap, partner b uniform among the
sites of a's swap group holding another element; for a flip, the new element uniform among
the other elements a's group allows.

Sizes: 13 sites, sites 11 and 12 frozen; group 0 (sites 0–5, Au Au Cu Cu Cu Pd, may hold
Au/Cu/Pd) and group 1 (sites 6–10, Au Au Cu Cu Cu, may hold Au/Cu). A swap is seen as an
unordered pair: 17 cells, the rarest (Au–Pd) of probability (1/4 + 1/5)/11; flips: 17 cells of
(site, new element), the rarest of probability 1/22. With 6000 trials every cell expects
≥ 245 counts. A kernel that never proposes some move (⌊u·(n−1)⌋ in place of ⌊u·n⌋ never picks
the last partner, which here empties the cells (4, 5) and (7, 10)) adds ≥ 245 to a statistic
whose 10⁻³ critical value at 16 degrees of freedom is 39.3. The negative controls check the
power on the observed counts against milder biases: a last partner picked half as often as it
should be (swaps) and a 60:40 instead of 50:50 choice of the new element (flips: expected
statistic ≈ 6000·(12/22)·0.04 ≈ 130) must both be rejected at 10⁻³.
"""
import numpy as np
import pytest
from ase.build import bulk
from ase.cluster import Octahedron
from scipy.stats import chisquare

import nanomc
from nanomc.fluorite import fluorite_particle
from nanomc.local_energy import LocalEnergyModel
from nanomc.mc import SwapGroups

ELEMENTS = ["Au", "Cu", "Pd"]
N_TRIALS = 6000
ALPHA = 1e-3


@pytest.fixture(scope="module")
def setup():
    atoms = Octahedron("Cu", 3, 1, latticeconstant=3.9)  # 13 atoms
    atoms.set_chemical_symbols(["Au", "Au", "Cu", "Cu", "Cu", "Pd", "Au", "Au", "Cu", "Cu", "Cu", "Pd", "Au"])
    dset = nanomc.default_descriptor_set(ELEMENTS, 5.0, n_radial=2, angular_etas=[0.05])
    pot = nanomc.Potential.random(ELEMENTS, 5.0, hidden=(3,), seed=1, descriptor_set=dset)
    group = np.array([0] * 6 + [1] * 5 + [-1, -1])
    groups = SwapGroups(group, [[0, 1, 2], [0, 1]])
    return LocalEnergyModel(pot, atoms), groups


def observed_moves(model, groups, kind, seed):
    """N_TRIALS single-trial proposals at β = 0, each from the same state; kind "swap", "flip" or
    "neighbour" (swaps whose partner is always drawn among the site's neighbours)."""
    kernel = model._kernel
    start = kernel.get_state()
    before = model.element_indices
    rng = np.random.default_rng(seed)
    moves = []
    partners = groups.neighbour_partners(model.atoms)
    for u in rng.random((N_TRIALS, 1, 4)):
        if kind == "neighbour":
            site_list, site_pos, block_start = groups.site_blocks(before, len(model.species))
            kernel.sweep_swaps(0.0, groups.movable, groups.group, site_list, site_pos, block_start, u, *partners, 1.0)
        elif kind == "swap":
            site_list, site_pos, block_start = groups.site_blocks(before, len(model.species))
            kernel.sweep_swaps(0.0, groups.movable, groups.group, site_list, site_pos, block_start, u[:, :3].copy())
        else:
            kernel.sweep_flips(0.0, groups.movable, groups.group, groups.allowed_ptr, groups.allowed_flat,
                               np.zeros(len(model.species)), u[:, :3].copy())
        after = model.element_indices
        changed = [int(i) for i in np.flatnonzero(after != before)]
        # a swap is seen as its two sites, a flip as (site, new element); no change as ()
        moves.append(tuple(changed) + (tuple(int(after[i]) for i in changed) if kind == "flip" else ()))
        kernel.set_state(start)
    return moves


def swap_probabilities(elements, groups, last_weight=1.0):
    """Exact probability of each proposed swap {a, b}; last_weight: relative chance of a's last partner."""
    prob = {}
    n_mov = len(groups.movable)
    for a in groups.movable:
        partners = [b for b in groups.movable if groups.group[b] == groups.group[a] and elements[b] != elements[a]]
        # the kernel orders a's partners by (element, site): the last one is the highest site of the last element
        partners.sort(key=lambda b: (elements[b], b))
        weights = np.ones(len(partners))
        weights[-1] = last_weight
        for b, w in zip(partners, weights / weights.sum()):
            pair = (int(min(a, b)), int(max(a, b)))
            prob[pair] = prob.get(pair, 0.0) + w / n_mov
    return prob


def neighbour_probabilities(elements, groups, partner_ptr, partners, last_weight=1.0):
    """Exact probability of each neighbour-swap proposal {a, b} and of no move (key ()): a uniform, b
    uniform among a's neighbours (last_weight: relative chance of the last one), nothing if alike."""
    prob = {(): 0.0}
    n_mov = len(groups.movable)
    for a in groups.movable:
        near = partners[partner_ptr[a]:partner_ptr[a + 1]]
        weights = np.ones(len(near))
        weights[-1] = last_weight
        for b, w in zip(near, weights / weights.sum()):
            pair = (int(min(a, b)), int(max(a, b))) if elements[b] != elements[a] else ()
            prob[pair] = prob.get(pair, 0.0) + w / n_mov
    return prob


def flip_probabilities(elements, groups):
    """Exact probability of each proposed (site, new element)."""
    prob = {}
    for a in groups.movable:
        others = [e for e in groups.allowed[groups.group[a]] if e != elements[a]]
        for e in others:
            prob[(int(a), int(e))] = 1.0 / (len(groups.movable) * len(others))
    return prob


def p_value(moves, prob):
    """Chi-square p-value of the observed moves against exact probabilities; 0 if a move has none."""
    keys = sorted(prob)
    if not set(moves) <= set(keys):
        return 0.0
    index = {k: j for j, k in enumerate(keys)}
    counts = np.bincount([index[m] for m in moves], minlength=len(keys))
    expected = np.array([prob[k] for k in keys]) * len(moves)
    assert expected.min() >= 100
    return chisquare(counts, expected).pvalue


def test_swap_proposals_are_uniform_over_unlike_pairs_of_a_group(setup):
    model, groups = setup
    elements = model.element_indices
    moves = observed_moves(model, groups, "swap", seed=21)
    prob = swap_probabilities(elements, groups)
    assert len(prob) == 2 * 3 + 2 * 1 + 3 * 1 + 2 * 3  # unlike pairs: group 0 (Au2 Cu3 Pd1), group 1 (Au2 Cu3)
    assert sum(prob.values()) == pytest.approx(1.0)
    assert p_value(moves, prob) > ALPHA
    # negative control: the same counts against a kernel that picks the last partner half as often
    assert p_value(moves, swap_probabilities(elements, groups, last_weight=0.5)) < ALPHA


def test_neighbour_partners_are_the_nearest_shell_of_each_group():
    """fcc: 12 nearest neighbours in the bulk; fluorite: 12 cation and 6 anion neighbours, each group
    separately; the table is symmetric and never crosses groups or frozen sites."""
    cube = fluorite_particle("CeO2", "cube", 5.411, 3)  # a cube cut from fluorite: a bulk-like centre
    symbols = np.array(cube.get_chemical_symbols())
    group = np.where(symbols == "Ce", 0, 1)
    group[0] = -1
    groups = SwapGroups(group, [[0, 1], [2, 3]])
    ptr, partners = groups.neighbour_partners(cube)
    count = np.diff(ptr)
    centre = np.linalg.norm(cube.positions - cube.positions.mean(axis=0), axis=1)
    inner = centre < centre.max() - 6.0
    assert inner.any() and set(count[inner & (symbols == "Ce")]) == {12} and set(count[inner & (symbols == "O")]) == {6}
    owner = np.repeat(np.arange(len(cube)), count)
    assert count[0] == 0 and 0 not in partners and np.all(group[owner] == group[partners])
    assert sorted(zip(owner, partners)) == sorted(zip(partners, owner))
    nearest = np.where(symbols[owner] == "Ce", 5.411 / np.sqrt(2), 5.411 / 2)  # cation, anion nn distance (Å)
    assert np.allclose(np.linalg.norm(cube.positions[owner] - cube.positions[partners], axis=1), nearest)
    periodic = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3)  # every site has 12 nearest neighbours
    ptr, partners = SwapGroups.single(len(periodic), [0, 1]).neighbour_partners(periodic)
    assert set(np.diff(ptr)) == {12}


def test_the_partner_table_is_computed_once_per_geometry():
    """Replicas share their SwapGroups: the second chain on the same sites gets the same table object;
    a strained copy of the sites gets its own (and the same shells)."""
    periodic = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(3)
    groups = SwapGroups.single(len(periodic), [0, 1])
    first = groups.neighbour_partners(periodic)
    assert all(a is b for a, b in zip(groups.neighbour_partners(periodic.copy()), first))
    strained = periodic.copy()
    strained.set_cell(strained.cell * 1.01, scale_atoms=True)
    other = groups.neighbour_partners(strained)
    assert other[0] is not first[0] and np.array_equal(other[1], first[1])


def test_neighbour_swap_proposals_weigh_each_pair_by_its_two_sites_neighbour_counts(setup):
    """Pair {a, b} with probability (1/n_a + 1/n_b)/n whatever the occupation: symmetric, so Metropolis
    keeps detailed balance."""
    model, groups = setup
    elements = model.element_indices
    partner_ptr, partners = groups.neighbour_partners(model.atoms)
    moves = observed_moves(model, groups, "neighbour", seed=23)
    prob = neighbour_probabilities(elements, groups, partner_ptr, partners)
    assert sum(prob.values()) == pytest.approx(1.0) and 0 < prob[()] < 1
    assert p_value(moves, prob) > ALPHA
    assert p_value(moves, neighbour_probabilities(elements, groups, partner_ptr, partners, last_weight=0.5)) < ALPHA


def test_flip_proposals_are_uniform_over_sites_and_other_allowed_elements(setup):
    model, groups = setup
    elements = model.element_indices
    moves = observed_moves(model, groups, "flip", seed=22)
    prob = flip_probabilities(elements, groups)
    assert len(prob) == 6 * 2 + 5 * 1 and sum(prob.values()) == pytest.approx(1.0)
    assert p_value(moves, prob) > ALPHA
    # negative control: on group-0 sites, the lower of the two other elements 60 %, the higher 40 %
    biased = dict(prob)
    for a in np.flatnonzero(groups.group == 0):
        low, high = sorted(e for (site, e) in prob if site == a)
        biased[(a, low)], biased[(a, high)] = 1.2 * prob[(a, low)], 0.8 * prob[(a, high)]
    assert p_value(moves, biased) < ALPHA


def test_sweeps_refuse_tables_made_for_another_element_count(setup):
    """Site blocks or chemical potentials sized without the vacancy index, or neighbour swaps without their
    table or fourth uniform, are an error, not a crash."""
    model, groups = setup
    kernel = model._kernel
    u = np.full((1, 3), 0.5)
    site_list, site_pos, block_start = groups.site_blocks(model.element_indices, len(ELEMENTS))
    with pytest.raises(ValueError, match="site blocks"):
        kernel.sweep_swaps(0.0, groups.movable, groups.group, site_list, site_pos, block_start, u)
    site_list, site_pos, block_start = groups.site_blocks(model.element_indices, len(model.species))
    partner_ptr, partners = groups.neighbour_partners(model.atoms)
    with pytest.raises(ValueError, match="neighbour swaps need"):  # three uniforms per trial, not four
        kernel.sweep_swaps(0.0, groups.movable, groups.group, site_list, site_pos, block_start, u, partner_ptr,
                           partners, 0.5)
    with pytest.raises(ValueError, match="neighbour swaps need"):  # no table
        kernel.sweep_swaps(0.0, groups.movable, groups.group, site_list, site_pos, block_start, np.full((1, 4), 0.5),
                           None, None, 0.5)
    with pytest.raises(ValueError, match="chemical potentials"):
        kernel.sweep_flips(0.0, groups.movable, groups.group, groups.allowed_ptr, groups.allowed_flat,
                           np.zeros(len(ELEMENTS)), u)
