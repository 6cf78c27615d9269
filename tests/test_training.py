"""Training: back-propagation against finite differences, optimisers, the trainer, readers, predict."""
import re

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.cluster import Octahedron

import nanomc
from nanomc.potential import Network
from nanomc.training.features import featurize, fit_e0, fit_scaling
from nanomc.training.model import NetworkStack
from nanomc.training.optimizers import OPTIMIZERS

ELEMENTS = ["Au", "Cu"]


def emt_structures(n, seed):
    """Small Au–Cu clusters and cells with EMT energies."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        x = rng.uniform(0.1, 0.9)
        a = (1 - x) * 4.08 + x * 3.61
        atoms = Octahedron("Au", 3 + k % 2, 0, latticeconstant=a * rng.uniform(0.97, 1.03)) if k % 3 else \
            bulk("Au", "fcc", a=a, cubic=True) * (2, 1, 1)
        atoms.rattle(0.03, seed=int(rng.integers(1 << 30)))
        atoms.set_chemical_symbols(rng.choice(ELEMENTS, len(atoms), p=[1 - x, x]).tolist())
        atoms.calc = EMT()
        atoms.info["energy"] = atoms.get_potential_energy()
        atoms.calc = None
        out.append(atoms)
    return out


@pytest.fixture(scope="module")
def problem():
    """A small training problem: structures, features, a potential with fitted scaling and E0."""
    structures = emt_structures(24, 0)
    dset = nanomc.default_descriptor_set(ELEMENTS, 4.5, n_radial=3, angular_etas=[0.05])
    activations = {"Au": "tanh", "Cu": "twisted_tanh"}
    rng = np.random.default_rng(1)
    nets = {e: Network.random(dset.size, (5, 4), activations[e], rng, twist=0.05) for e in ELEMENTS}
    pot = nanomc.Potential(ELEMENTS, 4.5, {e: dset for e in ELEMENTS}, nets)
    features = featurize(pot, structures)
    index = np.arange(len(structures))
    pot.scaling = fit_scaling(features, index)
    pot.e0 = fit_e0(features, index)
    pot._nn_tables = None
    return structures, features, pot


def test_energies_match_the_potential(problem):
    structures, features, pot = problem
    stack = NetworkStack(pot.networks)
    theta = stack.pack(pot.networks)
    batch = features.batch(pot)
    e0 = np.array([sum(pot.e0[s] for s in a.get_chemical_symbols()) for a in structures])
    predicted = stack.energies(theta, batch) + e0
    np.testing.assert_allclose(predicted, [pot.energy(a) for a in structures], rtol=1e-10, atol=1e-9)


def test_gradient_matches_finite_differences(problem):
    _, features, pot = problem
    stack = NetworkStack(pot.networks)
    theta = stack.pack(pot.networks)
    batch = features.batch(pot)
    loss, grad = stack.loss_and_gradient(theta, batch)
    rng = np.random.default_rng(2)
    h = 1e-6
    for k in rng.choice(len(theta), 40, replace=False):
        step = np.zeros_like(theta)
        step[k] = h
        numeric = (stack.loss_and_gradient(theta + step, batch)[0] - stack.loss_and_gradient(theta - step, batch)[0]) / (2 * h)
        assert grad[k] == pytest.approx(numeric, rel=1e-5, abs=1e-10)
    assert loss > 0


def test_jacobian_matches_finite_differences(problem):
    _, features, pot = problem
    stack = NetworkStack(pot.networks)
    theta = stack.pack(pot.networks)
    batch = features.batch(pot)
    residual, jac = stack.residuals_and_jacobian(theta, batch, chunk=37)  # chunks smaller than the set
    assert jac.shape == (batch.n_structures, stack.n_params)
    loss, grad = stack.loss_and_gradient(theta, batch)
    assert loss == pytest.approx(np.mean(residual**2), rel=1e-12)
    np.testing.assert_allclose(grad, 2 * jac.T @ residual / batch.n_structures, rtol=1e-9, atol=1e-13)
    h = 1e-6
    for k in np.random.default_rng(3).choice(len(theta), 25, replace=False):
        step = np.zeros_like(theta)
        step[k] = h
        numeric = (stack.residuals_and_jacobian(theta + step, batch)[0]
                   - stack.residuals_and_jacobian(theta - step, batch)[0]) / (2 * h)
        np.testing.assert_allclose(jac[:, k], numeric, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("name,options", [
    ("gd", {"learning_rate": 1e-2, "momentum": 0.9}),
    ("adam", {"learning_rate": 5e-3, "batch_size": 8}),
    ("lbfgs", {}),
    ("lm", {}),
])
def test_each_optimiser_lowers_the_loss(problem, name, options):
    _, features, pot = problem
    stack = NetworkStack(pot.networks)
    theta0 = stack.pack(pot.networks)
    batch = features.batch(pot)
    start = stack.loss_and_gradient(theta0, batch)[0]
    seen = []
    theta = OPTIMIZERS[name](stack, batch, theta0.copy(), 30, lambda epoch, t: seen.append(epoch) and False, **options)
    end = stack.loss_and_gradient(theta, batch)[0]
    assert seen and seen[-1] <= 30
    assert end < 0.5 * start, (name, start, end)


def test_early_stop_callback_stops_every_optimiser(problem):
    _, features, pot = problem
    stack = NetworkStack(pot.networks)
    theta0 = stack.pack(pot.networks)
    batch = features.batch(pot)
    for name, fn in OPTIMIZERS.items():
        seen = []
        fn(stack, batch, theta0.copy(), 50, lambda epoch, t: seen.append(epoch) or epoch == 3)
        assert seen == [1, 2, 3], name


# ---------------------------------------------------------------- reference data readers

def test_xsf_round_trip_keeps_energy_and_forces_in_ev(tmp_path):
    from nanomc.training.io import read_reference, read_xsf, write_xsf

    cell = bulk("Cu", "fcc", a=3.6, cubic=True)
    cell.info["energy"] = -12.5
    cell.arrays["forces"] = np.arange(12.0).reshape(4, 3) / 10
    cluster = Octahedron("Au", 3, 0)
    cluster.info["energy"] = 3.25
    write_xsf(tmp_path / "cell.xsf", cell)
    write_xsf(tmp_path / "cluster.xsf", cluster)
    a = read_xsf(tmp_path / "cell.xsf")
    assert a.info["energy"] == -12.5 and a.pbc.all()
    np.testing.assert_allclose(a.arrays["forces"], cell.arrays["forces"])  # eV/Å, not converted
    np.testing.assert_allclose(a.cell.array, cell.cell.array)
    b = read_reference([tmp_path / "cluster.xsf"])[0]
    assert b.info["energy"] == 3.25 and not b.pbc.any() and len(b) == len(cluster)


def test_aenet_xsf_with_atomic_numbers_and_bad_files(tmp_path):
    from nanomc.training.io import ReferenceDataError, read_xsf

    (tmp_path / "ok.xsf").write_text("# total energy =  -3.5 eV\n\nATOMS\n29 0 0 0\n79 2.5 0 0\n")
    atoms = read_xsf(tmp_path / "ok.xsf")
    assert atoms.get_chemical_symbols() == ["Cu", "Au"] and atoms.info["energy"] == -3.5
    (tmp_path / "short.xsf").write_text("CRYSTAL\nPRIMVEC\n3 0 0\n0 3 0\n0 0 3\nPRIMCOORD\n2 1\nCu 0 0 0\n")
    with pytest.raises(ReferenceDataError, match=r"short.xsf:7: PRIMCOORD announces 2 atoms"):
        read_xsf(tmp_path / "short.xsf")
    (tmp_path / "bad.xsf").write_text("ATOMS\nXx 0 0 0\n")
    with pytest.raises(ReferenceDataError, match="bad.xsf:2: unknown element 'Xx'"):
        read_xsf(tmp_path / "bad.xsf")


def test_extxyz_and_ase_db_readers(tmp_path):
    from ase.db import connect
    from ase.io import write

    from nanomc.training.io import ReferenceDataError, read_reference

    structures = emt_structures(4, 5)
    tagged = [a.copy() for a in structures]
    for a, s in zip(tagged, structures):
        a.info["dft_energy"] = s.info["energy"]
        del a.info["energy"]
    write(tmp_path / "set.extxyz", tagged)
    back = read_reference([tmp_path / "set.extxyz"], energy_key="dft_energy")
    assert [a.info["energy"] for a in back] == pytest.approx([a.info["energy"] for a in structures])
    with connect(tmp_path / "set.db") as db:
        for a in structures:
            a = a.copy()
            a.calc = EMT()
            a.get_potential_energy()
            db.write(a)
    from_db = read_reference([tmp_path / "set.db"])
    assert [a.info["energy"] for a in from_db] == pytest.approx([a.info["energy"] for a in structures])
    assert "forces" in from_db[0].arrays
    with pytest.raises(ReferenceDataError, match="no energy"):
        read_reference([tmp_path / "set.extxyz"], energy_key="missing")


@pytest.mark.parametrize("suffix, module", [(".gz", "gzip"), (".bz2", "bz2"), (".xz", "lzma")])
def test_compressed_reference_files_read_as_the_plain_file(tmp_path, suffix, module):
    import importlib

    from ase.io import write

    from nanomc.training.io import ReferenceDataError, read_reference

    structures = emt_structures(6, 2)
    for a in structures:
        a.arrays["forces"] = np.random.default_rng(len(a)).normal(size=(len(a), 3))
    write(tmp_path / "set.extxyz", structures)
    packed = tmp_path / f"set.extxyz{suffix}"
    with importlib.import_module(module).open(packed, "wb") as f:
        f.write((tmp_path / "set.extxyz").read_bytes())
    plain, back = read_reference([tmp_path / "set.extxyz"]), read_reference([packed])
    assert len(back) == len(plain) == 6
    for a, b in zip(plain, back):
        assert a.get_chemical_symbols() == b.get_chemical_symbols() and a.info["energy"] == b.info["energy"]
        assert np.array_equal(a.positions, b.positions) and np.array_equal(a.arrays["forces"], b.arrays["forces"])
        assert np.array_equal(a.cell.array, b.cell.array) and np.array_equal(a.pbc, b.pbc)
    packed.write_bytes(b"not compressed")
    with pytest.raises(ReferenceDataError, match=f"set.extxyz{suffix}: cannot read"):
        read_reference([packed])


# ---------------------------------------------------------------- the trainer and the CLI

TRAIN_TOML = """
[data]
files = ["set.extxyz"]
test_fraction = 0.2
seed = 3
features = "features.h5"

