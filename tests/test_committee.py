"""Committees: the fused network is the members' mean, files, the engine, training, selection, analysis."""
import h5py
import numpy as np
import pytest
from ase.build import bulk
from ase.cluster import Octahedron

import nanomc
from nanomc.errors import PotentialError, PotentialFileError
from nanomc.local_energy import LocalEnergyModel
from nanomc.potential import Network, Potential
from nanomc.potential.committee import fuse_networks
from nanomc.potential.network import ACTIVATIONS

from conftest import CUTOFF, fitted_potential, random_occupation, small_descriptor_set
from reference import ref_network

ELEMENTS = ["Au", "Cu"]


def committee_of(pots):
    """A committee Potential of plain potentials that share descriptors, scaling and E0."""
    return Potential.from_members(pots)


def random_committee(n=4, hidden=(6, 5), activation="tanh", twist=0.0, seed=0, structures=()):
    """n random potentials with common descriptors, scaling (fitted on `structures`) and E0."""
    first = fitted_potential(ELEMENTS, list(structures), hidden=hidden, activation=activation, twist=twist,
                             seed=seed) if structures else None
    pots = []
    for m in range(n):
        rng = np.random.default_rng(seed + 100 + m)
        dset = small_descriptor_set(ELEMENTS)
        nets = {e: Network.random(dset.size, hidden, activation, rng, twist) for e in ELEMENTS}
        scaling = first.scaling if first else None
        e0 = first.e0 if first else {"Au": -0.3, "Cu": -0.2}
        pots.append(Potential(ELEMENTS, CUTOFF, {e: dset for e in ELEMENTS}, nets, scaling, e0))
    return pots


def particle(seed=0):
    atoms = Octahedron("Au", 5, 1, latticeconstant=3.9)
    return random_occupation(atoms, ELEMENTS, seed)


def cell(seed=0):
    return random_occupation(bulk("Au", "fcc", a=3.9, cubic=True) * (3, 3, 2), ELEMENTS, seed)


# ---------------------------------------------------------------- the fused network


@pytest.mark.parametrize("activation", [a for a in ACTIVATIONS if a != "linear"])
@pytest.mark.parametrize("hidden", [(7,), (6, 5), (4, 3, 5)])
def test_fused_network_is_the_mean_for_every_activation(activation, hidden):
    """For every hidden-layer activation the trainer offers and 1-3 hidden layers, the fused
    network's output equals the mean of the members' outputs (NumPy reference evaluation)."""
    rng = np.random.default_rng(len(hidden))
    members = [Network.random(9, hidden, activation, rng, twist=0.1) for _ in range(3)]
    fused = fuse_networks(members)
    assert fused.sizes == [9, *(3 * h for h in hidden), 1]
    assert fused.layers[-1].activation == "linear"
    for x in rng.uniform(-1.5, 1.5, (5, 9)):
        mean = np.mean([ref_network(net, x) for net in members])
        assert ref_network(fused, x) == pytest.approx(mean, rel=1e-12, abs=1e-12)


def test_members_that_cannot_fuse_are_rejected():
    rng = np.random.default_rng(0)
    with pytest.raises(PotentialError, match="number of layers"):
        fuse_networks([Network.random(4, (3,), "tanh", rng), Network.random(4, (3, 3), "tanh", rng)])
    with pytest.raises(PotentialError, match="layer 0 of member 1 is sigmoid"):
        fuse_networks([Network.random(4, (3,), "tanh", rng), Network.random(4, (3,), "sigmoid", rng)])
    with pytest.raises(PotentialError, match="twist"):
        fuse_networks([Network.random(4, (3,), "twisted_tanh", rng, 0.1),
                       Network.random(4, (3,), "twisted_tanh", rng, 0.2)])
    pots = random_committee(2)
    other_e0 = Potential(ELEMENTS, CUTOFF, pots[1].descriptor_sets, pots[1].networks, pots[1].scaling,
                         {"Au": -0.3, "Cu": -0.25})
    with pytest.raises(PotentialError, match="member 1 differs from member 0 .* only in their networks"):
        Potential.from_members([pots[0], other_e0])
    shifted = {e: (pots[1].scaling[e][0] + 0.1, pots[1].scaling[e][1]) for e in ELEMENTS}
    with pytest.raises(PotentialError, match="member 1 differs"):
        Potential.from_members([pots[0], Potential(ELEMENTS, CUTOFF, pots[1].descriptor_sets, pots[1].networks,
                                                   shifted, pots[1].e0)])
    with pytest.raises(PotentialError, match="not both"):
        Potential(ELEMENTS, CUTOFF, pots[0].descriptor_sets, pots[0].networks, members=[p.networks for p in pots])


