"""Move pairs: local featurisation equals the full energy difference, exact gradient, pair files."""
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.cluster import Octahedron
from ase.io import write

import nanomc
from nanomc.potential import Network
from nanomc.training.io import ReferenceDataError
from nanomc.training.model import NetworkStack
from nanomc.training.pairs import (MovePair, WithPairs, calculator_delta, changed_sites, featurize_pairs,
                                   label_pairs, pair_errors_mev, pair_loss_and_gradient, read_pairs, swap_moves)

ELEMENTS = ["Au", "Cu"]
CUTOFF = 4.5


@pytest.fixture(scope="module")
def potential():
    """A random Au–Cu potential (E0 and scaling set, so flips carry an E0 change)."""
    dset = nanomc.default_descriptor_set(ELEMENTS, CUTOFF, n_radial=3, angular_etas=[0.05])
    rng = np.random.default_rng(3)
    nets = {e: Network.random(dset.size, (5, 4), "tanh", rng) for e in ELEMENTS}
    pot = nanomc.Potential(ELEMENTS, CUTOFF, {e: dset for e in ELEMENTS}, nets)
    pot.e0 = {"Au": -0.7, "Cu": -1.9}
    pot.scaling = {e: (np.full(dset.size, 0.5), np.full(dset.size, 0.8)) for e in ELEMENTS}
    pot._nn_tables = None
    return pot


def alloy(atoms, seed):
    rng = np.random.default_rng(seed)
    atoms.set_chemical_symbols(rng.choice(ELEMENTS, len(atoms)).tolist())
    atoms.rattle(0.05, seed=seed)
    return atoms


def moves(atoms, seed):
    """Two swaps (one of nearest neighbours, whose environments overlap) and two flips, one to a vacancy."""
    rng = np.random.default_rng(seed)
    d = atoms.get_all_distances(mic=True)[0]
    j = next(k for k in np.argsort(d)[1:] if atoms.numbers[k] != atoms.numbers[0])
    out = [swap_moves([atoms], 1, rng)[0]]
    near = atoms.copy()
    near.numbers[[0, j]] = atoms.numbers[[j, 0]]
    out.append((atoms, near))
    for symbol in ("Cu" if atoms[5].symbol == "Au" else "Au", "X"):
        flipped = atoms.copy()
        flipped[5].symbol = symbol
        out.append((atoms, flipped))
    return out


@pytest.mark.parametrize("kind", ["cluster", "periodic"])
def test_pair_energy_difference_equals_full_energies(potential, kind):
    atoms = alloy(Octahedron("Au", 7, 2, latticeconstant=3.9) if kind == "cluster" else
                  bulk("Au", "fcc", a=3.9, cubic=True) * (3, 3, 3), seed=4)
    pairs = []
    for before, after in moves(atoms, 5):
        before, after = before.copy(), after.copy()
        before.info["energy"], after.info["energy"] = 0.0, 0.0
        pairs.append(MovePair(before, after, changed_sites(before, after, "test"), "test"))
    features = featurize_pairs(potential, pairs)
    stack = NetworkStack(potential.networks)
    theta = stack.pack(potential.networks)
    batch = features.batch(potential)
    energy = stack.energies(theta, batch.states)
    e0 = np.array([potential.e0[e] for e in ELEMENTS])
    predicted = energy[:len(pairs)] - energy[len(pairs):] + features.delta_counts @ e0
    full = np.array([potential.energy(p.after) - potential.energy(p.before) for p in pairs])
    assert np.abs(predicted - full).max() < 1e-10
    assert np.abs(full).min() > 1e-3  # the moves change the energy
    assert len(features.z) < len(pairs) * len(atoms)  # only the atoms near the moved sites are featurised
    # the target is the reference ΔE minus the E0 change: zero residual for reference = network
    features.delta_energy = full
    assert np.abs(pair_errors_mev(stack, theta, features.batch(potential))).max() < 1e-7