[descriptors]
cutoff = 4.5
n_radial = 3
angular_etas = [0.05]

[network]
hidden = [6]
seed = 2

[training]
optimizer = "{optimizer}"
epochs = 40
patience = 0

[output]
potential = "trained.h5"
log = "log.csv"
"""


def write_training(tmp_path, optimizer="lbfgs", text=TRAIN_TOML):
    from ase.io import write

    write(tmp_path / "set.extxyz", emt_structures(30, 11))
    (tmp_path / "train.toml").write_text(text.replace("{optimizer}", optimizer))
    return tmp_path / "train.toml"


def cli(*args, cwd=None):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "nanomc.cli", *map(str, args)], capture_output=True, text=True,
                           cwd=cwd, timeout=600)


def test_train_command_writes_a_potential_that_reproduces_its_errors(tmp_path):
    import csv

    from nanomc.training.io import read_reference
    from nanomc.training.trainer import split

    params = write_training(tmp_path)
    result = cli("train", params)
    assert result.returncode == 0, result.stderr
    assert "train_rmse" in result.stderr and "best epoch" in result.stderr
    pot = nanomc.Potential.load(tmp_path / "trained.h5")
    prov = pot.provenance
    assert prov["n_train"] == 24 and prov["n_test"] == 6 and prov["optimizer"] == "lbfgs"
    assert len(prov["training_set_hash"]) == 64
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert len(rows) == 40
    # the recorded test RMSE is what the saved potential gives on the held-out structures
    structures = read_reference([tmp_path / "set.extxyz"])
    _, test = split(len(structures), 0.2, 3)
    err = [(pot.energy(structures[k]) - structures[k].info["energy"]) / len(structures[k]) for k in test]
    assert 1000 * np.sqrt(np.mean(np.square(err))) == pytest.approx(prov["test_rmse_meV_per_atom"], rel=1e-6)
    assert prov["test_rmse_meV_per_atom"] == pytest.approx(min(float(r["test_rmse"]) for r in rows), rel=1e-9)
    # training lowered the error well below that of predicting E0 alone
    assert float(rows[-1]["train_rmse"]) < 0.5 * float(rows[0]["train_rmse"])
    # the feature cache is reused: a second run gives the same potential
    assert (tmp_path / "features.h5").exists()
    assert cli("train", params, "-q").returncode == 0
    assert nanomc.Potential.load(tmp_path / "trained.h5").content_hash() == pot.content_hash()


def test_split_is_seeded_and_disjoint():
    from nanomc.training.trainer import split

    a, b = split(50, 0.1, 1)
    assert len(b) == 5 and len(a) == 45 and not set(a) & set(b)
    assert np.array_equal(split(50, 0.1, 1)[1], b) and not np.array_equal(split(50, 0.1, 2)[1], b)
    assert len(split(5, 0.01, 0)[1]) == 1  # at least one test structure when a test set is asked for


def test_validation_split_is_drawn_from_the_training_structures_and_leaves_the_test_set_alone():
    from nanomc.training.trainer import split, split_validation

    train, test = split(60, 0.1, 4)
    fit, valid = split_validation(train, 0.2, 4)
    assert len(valid) == 11 and len(fit) == 43  # a fifth of the 54 training structures
    assert sorted([*fit, *valid]) == list(train) and not set(valid) & set(test)
    assert np.array_equal(split_validation(train, 0.2, 4)[1], valid)
    assert not np.array_equal(split_validation(train, 0.2, 5)[1], valid)
    assert np.array_equal(split_validation(train, 0.0, 4)[0], train) and len(split_validation(train, 0.0, 4)[1]) == 0


def test_the_validation_set_chooses_the_epoch_and_the_test_set_is_only_scored(tmp_path):
    """With `validation_fraction`, the kept epoch is the one of the lowest validation RMSE in the log,
    the test set is the same as without it, and the recorded test RMSE is the saved potential's on it."""
    import csv

    from nanomc.training.io import read_reference
    from nanomc.training.trainer import split

    text = TRAIN_TOML.replace("test_fraction = 0.2", "test_fraction = 0.2\nvalidation_fraction = 0.25")
    params = write_training(tmp_path, "adam", text.replace("[training]", "[training]\nlearning_rate = 0.05")
                            .replace("epochs = 40", "epochs = 60"))
    result = cli("train", params)
    assert result.returncode == 0, result.stderr
    prov = nanomc.Potential.load(tmp_path / "trained.h5").provenance
    assert (prov["n_train"], prov["n_validation"], prov["n_test"]) == (18, 6, 6)
    assert prov["best_epoch_chosen_on"] == "validation"
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    valid = [float(r["validation_rmse"]) for r in rows]
    assert prov["best_epoch"] == 1 + int(np.argmin(valid))
    test = [float(r["test_rmse"]) for r in rows]
    assert int(np.argmin(test)) != int(np.argmin(valid))  # otherwise this test could not tell them apart
    structures = read_reference([tmp_path / "set.extxyz"])
    pot = nanomc.Potential.load(tmp_path / "trained.h5")
    err = [(pot.energy(structures[k]) - structures[k].info["energy"]) / len(structures[k])
           for k in split(30, 0.2, 3)[1]]
    assert 1000 * np.sqrt(np.mean(np.square(err))) == pytest.approx(prov["test_rmse_meV_per_atom"], rel=1e-6)
    assert prov["test_rmse_meV_per_atom"] == pytest.approx(test[prov["best_epoch"] - 1], rel=1e-9)