# ---------------------------------------------------------------- potential, engine, file


@pytest.mark.parametrize("make", [particle, cell], ids=["cluster", "periodic"])
def test_committee_energy_is_the_member_mean_in_the_engine(make):
    """The engine's energy of a committee equals the mean of the members' full evaluations to
    1e-10 eV, and every incremental ΔE equals a full re-evaluation of the committee mean."""
    atoms = make(1)
    pots = random_committee(4, structures=[particle(5), cell(6)])
    pot = committee_of(pots)
    assert pot.committee_size == 4
    members = np.array([p.energy(atoms) for p in pots])
    np.testing.assert_allclose(pot.member_energies(atoms), members, rtol=0, atol=1e-10)
    assert pot.energy(atoms) == pytest.approx(members.mean(), abs=1e-10)
    model = LocalEnergyModel(pot, atoms)
    assert model.energy == pytest.approx(members.mean(), abs=1e-10)
    rng = np.random.default_rng(2)
    for trial in range(12):
        current = model.to_atoms()
        symbols = current.get_chemical_symbols()
        i = int(rng.integers(len(atoms)))
        j = int(rng.choice([k for k, s in enumerate(symbols) if s != symbols[i]]))
        after = current.copy()
        symbols[i], symbols[j] = symbols[j], symbols[i]
        after.set_chemical_symbols(symbols)
        expected = np.mean([p.energy(after) - p.energy(current) for p in pots])
        assert model.delta_swap(i, j) == pytest.approx(expected, abs=1e-10)
        if trial % 2:
            model.commit()
    assert model.energy == pytest.approx(np.mean([p.energy(model.to_atoms()) for p in pots]), abs=1e-10)


def test_committee_file_round_trip_and_older_readers(tmp_path):
    """A committee file keeps every member; its plain layers are the mean, so a reader that
    ignores the committee gets the committee's energy; a single-network file has no committee;
    a file whose mean does not match its members is refused in one line."""
    atoms = particle(3)
    pots = random_committee(3, structures=[particle(5)])
    pot = committee_of(pots)
    pot.save(tmp_path / "c.h5")
    back = Potential.load(tmp_path / "c.h5")
    assert back.committee_size == 3
    np.testing.assert_array_equal(back.member_energies(atoms), pot.member_energies(atoms))
    for m in range(3):
        for a, b in zip(back.members[m]["Au"].layers, pots[m].networks["Au"].layers):
            np.testing.assert_array_equal(a.weights, b.weights)
    with h5py.File(tmp_path / "c.h5", "a") as f:
        plain = nanomc.potential.store._read_layers(f["Cu"])
        assert plain.sizes == pot.networks["Cu"].sizes
        del f["Au"]["committee"], f["Cu"]["committee"]
    mean_only = Potential.load(tmp_path / "c.h5")
    assert mean_only.committee_size == 1 and mean_only.energy(atoms) == pytest.approx(pot.energy(atoms), abs=1e-12)
    pots[0].save(tmp_path / "one.h5")
    with h5py.File(tmp_path / "one.h5") as f:
        assert "committee" not in f["Au"]
    assert Potential.load(tmp_path / "one.h5").member_energies(atoms).shape == (1,)
    pot.save(tmp_path / "bad.h5")
    with h5py.File(tmp_path / "bad.h5", "a") as f:
        f["Cu"]["committee"]["member_1"]["layer_0"]["bias"][0] += 1.0
    with pytest.raises(PotentialFileError, match=r"bad.h5: the network of Cu is not the mean of its committee"):
        Potential.load(tmp_path / "bad.h5")