def test_pair_gradient_matches_finite_differences(potential):
    atoms = alloy(Octahedron("Au", 5, 1, latticeconstant=3.9), seed=6)
    pairs = []
    for k, (before, after) in enumerate(moves(atoms, 7)):
        before, after = before.copy(), after.copy()
        before.info["energy"], after.info["energy"] = 0.0, 0.05 * (k - 1)
        pairs.append(MovePair(before, after, changed_sites(before, after, "t"), "t"))
    batch = featurize_pairs(potential, pairs).batch(potential)
    stack = NetworkStack(potential.networks)
    theta = stack.pack(potential.networks)
    loss, grad = pair_loss_and_gradient(stack, theta, batch, 0.3)
    r = pair_errors_mev(stack, theta, batch)[0] / 1000
    assert loss == pytest.approx(0.3 * r**2, rel=1e-10)
    rng = np.random.default_rng(0)
    for k in rng.choice(len(theta), 12, replace=False):
        h = np.zeros_like(theta)
        h[k] = 1e-6
        numeric = (pair_loss_and_gradient(stack, theta + h, batch, 0.3)[0]
                   - pair_loss_and_gradient(stack, theta - h, batch, 0.3)[0]) / 2e-6
        assert grad[k] == pytest.approx(numeric, rel=1e-5, abs=1e-9)
    with pytest.raises(nanomc.NanomcError, match="lm optimizer"):
        WithPairs(stack, batch, 1.0, 10).residuals_and_jacobian(theta, None)


def pair_file(path, frames):
    write(path, frames, format="extxyz")
    return path


def emt_pairs(n, seed):
    atoms = alloy(Octahedron("Au", 4, 1, latticeconstant=3.9), seed)
    return label_pairs(swap_moves([atoms], n, np.random.default_rng(seed)), calculator_delta(EMT))


def test_pair_file_round_trip_keeps_emt_energy_differences(tmp_path):
    frames = emt_pairs(3, 1)
    pairs = read_pairs([pair_file(tmp_path / "p.extxyz", frames)])
    assert len(pairs) == 3
    for k, p in enumerate(pairs):
        atoms = p.after.copy()
        atoms.calc = EMT()
        assert p.after.info["energy"] == pytest.approx(atoms.get_potential_energy(), abs=1e-6)  # extxyz rounds positions
        assert len(p.sites) == 2 and frames[2 * k + 1].info["pair_role"] == "after"


def mutate(frames, how):
    frames = [f.copy() for f in frames]
    if how == "partner":
        del frames[3]
    elif how == "positions":
        frames[1].positions[4] += 0.1
    elif how == "sites":
        frames[1].numbers[:] = frames[1].numbers[::-1]
    elif how == "two flips":  # two Au sites become Cu: not one move
        frames[1].numbers[:] = frames[0].numbers
        frames[1].numbers[np.flatnonzero(frames[0].numbers == 79)[:2]] = 29
    elif how == "role":
        frames[1].info["pair_role"] = "before"
    elif how == "key":
        del frames[2].info["pair"]
    elif how == "identical":
        frames[1].numbers[:] = frames[0].numbers
    elif how == "energy":
        del frames[0].info["energy"]
    return frames


@pytest.mark.parametrize("how, words", [
    ("partner", "pair '1' has no after frame"), ("positions", "position of atom 4 differs"),
    ("sites", "differ at"), ("two flips", "differ at 2 sites"), ("role", "second before frame"),
    ("key", "needs info keys `pair`"), ("identical", "are identical"), ("energy", "frame 0: no energy"),
])
def test_bad_pair_files_are_one_line_errors(tmp_path, how, words):
    path = pair_file(tmp_path / "bad.extxyz", mutate(emt_pairs(2, 2), how))
    with pytest.raises(ReferenceDataError) as info:
        read_pairs([path])
    message = str(info.value)
    assert "\n" not in message and str(path) in message and words in message, message


TRAIN_TOML = """
[data]
files = ["set.extxyz"]
pair_files = ["pairs.extxyz"]
test_fraction = 0.25
seed = 3
[descriptors]
cutoff = 4.5
n_radial = 3
angular_etas = [0.05]
[network]
hidden = [6]
seed = 2
[training]
optimizer = "lbfgs"
epochs = 60
patience = 0
pair_weight = WEIGHT
[output]
potential = "trained.h5"
log = "log.csv"
"""


@pytest.fixture(scope="module")
def training_data(tmp_path_factory):
    """EMT-labelled small clusters and cells, and 24 EMT swap pairs in 38- and 79-atom clusters."""
    from test_training import emt_structures

    path = tmp_path_factory.mktemp("data")
    write(path / "set.extxyz", emt_structures(24, 5), format="extxyz")
    frames = []
    for k, size in enumerate((4, 5, 4)):
        atoms = alloy(Octahedron("Au", size, 1, latticeconstant=3.9), 10 + k)
        atoms.rattle(0.0)
        labelled = label_pairs(swap_moves([atoms], 8, np.random.default_rng(k)), calculator_delta(EMT))
        for f in labelled:
            f.info["pair"] = f"{k}-{f.info['pair']}"
        frames += labelled
    write(path / "pairs.extxyz", frames, format="extxyz")
    return path