def test_structures_of_train_files_are_trained_on_and_never_tested(tmp_path):
    """`train_files` adds structures to the training set only: the test set is that of `files` alone;
    `validation_files` adds them to the validation set only."""
    from ase.io import write

    from nanomc.training.io import read_reference
    from nanomc.training.trainer import split

    params = write_training(tmp_path, text=TRAIN_TOML.replace('files = ["set.extxyz"]',
                                                              'files = ["set.extxyz"]\ntrain_files = ["more.extxyz"]'))
    write(tmp_path / "more.extxyz", emt_structures(10, 12))
    assert cli("train", params, "-q").returncode == 0
    pot = nanomc.Potential.load(tmp_path / "trained.h5")
    assert (pot.provenance["n_train"], pot.provenance["n_test"]) == (24 + 10, 6)
    # validation_files: their structures only choose the epoch
    params.write_text(params.read_text().replace('train_files = ["more.extxyz"]', 'validation_files = ["more.extxyz"]'))
    assert cli("train", params, "-q").returncode == 0
    prov = nanomc.Potential.load(tmp_path / "trained.h5").provenance
    assert (prov["n_train"], prov["n_validation"], prov["n_test"]) == (24, 10, 6)
    assert prov["best_epoch_chosen_on"] == "validation"
    structures = read_reference([tmp_path / "set.extxyz"])
    err = [(pot.energy(structures[k]) - structures[k].info["energy"]) / len(structures[k])
           for k in split(30, 0.2, 3)[1]]
    assert 1000 * np.sqrt(np.mean(np.square(err))) == pytest.approx(pot.provenance["test_rmse_meV_per_atom"], rel=1e-6)