# ---------------------------------------------------------------- training


def test_train_command_trains_a_committee(tmp_path):
    """`[network] committee = 3`: the file holds three members from weight seeds 2, 3, 4 with
    common scaling and E0; member 0 is the network a single training gives; each member has
    its log; the recorded test RMSE is that of the members' mean on the held-out structures."""
    import csv

    from nanomc.training.io import read_reference
    from nanomc.training.trainer import split

    from test_training import TRAIN_TOML, cli, write_training

    params = write_training(tmp_path, text=TRAIN_TOML.replace("seed = 2", "seed = 2\ncommittee = 3")
                            .replace("seed = 3", "seed = 3\ncommittee_fraction = 0.8"))
    result = cli("train", params)
    assert result.returncode == 0, result.stderr
    assert "committee member 3 of 3: weight seed 4, 19 training structures" in result.stderr
    pot = Potential.load(tmp_path / "trained.h5")
    assert pot.committee_size == 3 and pot.provenance["committee_size"] == 3
    assert [p.name for p in sorted(tmp_path.glob("log*.csv"))] == ["log-0.csv", "log-1.csv", "log-2.csv", "log.csv"]
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [r["member"] for r in rows] == ["0", "1", "2", "mean"]
    structures = read_reference([tmp_path / "set.extxyz"])
    _, test = split(len(structures), 0.2, 3)
    members = np.array([pot.member_energies(structures[k]) for k in test])
    assert len({tuple(np.round(row, 9)) for row in members.T}) == 3  # the members differ
    err = [(pot.energy(structures[k]) - structures[k].info["energy"]) / len(structures[k]) for k in test]
    rmse = 1000 * np.sqrt(np.mean(np.square(err)))
    assert rmse == pytest.approx(pot.provenance["test_rmse_meV_per_atom"], rel=1e-6)
    assert rmse == pytest.approx(float(rows[-1]["test_rmse"]), rel=1e-6)
    reference = np.array([structures[k].info["energy"] for k in test])[:, None]
    n_atoms = np.array([len(structures[k]) for k in test])[:, None]
    member_rmse = 1000 * np.sqrt(np.mean(((members - reference) / n_atoms) ** 2, axis=0))
    np.testing.assert_allclose(member_rmse, pot.provenance["member_test_rmse_meV_per_atom"], rtol=1e-6)
    # with all training structures, member 0 is what a single-network training writes
    single = tmp_path / "single"
    single.mkdir()
    assert cli("train", write_training(single), "-q").returncode == 0
    full = tmp_path / "full"
    full.mkdir()
    assert cli("train", write_training(full, text=TRAIN_TOML.replace("seed = 2", "seed = 2\ncommittee = 2")),
               "-q").returncode == 0
    one, two = Potential.load(single / "trained.h5"), Potential.load(full / "trained.h5")
    assert two.member(0).content_hash() == one.content_hash()


@pytest.mark.parametrize("old, new, words", [
    ("seed = 2", "seed = 2\ncommittee = 0", ["train.toml:16:", "`committee` must be at least 1"]),
    ("seed = 3", "seed = 3\ncommittee_fraction = 0.0", ["train.toml:6:", "`committee_fraction` must be above 0"]),
    ("seed = 3", "seed = 3\ncommittee_fraction = 1.5", ["train.toml:6:", "`committee_fraction` must be above 0"]),
])
def test_bad_committee_keys_are_one_line_errors(tmp_path, old, new, words):
    from test_training import TRAIN_TOML, cli, write_training

    result = cli("train", write_training(tmp_path, text=TRAIN_TOML.replace(old, new)))
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert all(w in result.stderr for w in words), result.stderr
    assert not (tmp_path / "trained.h5").exists()


# ---------------------------------------------------------------- swap spreads, analysis, selection

CAMPAIGN = """
[particle]
shape = "truncated_octahedron"
size = 5
composition = { Au = 0.3, Cu = 0.7 }

[potential]
file = "pot.h5"

[mc]
temperatures = [400.0, 1000.0]
sweeps = 20
seed = 3
snapshot_interval = 2
checkpoint_interval = 20

[output]
directory = "out"
"""


