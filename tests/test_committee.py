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
    p = pots[0]
    return Potential(p.elements, p.cutoff, p.descriptor_sets, None, p.scaling, p.e0, members=[q.networks for q in pots])


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