def test_min_distance_leaves_out_structures_with_atoms_too_close(tmp_path):
    """`min_distance`: a structure with two atoms closer than it (periodic images count) is not trained on,
    and stderr says how many of each list were left out; 0 and negative values."""
    from ase.io import write

    squeezed = emt_structures(4, 13)
    for atoms in squeezed[:3]:  # atom 1 moved to 0.9 Å of atom 0 (through the periodic boundary for one)
        atoms.positions[1] = atoms.positions[0] + [0.9, 0, 0]
    squeezed[0].positions[1] -= squeezed[0].cell[0]
    write(tmp_path / "more.extxyz", squeezed)
    text = TRAIN_TOML.replace("{optimizer}", "lbfgs").replace(
        'files = ["set.extxyz"]', 'files = ["set.extxyz"]\ntrain_files = ["more.extxyz"]\nmin_distance = 1.0')
    params = write_training(tmp_path, text=text)
    result = cli("train", params)
    assert result.returncode == 0, result.stderr
    assert "left out 3 structures with atoms closer than 1 Å (files / train_files / validation_files: 0 / 3 / 0)" \
        in result.stderr
    assert nanomc.Potential.load(tmp_path / "trained.h5").provenance["n_train"] == 24 + 1
    params.write_text(text.replace("min_distance = 1.0", "min_distance = 0.8"))
    result = cli("train", params, "-q")
    assert result.returncode == 0, result.stderr
    assert nanomc.Potential.load(tmp_path / "trained.h5").provenance["n_train"] == 24 + 4
    params.write_text(text.replace("min_distance = 1.0", "min_distance = -1"))
    result = cli("train", params)
    assert result.returncode == 1 and "`min_distance` must be 0 or more" in result.stderr