def small_members(n):
    """n random members with the fast campaign descriptors (R_c 4.5 Å) and common scaling/E0."""
    dset = nanomc.default_descriptor_set(ELEMENTS, 4.5, n_radial=3, angular_etas=[0.05])
    rng = np.random.default_rng(40)
    return [Potential(ELEMENTS, 4.5, {e: dset for e in ELEMENTS},
                      {e: Network.random(dset.size, (5,), "tanh", rng) for e in ELEMENTS}, e0={"Au": -0.1, "Cu": -0.2})
            for _ in range(n)]


@pytest.fixture(scope="module")
def committee_campaign(tmp_path_factory):
    """A finished campaign run with a committee of 3 (pot.h5 next to params.toml), and its members."""
    from nanomc.campaign import run_campaign

    members = small_members(3)
    directory = tmp_path_factory.mktemp("committee")
    committee_of(members).save(directory / "pot.h5")
    (directory / "params.toml").write_text(CAMPAIGN)
    run_campaign(directory / "params.toml", quiet=True)
    return directory / "out" / "results.h5", members


@pytest.mark.parametrize("make", [particle, cell], ids=["cluster", "periodic"])
def test_probe_swap_energies_of_every_member_match_full_evaluation(make):
    """Every member's ΔE of the probe's swaps equals the member's full re-evaluation (1e-10 eV);
    swaps join two unlike sites of one swap group and never a frozen site; moving the engine
    between snapshots leaves it on the snapshot's occupation."""
    from nanomc.analysis.uncertainty import CommitteeProbe

    pots = random_committee(3, structures=[particle(5), cell(6)])
    atoms = make(0)
    group = np.zeros(len(atoms), np.int64)
    group[::5] = -1
    rng = np.random.default_rng(4)
    occupations = rng.integers(0, 2, (3, len(atoms)))
    probe = CommitteeProbe(committee_of(pots), atoms, ELEMENTS, group)
    sample = probe.sample(occupations, 4, rng)
    assert sample.delta.shape == (3, 4, 3)
    for s, occupation in enumerate(occupations):
        before = atoms.copy()
        before.set_chemical_symbols([ELEMENTS[k] for k in occupation])
        np.testing.assert_allclose(sample.energy[s], [p.energy(before) for p in pots], rtol=0, atol=1e-10)
        for k, (i, j) in enumerate(sample.pairs[s]):
            assert group[i] == group[j] == 0 and occupation[i] != occupation[j]
            after = before.copy()
            symbols = after.get_chemical_symbols()
            symbols[i], symbols[j] = symbols[j], symbols[i]
            after.set_chemical_symbols(symbols)
            expected = [p.energy(after) - p.energy(before) for p in pots]
            np.testing.assert_allclose(sample.delta[s, k], expected, rtol=0, atol=1e-10)
    assert np.array_equal(probe.model.element_indices, occupations[-1])   # moved to the last snapshot, unswapped
    np.testing.assert_allclose(sample.spread, np.std(sample.delta, axis=2, ddof=1))


def test_random_swap_without_unlike_partners():
    from nanomc.analysis.uncertainty import random_swap

    rng = np.random.default_rng(0)
    assert random_swap(np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1]), rng) is None
    assert random_swap(np.array([0, 1, 0, 1]), np.array([-1, -1, 0, 0]), rng) in [(2, 3), (3, 2)]