def train_with(tmp_path, data, weight):
    import shutil
    import subprocess
    import sys

    for name in ("set.extxyz", "pairs.extxyz"):
        shutil.copy(data / name, tmp_path)
    (tmp_path / "train.toml").write_text(TRAIN_TOML.replace("WEIGHT", str(weight)))
    return subprocess.run([sys.executable, "-m", "nanomc.cli", "train", str(tmp_path / "train.toml")],
                          capture_output=True, text=True, timeout=600)


def test_training_on_pairs_lowers_the_pair_error_and_records_it(tmp_path, training_data):
    import csv

    from nanomc.training.trainer import split

    errors = {}
    for weight in (0.0, 1.0):
        (tmp_path / str(weight)).mkdir()
        run = train_with(tmp_path / str(weight), training_data, weight)
        assert run.returncode == 0, run.stderr
        assert "24 move pairs" in run.stderr and "test_pair_rmse" in run.stderr
        pot = nanomc.Potential.load(tmp_path / str(weight) / "trained.h5")
        prov = pot.provenance
        assert prov["n_train_pairs"] == 18 and prov["n_test_pairs"] == 6 and prov["pair_weight"] == weight
        rows = list(csv.DictReader(open(tmp_path / str(weight) / "log.csv")))
        assert len(rows) == 60 and "train_pair_bias" in rows[0]
        # the recorded test-pair errors are those of the saved potential's full energies on the held-out pairs
        pairs = read_pairs([training_data / "pairs.extxyz"])
        _, test = split(len(pairs), 0.25, 3)
        err = np.array([pot.energy(pairs[k].after) - pot.energy(pairs[k].before)
                        - (pairs[k].after.info["energy"] - pairs[k].before.info["energy"]) for k in test])
        assert 1000 * np.sqrt(np.mean(err**2)) == pytest.approx(prov["test_pair_rmse_meV"], rel=1e-6)
        assert 1000 * np.mean(err) == pytest.approx(prov["test_pair_bias_meV"], rel=1e-6)
        errors[weight] = prov["train_pair_rmse_meV"]
    # the pair term is what brings the swap energies of the training pairs down
    assert errors[1.0] < 0.5 * errors[0.0], errors


def test_lm_with_pairs_and_bad_pair_files_are_one_line_errors_before_anything_is_written(tmp_path, training_data):
    import shutil
    import subprocess
    import sys

    shutil.copy(training_data / "set.extxyz", tmp_path)
    frames = mutate(emt_pairs(2, 2), "partner")
    write(tmp_path / "pairs.extxyz", frames, format="extxyz")
    text = TRAIN_TOML.replace("WEIGHT", "1.0").replace("seed = 3", 'seed = 3\nfeatures = "f.h5"')
    for toml, words in ((text, "pair '1' has no after frame"),
                        (text.replace('"lbfgs"', '"lm"'), "train.toml:16: the lm optimizer does not train on move pairs")):
        (tmp_path / "train.toml").write_text(toml)
        run = subprocess.run([sys.executable, "-m", "nanomc.cli", "train", str(tmp_path / "train.toml")],
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 1 and run.stderr.count("\n") == 1 and words in run.stderr, run.stderr
        assert not any((tmp_path / f).exists() for f in ("f.h5", "trained.h5", "log.csv"))


def test_training_can_start_from_a_potential_file(tmp_path, training_data):
    import csv
    import subprocess
    import sys

    assert train_with(tmp_path, training_data, 1.0).returncode == 0
    first = nanomc.Potential.load(tmp_path / "trained.h5").provenance
    (tmp_path / "start.h5").write_bytes((tmp_path / "trained.h5").read_bytes())
    text = TRAIN_TOML.replace("WEIGHT", "1.0").replace("seed = 2", 'seed = 2\ninitial = "start.h5"')
    (tmp_path / "train.toml").write_text(text.replace("epochs = 60", "epochs = 1"))
    run = subprocess.run([sys.executable, "-m", "nanomc.cli", "train", str(tmp_path / "train.toml")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    (row,) = list(csv.DictReader(open(tmp_path / "log.csv")))
    # one L-BFGS step from the trained potential, not from random weights: errors stay near the trained ones
    assert float(row["train_rmse"]) < 1.5 * first["train_rmse_meV_per_atom"]
    assert float(row["train_pair_rmse"]) < 1.5 * first["train_pair_rmse_meV"]
    (tmp_path / "train.toml").write_text(text.replace("hidden = [6]", "hidden = [7]"))
    run = subprocess.run([sys.executable, "-m", "nanomc.cli", "train", str(tmp_path / "train.toml")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 1 and run.stderr.count("\n") == 1, run.stderr
    assert "train.toml:14: `initial` potential" in run.stderr and "differs from this training file" in run.stderr