def test_early_stopping_on_the_test_error(tmp_path):
    params = write_training(tmp_path, "adam", TRAIN_TOML.replace("patience = 0", "patience = 3")
                            .replace("epochs = 40", "epochs = 400")
                            .replace("[training]", "[training]\nlearning_rate = 0.5"))
    result = cli("train", params)
    assert result.returncode == 0, result.stderr
    assert "stopping: no lower test RMSE for 3 epochs" in result.stderr
    pot = nanomc.Potential.load(tmp_path / "trained.h5")
    assert pot.provenance["epochs"] == pot.provenance["best_epoch"] + 3 < 400


def test_predict_command_and_parity_plot(tmp_path):
    params = write_training(tmp_path)
    assert cli("train", params, "-q").returncode == 0
    result = cli("predict", tmp_path / "trained.h5", tmp_path / "set.extxyz", "--plot", tmp_path / "parity.png")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len([line for line in lines if "set.extxyz:" in line]) == 30
    assert "RMSE" in lines[-2] and (tmp_path / "parity.png").stat().st_size > 10_000


def test_train_with_chebyshev_descriptors(tmp_path):
    """basis = "chebyshev": aenet's Chebyshev descriptor with type spins; training lowers the
    error, and the saved potential reproduces its recorded test RMSE."""
    text = TRAIN_TOML.replace("cutoff = 4.5", 'basis = "chebyshev"\ncutoff = 4.5\nradial_order = 6\n'
                                              'angular_order = 3\nangular_cutoff = 4.0')
    result = cli("train", write_training(tmp_path, text=text), "-q")
    assert result.returncode == 0, result.stderr
    pot = nanomc.Potential.load(tmp_path / "trained.h5")
    assert pot.descriptor_sets["Au"] == nanomc.chebyshev_descriptor_set(pot.elements, 6, 4.5, 3, 4.0)
    rows = list(csv_rows(tmp_path / "log.csv"))
    assert float(rows[-1]["train_rmse"]) < 0.5 * float(rows[0]["train_rmse"])
    assert pot.provenance["test_rmse_meV_per_atom"] == pytest.approx(min(float(r["test_rmse"]) for r in rows),
                                                                    rel=1e-9)