def test_analyze_reports_the_committee_spread_and_nothing_else_changes(committee_campaign, tmp_path):
    """`nanomc analyze` finds the campaign's committee: a section and table rows of the swap
    spread, consistent with info; with --swaps 0 the report is exactly the one without them."""
    import json

    from nanomc.analysis.report import table_from_json
    from nanomc.cli import main

    results, members = committee_campaign
    assert main(["analyze", str(results), "--out", str(tmp_path / "with"), "-q"]) == 0
    assert main(["analyze", str(results), "--out", str(tmp_path / "without"), "--swaps", "0", "-q"]) == 0
    with_md = (tmp_path / "with" / "analysis.md").read_text()
    without_md = (tmp_path / "without" / "analysis.md").read_text()
    start = with_md.index("## Committee spread of swap energies")
    end = with_md.index("## ", start + 3)
    assert with_md[:start] + with_md[end:] == without_md
    assert "8 random swaps of unlike atoms per kept snapshot under the committee of 3 networks" in with_md
    doc = json.loads((tmp_path / "with" / "analysis.json").read_text())
    plain = json.loads((tmp_path / "without" / "analysis.json").read_text())
    committee = doc["info"].pop("committee")
    assert doc["info"] == plain["info"]
    extra = [r for r in doc["rows"] if r["quantity"].startswith("committee_")]
    assert [r for r in doc["rows"] if not r["quantity"].startswith("committee_")] == plain["rows"]
    table = table_from_json((tmp_path / "with" / "analysis.json").read_text())
    assert len(extra) == 2 * 3
    for t in committee["per_temperature"]:
        kept = doc["info"]["snapshots_kept"]
        assert t["swaps"] == 8 * kept
        mean = table.value(quantity="committee_swap_spread", category="mean", temperature_K=t["temperature_K"])
        largest = table.value(quantity="committee_swap_spread", category="max", temperature_K=t["temperature_K"])
        assert 1000 * mean["mean"] == pytest.approx(t["mean_sigma_meV"], rel=1e-9)   # 8 swaps per snapshot
        assert 0 < t["mean_sigma_meV"] <= t["p95_sigma_meV"] <= t["max_sigma_meV"]
        assert 1000 * largest["mean"] <= t["max_sigma_meV"] + 1e-9
    # a single-network potential given explicitly: a note, and the plain report
    members[0].save(tmp_path / "one.h5")
    assert main(["analyze", str(results), "--out", str(tmp_path / "one"), "--potential", str(tmp_path / "one.h5"),
                 "-q"]) == 0
    assert (tmp_path / "one" / "analysis.md").read_text() == without_md


def test_analysis_swap_spread_matches_member_swaps(committee_campaign):
    """The Python API: the reported σ of a snapshot is the spread of members' full-evaluation ΔE."""
    import nanomc.analysis as na
    from nanomc.analysis.uncertainty import CommitteeProbe
    from nanomc.campaign.results import read_results

    results, members = committee_campaign
    record = read_results(results)
    a = na.load(record, committee=committee_of(members), swaps=3, seed=5)
    state = a.series[0]["committee_swap_spread"]
    atoms = nanomc.analysis.analyze.Atoms(positions=record.positions, cell=record.cell, pbc=record.pbc)
    occupations = np.asarray(record.snapshots)[np.asarray(record.snapshot_sweeps) >= a.info["discarded_sweeps"], 0]
    probe = CommitteeProbe(committee_of(members), atoms, list(record.elements), np.asarray(record.group))
    sample = probe.sample(occupations.astype(np.int64), 3, np.random.default_rng([5, 0]))
    np.testing.assert_allclose(state.numerator[:, 0, 0], sample.spread.mean(axis=1), rtol=1e-12)
    s, k = 1, 2
    before = atoms.copy()
    before.set_chemical_symbols([record.elements[z] for z in occupations[s]])
    after = before.copy()
    symbols = after.get_chemical_symbols()
    i, j = sample.pairs[s, k]
    symbols[i], symbols[j] = symbols[j], symbols[i]
    after.set_chemical_symbols(symbols)
    deltas = [p.energy(after) - p.energy(before) for p in members]
    assert sample.spread[s, k] == pytest.approx(np.std(deltas, ddof=1), abs=1e-10)