def test_train_with_an_n2p2_style_radial_grid(tmp_path):
    """radial_etas × radial_shifts: every η with every R_s per neighbour element, as n2p2 input
    files list them (n_radial and r_min unused); the saved potential holds exactly those functions."""
    text = TRAIN_TOML.replace("n_radial = 3", "n_radial = 3\nradial_etas = [0.5, 2.0]\nradial_shifts = [0.0, 2.5, 3.0]")
    result = cli("train", write_training(tmp_path, text=text), "-q")
    assert result.returncode == 0, result.stderr
    pot = nanomc.Potential.load(tmp_path / "trained.h5")
    radial = pot.descriptor_sets["Au"].radial
    assert sorted((f.element, f.eta, f.rs) for f in radial) == sorted(
        (e, eta, rs) for e in ELEMENTS for eta in (0.5, 2.0) for rs in (0.0, 2.5, 3.0))
    assert len(pot.descriptor_sets["Au"].angular) == 3 * 2 * 2  # the angular functions as without the grid


def csv_rows(path):
    import csv

    with open(path) as f:
        yield from csv.DictReader(f)


@pytest.mark.parametrize("old,new,words", [
    ("cutoff = 4.5", 'basis = "chebychev"\ncutoff = 4.5', ["`basis` in [descriptors] must be one of"]),
    ("cutoff = 4.5", "cutoff = 4.5\nangular_cutoff = 5.0", ["`angular_cutoff` must be positive and at most"]),
    ("cutoff = 4.5", "cutoff = 4.5\nradial_order = -1", ["`radial_order` must be 0 or more"]),
    ('optimizer = "{optimizer}"', 'optimiser = "lbfgs"', ["train.toml:", "unknown key `optimiser`", "`optimizer`"]),
    ('files = ["set.extxyz"]', 'files = ["nope.extxyz"]', ["nope.extxyz: reference file not found"]),
    ("test_fraction = 0.2", "test_fraction = 1.5", ["`test_fraction` must be at least 0 and below 1"]),
    ('optimizer = "{optimizer}"', 'optimizer = "sgd"', ["`optimizer` in [training] must be one of"]),
    ('files = ["set.extxyz"]', 'files = ["set.extxyz"]\nenergy_key = "dft_energy"',
     ["set.extxyz frame 0: no energy under info key 'dft_energy'"]),
    ('potential = "trained.h5"', 'potential = "no/dir/trained.h5"', ["train.toml:", "no/dir", "does not exist"]),
    ('log = "log.csv"', 'log = "no/dir/log.csv"', ["train.toml:", "no/dir", "does not exist"]),
    ('features = "features.h5"', 'features = "no/dir/features.h5"', ["train.toml:", "no/dir", "does not exist"]),
    ('potential = "trained.h5"', 'potential = "."', ["train.toml:", "is a directory"]),
    ("n_radial = 3", "n_radial = 0", ["train.toml:10:", "`n_radial` must be at least 1"]),
    ("seed = 3", "seed = -1", ["train.toml:5:", "`seed` in [data] must be"]),
    ("seed = 2", "seed = -2", ["train.toml:15:", "`seed` in [network] must be"]),
    ("angular_etas = [0.05]", "angular_etas = [-0.05]", ["train.toml:11:", "`angular_etas` must be 0 or more"]),
    ("cutoff = 4.5", "cutoff = 4.5\nzetas = [0.5]", ["train.toml:10:", "`zetas` must be at least 1"]),
    ("cutoff = 4.5", "cutoff = 4.5\nlambdas = [0.5]", ["train.toml:10:", "`lambdas` must be -1 or 1"]),
    ("cutoff = 4.5", "cutoff = 4.5\nr_min = -1.0", ["train.toml:10:", "`r_min` must be 0 or more"]),
    ("cutoff = 4.5", "cutoff = 4.5\nradial_etas = [0.5, 0.0]", ["`radial_etas` must list values above 0"]),
    ("cutoff = 4.5", "cutoff = 4.5\nradial_shifts = [1.0]", ["`radial_shifts` needs `radial_etas`"]),
    ("cutoff = 4.5", "cutoff = 4.5\nradial_etas = [0.5]\nradial_shifts = [4.5]",
     ["`radial_shifts` must list values from 0 to below `cutoff`"]),
    ("epochs = 40", "epochs = 40\nlearning_rate = -0.1", ["train.toml:20:", "`learning_rate` must be positive"]),
    ("epochs = 40", "epochs = 40\nmomentum = 1.5", ["train.toml:20:", "`momentum` must be at least 0 and below 1"]),
    ("patience = 0", "patience = -1", ["train.toml:20:", "`patience` must be 0 or more"]),
    ("epochs = 40", "epochs = 40\nprint_every = -1", ["train.toml:20:", "`print_every` must be 0 or more"]),
])
def test_bad_training_files_are_one_line_errors(tmp_path, old, new, words):
    params = write_training(tmp_path, text=TRAIN_TOML.replace(old, new))
    result = cli("train", params)
    assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
    for w in words:
        assert w in result.stderr
    assert not (tmp_path / "trained.h5").exists() and not (tmp_path / "log.csv").exists()
    assert not (tmp_path / "features.h5").exists()  # refused before the descriptors were computed


# ---------------------------------------------------------------- reference structures

def test_reference_recipe_covers_phases_slabs_and_clusters():
    from nanomc.training.reference import initial_set, label, ordered_phases

    phases = ordered_phases(ELEMENTS)
    assert [sorted(a.get_chemical_symbols()).count("Cu") for a in phases] == [0, 4, 1, 3, 2]
    structures = initial_set(ELEMENTS, 6, 4, 6, seed=3)
    assert len(structures) == 16
    bulk_part, slab_part, cluster_part = structures[:6], structures[6:10], structures[10:]
    assert all(a.pbc.all() for a in bulk_part)
    assert all(list(a.pbc) == [True, True, False] for a in slab_part)
    assert all(not a.pbc.any() and 13 <= len(a) <= 300 for a in cluster_part)
    # strained cells differ from the ideal Vegard cells
    volumes = [a.get_volume() / len(a) for a in bulk_part]
    assert np.std(volumes) > 0.1
    labelled = label(structures[:3], EMT)
    assert all(np.isfinite(a.info["energy"]) and a.arrays["forces"].shape == (len(a), 3) for a in labelled)
    assert initial_set(ELEMENTS, 6, 4, 6, seed=3)[12].positions.tolist() == cluster_part[2].positions.tolist()


def test_active_learning_samples_mc_configurations(problem):
    from nanomc.training.reference import active_learning_set

    _, _, pot = problem
    configs = active_learning_set(pot, ELEMENTS, n_particles=2, snapshots=3, size=5, seed=1)
    assert len(configs) == 6
    for first, later in ((configs[0], configs[2]), (configs[3], configs[5])):
        assert first.get_chemical_formula() == later.get_chemical_formula()  # canonical MC keeps composition
        assert first.get_chemical_symbols() != later.get_chemical_symbols()  # but the ordering changes