def test_select_structures_and_pairs(committee_campaign, tmp_path):
    """`nanomc select` writes the n snapshots (pairs) with the largest member spread of the
    energy per atom (of ΔE), largest first; a pair is a snapshot and the same with two unlike
    atoms exchanged; structure files work too; a plain potential is a one-line error."""
    from ase.io import read, write

    from nanomc.training.pairs import read_pairs

    from test_training import cli

    results, members = committee_campaign
    committee_of(members).save(tmp_path / "c.h5")
    r = cli("select", tmp_path / "c.h5", results, "-o", tmp_path / "pick.extxyz", "-n", "4")
    assert r.returncode == 0, r.stderr
    picked = read(tmp_path / "pick.extxyz", ":")
    assert len(picked) == 4
    sigma = [np.std([p.energy(a) for p in members], ddof=1) / len(a) for a in picked]
    np.testing.assert_allclose(sigma, [a.info["committee_sigma_meV_per_atom"] / 1000 for a in picked], rtol=1e-6)
    assert sigma == sorted(sigma, reverse=True)
    # every kept snapshot of both temperatures was a candidate: none scores above the fourth pick
    record = nanomc.campaign.results.read_results(results)
    kept = np.asarray(record.snapshot_sweeps) >= 4      # default discard 0.2 of 20 sweeps
    atoms = picked[0].copy()
    all_sigma = []
    for occupation in np.asarray(record.snapshots)[kept].reshape(-1, len(atoms)):
        atoms.set_chemical_symbols([record.elements[z] for z in occupation])
        all_sigma.append(np.std([p.energy(atoms) for p in members], ddof=1) / len(atoms))
    assert len(all_sigma) == 2 * kept.sum() and sorted(all_sigma)[-4] == pytest.approx(sigma[-1], rel=1e-6)
    r = cli("select", tmp_path / "c.h5", tmp_path / "pick.extxyz", "-o", tmp_path / "pairs.extxyz", "-n", "3",
            "--pairs", "--swaps", "2", "-q")
    assert r.returncode == 0 and r.stdout == "", r.stderr
    pairs = read(tmp_path / "pairs.extxyz", ":")
    assert [a.info["pair_role"] for a in pairs] == ["before", "after"] * 3
    spreads = []
    for before, after in zip(pairs[::2], pairs[1::2]):
        changed = np.flatnonzero(before.numbers != after.numbers)
        assert len(changed) == 2 and before.numbers[changed[0]] == after.numbers[changed[1]]
        spreads.append(np.std([p.energy(after) - p.energy(before) for p in members], ddof=1))
        assert spreads[-1] == pytest.approx(before.info["committee_sigma_meV"] / 1000, rel=1e-6)
    assert spreads == sorted(spreads, reverse=True)
    # once labelled, the selected pairs are a pair file for training
    for k, atoms in enumerate(pairs):
        atoms.info["energy"] = -float(k)
    write(tmp_path / "labelled-pairs.extxyz", pairs)
    assert len(read_pairs([tmp_path / "labelled-pairs.extxyz"])) == 3
    members[0].save(tmp_path / "one.h5")
    r = cli("select", tmp_path / "one.h5", results, "-o", tmp_path / "x.extxyz")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "not a committee" in r.stderr
    assert not (tmp_path / "x.extxyz").exists()


def test_committee_trained_with_forces_records_the_mean_force_error(tmp_path):
    """With force_weight, the committee's log and file carry the force errors of the mean,
    which are those of the committee's own forces on the held-out structures."""
    import csv

    from nanomc.training.io import read_reference
    from nanomc.training.trainer import split, train_from_file

    from test_training_forces import labelled, write_training

    path = write_training(tmp_path, labelled(10, 3), force_weight=0.1)
    path.write_text(path.read_text().replace("hidden = [4]", "hidden = [4]\ncommittee = 2"))
    result = train_from_file(path, quiet=True)
    rows = list(csv.DictReader(open(tmp_path / "training-log.csv")))
    assert [r["member"] for r in rows] == ["0", "1", "mean"] and "test_f_rmse" in rows[0]
    pot = Potential.load(tmp_path / "potential.h5")
    assert pot.committee_size == 2
    structures = read_reference([tmp_path / "ref.extxyz"])
    _, test = split(len(structures), 0.2, 0)
    error = np.concatenate([(pot.forces(structures[k]) - structures[k].arrays["forces"]).ravel() for k in test])
    rmse = 1000 * np.sqrt(np.mean(error**2))
    assert rmse == pytest.approx(pot.provenance["test_force_rmse_meV_per_A"], rel=1e-6)
    assert rmse == pytest.approx(float(rows[-1]["test_f_rmse"]), rel=1e-6)
    assert result.errors["test_force_rmse_meV_per_A"] == pytest.approx(rmse, rel=1e-6)