WRONG = {"int": ['"ten"', "1.5", "true", "[1]", "nan"], "float": ['"small"', "true", "[0.1]", "nan", "inf"],
         "str": ["1", "true", '["a"]'], "strings": ['"set.extxyz"', "[1]", "[]"], "ints": ['"6"', "[1.5]", "[true]"],
         "floats": ['"0.05"', "[nan]", '["a"]']}


def _training_mutations():
    from nanomc.training.trainer import TRAIN_SCHEMA

    section = None
    for line in TRAIN_TOML.replace("{optimizer}", "lbfgs").splitlines():
        m = re.match(r"^\[(\w+)\]", line)
        if m:
            section = m.group(1)
        elif re.match(r"^\w+ =", line):
            key = line.split()[0]
            for value in WRONG[TRAIN_SCHEMA[section][key].kind]:
                yield pytest.param(line, f"{key} = {value}", id=f"{section}.{key}={value}")


@pytest.mark.parametrize("line,mutated", list(_training_mutations()))
def test_fuzzed_training_files_fail_in_one_line_and_write_nothing(tmp_path, capsys, line, mutated):
    from nanomc.cli import main

    (tmp_path / "train.toml").write_text(TRAIN_TOML.replace("{optimizer}", "lbfgs").replace(line, mutated, 1))
    assert main(["train", str(tmp_path / "train.toml"), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nanomc: error: ") and err.count("\n") == 1, err
    assert [p.name for p in tmp_path.iterdir()] == ["train.toml"]


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_ctrl_c_or_kill_keeps_the_best_parameters_so_far(tmp_path, signal_name):
    """SIGINT (Ctrl-C) or SIGTERM (kill) during `nanomc train` ends the training after the current
    epoch and writes the potential with the best parameters so far, recorded as interrupted, and its log."""
    import csv
    import signal
    import subprocess
    import sys

    from nanomc.training.io import read_reference
    from nanomc.training.trainer import split

    params = write_training(tmp_path, text=TRAIN_TOML.replace("epochs = 40", "epochs = 1000000")
                            .replace("[training]", "[training]\nprint_every = 1"))
    # as from a terminal: a test run in the background inherits an ignored SIGINT, which Python keeps
    process = subprocess.Popen([sys.executable, "-m", "nanomc.cli", "train", str(params)], stderr=subprocess.PIPE,
                               text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    epochs_seen = 0
    for line in process.stderr:
        words = line.split()
        epochs_seen += len(words) == 5 and words[0].isdigit()  # a row of the table
        if epochs_seen == 5:
            process.send_signal(getattr(signal, signal_name))
            break
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 0, stderr
    assert "interrupted after epoch" in stderr and "wrote" in stderr
    pot = nanomc.Potential.load(tmp_path / "trained.h5")
    prov = pot.provenance
    assert prov["interrupted"] is True and 5 <= prov["epochs"] < 1000000
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert len(rows) == prov["epochs"]
    structures = read_reference([tmp_path / "set.extxyz"])
    _, test = split(len(structures), 0.2, 3)
    err = [(pot.energy(structures[k]) - structures[k].info["energy"]) / len(structures[k]) for k in test]
    assert 1000 * np.sqrt(np.mean(np.square(err))) == pytest.approx(min(float(r["test_rmse"]) for r in rows), rel=1e-6)
