"""Relaxed-lattice labels (`nanomc label --relax`), their training, and what refuses their potentials."""
from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT
from ase.cluster import Octahedron
from ase.filters import FrechetCellFilter
from ase.io import read, write
from ase.optimize import BFGS

import nanomc
from conftest import held_out_errors
from nanomc.calculator import Calculator as NanomcCalculator
from nanomc.campaign import describe, run_campaign
from nanomc.cli import main
from nanomc.campaign.schema import ConfigError
from nanomc.campaign.population import describe_population
from nanomc.potential.store import default_potential_path
from nanomc.relax import relax
from nanomc.training.calculators import CalculatorSpec
from nanomc.training.label import LabelError, label_files
from nanomc.training.labelfile import read_labels
from nanomc.training.pairs import pair_frames
from nanomc.training.relaxed import RelaxedLabelError, RelaxSettings, map_to_lattice, rattled
from nanomc.training.trainer import train_from_file

BFGS_SETTINGS = RelaxSettings(optimizer="BFGS", fmax=0.05, steps=200)


class Well(Calculator):
    """Atom 0 in a harmonic well k/2 |r − centre|² (k in eV/Å², centre in Å; class attributes set by a test),
    every other atom free; plus a constant energy per Cu atom (eV) so that occupations differ."""

    implemented_properties = ["energy", "forces"]
    centre = np.zeros(3)
    k = 1.0
    per_cu = -0.3

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        d = self.atoms.positions[0] - self.centre
        forces = np.zeros((len(self.atoms), 3))
        forces[0] = -self.k * d
        energy = 0.5 * self.k * d @ d + self.per_cu * np.sum(self.atoms.numbers == 29)
        self.results = {"energy": energy, "forces": forces}


WELL = CalculatorSpec.parse(f"{__name__}:Well")


@pytest.fixture(autouse=True)
def _well():
    Well.centre, Well.k, Well.per_cu = np.zeros(3), 1.0, -0.3


def cluster(seed: int, n: int = 3) -> Atoms:
    """A 13-atom (n = 3) Au–Cu cuboctahedron with a random occupation, centred in a box."""
    atoms = Octahedron("Au", n, 1, latticeconstant=3.9)
    atoms.symbols[np.random.default_rng(seed).random(len(atoms)) < 0.5] = "Cu"
    atoms.center(vacuum=5.0)
    return atoms


def test_a_relaxed_label_is_the_relaxed_energy_on_the_ideal_positions(tmp_path):
    inputs = [cluster(1), cluster(2)]
    write(tmp_path / "in.extxyz", inputs)
    label_files([tmp_path / "in.extxyz"], tmp_path / "labels.extxyz", CalculatorSpec.parse("emt"), quiet=True,
                relax=BFGS_SETTINGS)
    labels = read_labels(tmp_path / "labels.extxyz")
    assert len(labels) == 2
    for atoms, label in zip(inputs, labels):
        by_hand = atoms.copy()
        by_hand.calc = EMT()
        unrelaxed = by_hand.get_potential_energy()
        assert BFGS(by_hand, logfile=None).run(fmax=0.05, steps=200)
        assert label.get_potential_energy() == pytest.approx(by_hand.get_potential_energy(), abs=1e-9)
        assert label.get_potential_energy() < unrelaxed - 1e-3  # it did relax
        assert np.allclose(label.positions, atoms.positions, atol=1e-7) and np.array_equal(label.numbers, atoms.numbers)
        assert "forces" not in label.calc.results and "forces" not in label.arrays
        moved = np.linalg.norm(by_hand.positions - atoms.positions, axis=1).max()
        assert label.info["relax_max_displacement"] == pytest.approx(moved, abs=1e-6)
        assert label.info["label_energies"] == "relaxed-lattice" and label.info["relaxed_by"] == "reference"
        assert label.info["relax_converged"] and label.info["relax_steps"] > 0 and label.info["relax_fmax"] == 0.05
        assert not label.info["relax_cell"]
        assert "BFGS to fmax 0.05" in label.info["relaxation"]


def test_the_cell_of_a_periodic_structure_relaxes_and_maps_in_fractional_coordinates(tmp_path):
    atoms = bulk("Au", "fcc", a=4.0, cubic=True)
    atoms.symbols[[1]] = "Cu"
    write(tmp_path / "in.extxyz", atoms)
    settings = RelaxSettings(optimizer="BFGS", cell=True, max_displacement=0.05)
    label_files([tmp_path / "in.extxyz"], tmp_path / "labels.extxyz", CalculatorSpec.parse("emt"), quiet=True,
                relax=settings)
    label, = read_labels(tmp_path / "labels.extxyz")
    by_hand = atoms.copy()
    by_hand.calc = EMT()
    BFGS(FrechetCellFilter(by_hand), logfile=None).run(fmax=0.05, steps=500)
    assert abs(by_hand.cell[0, 0] - atoms.cell[0, 0]) > 0.04  # the corner atoms move more than the threshold in Å
    assert label.get_potential_energy() == pytest.approx(by_hand.get_potential_energy(), abs=1e-9)
    assert label.info["relax_cell"] and np.allclose(label.cell.array, atoms.cell.array, atol=1e-7)


def test_the_nanomc_relaxer_labels_with_one_reference_single_point(tmp_path):
    atoms = cluster(3)
    write(tmp_path / "in.extxyz", atoms)
    settings = RelaxSettings(relax_with=str(default_potential_path()), optimizer="BFGS")
    label_files([tmp_path / "in.extxyz"], tmp_path / "labels.extxyz", CalculatorSpec.parse("emt"), quiet=True,
                relax=settings)
    label, = read_labels(tmp_path / "labels.extxyz")
    potential = nanomc.Potential.load(default_potential_path())
    by_hand = atoms.copy()
    by_hand.calc = NanomcCalculator(potential)
    BFGS(by_hand, logfile=None).run(fmax=0.05, steps=500)
    nanomc_energy = by_hand.get_potential_energy()
    by_hand.calc = EMT()
    assert label.get_potential_energy() == pytest.approx(by_hand.get_potential_energy(), abs=1e-9)
    assert label.get_potential_energy() != pytest.approx(nanomc_energy, abs=1e-3)
    assert label.info["relaxed_by"] == f"nanomc:{potential.content_hash()[:16]}"
    assert label.info["relaxed_by"] in label.info["relaxation"]


def displacement_and_reason(*args, **kwargs) -> tuple[float, str | None]:
    mapping = map_to_lattice(*args, **kwargs)
    return mapping.largest, mapping.reason


def test_mapping_needs_every_atom_nearest_its_own_site_and_displacements_below_the_threshold():
    ideal = Atoms("Cu3", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.5, 0]], cell=[6, 6, 6], pbc=True)
    moved = ideal.copy()
    moved.positions[0] = [1.3, 0, 0]           # past the midpoint (1.25 Å) towards atom 1's site
    assert "nearer another site" in map_to_lattice(ideal, moved, 2.0).reason
    moved.positions[0] = [1.2, 0, 0]
    assert displacement_and_reason(ideal, moved, 2.0) == (pytest.approx(1.2), None)
    assert "more than --max-displacement 1" in map_to_lattice(ideal, moved, 1.0).reason
    moved.positions[0] = [4.9, 0, 0]           # minimum image: 1.1 Å from its own site, 2.4 Å from atom 1's
    assert displacement_and_reason(ideal, moved, 2.0) == (pytest.approx(1.1), None)
    strained = ideal.copy()
    strained.set_cell(ideal.cell * 1.2, scale_atoms=True)  # a relaxed cell: fractional coordinates unchanged
    assert displacement_and_reason(ideal, strained, 0.01) == (pytest.approx(0.0, abs=1e-9), None)


def test_an_atom_that_relaxes_into_a_vacant_site_does_not_map(tmp_path):
    ideal = Atoms("Cu3", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.5, 0]], cell=[6, 6, 6], pbc=True)
    vacant = np.array([[0.0, 0.0, 2.5]])
    moved = ideal.copy()
    moved.positions[0] = [0, 0, 1.3]           # past the midpoint towards the empty site
    assert displacement_and_reason(ideal, moved, 2.0) == (pytest.approx(1.3), None)   # no vacancy known: maps
    assert "1 atom(s) nearer another site" in map_to_lattice(ideal, moved, 2.0, vacant).reason
    moved.positions[0] = [0, 0, 1.2]
    assert displacement_and_reason(ideal, moved, 2.0, vacant) == (pytest.approx(1.2), None)
    # through `nanomc label --relax`: the input's X atom is a site, not an atom
    frame = Atoms("Cu4X", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.5, 0], [2.5, 2.5, 0], [0, 0, 2.5]])
    frame.center(vacuum=4.0)
    Well.centre = frame.positions[0] + [0, 0, 1.4]   # atom 0 is pulled 1.4 Å towards the vacant site
    write(tmp_path / "in.extxyz", frame)
    out = tmp_path / "labels.extxyz"
    settings = RelaxSettings(optimizer="BFGS", max_displacement=2.0)
    summary = label_files([tmp_path / "in.extxyz"], out, WELL, relax=settings, quiet=True)
    assert (summary.labelled, summary.unmapped) == (0, 1)
    assert "nearer another site" in (tmp_path / "labels.extxyz.unmapped").read_text()
    write(tmp_path / "in2.extxyz", frame[:4])          # the same atoms without the vacancy: it maps
    summary = label_files([tmp_path / "in2.extxyz"], tmp_path / "labels2.extxyz", WELL, relax=settings, quiet=True)
    assert (summary.labelled, summary.unmapped) == (1, 0)
    assert read_labels(tmp_path / "labels2.extxyz")[0].info["relax_max_displacement"] == pytest.approx(1.4, abs=0.02)


def test_with_swap_groups_atoms_may_take_the_sites_of_their_group_and_nothing_else():
    # sites 0–3: Cu Au O O along x, 2.5 Å apart; site 4 vacant (X) at x = 10
    ideal = Atoms("CuAuO2", positions=[[0, 0, 0], [2.5, 0, 0], [5, 0, 0], [7.5, 0, 0]], cell=[30, 30, 30])
    vacant = np.array([[10.0, 0, 0]])
    groups = [("Cu", "Au"), ("O", "X")]
    chain = ideal.copy()
    chain.positions[2:] = [[7.3, 0, 0], [9.8, 0, 0]]   # each O one site on: the vacancy moved from x = 10 to 5
    assert "nearer another site" in map_to_lattice(ideal, chain, 1.0, vacant).reason
    mapping = map_to_lattice(ideal, chain, 1.0, vacant, groups)
    assert mapping.reason is None and list(mapping.sites) == [0, 1, 3, 4] and mapping.hops == 2
    assert mapping.largest == pytest.approx(0.2)
    assert np.allclose(mapping.occupation(ideal, vacant).positions, [[0, 0, 0], [2.5, 0, 0], [7.5, 0, 0], [10, 0, 0]])
    assert "more than --max-displacement 0.1" in map_to_lattice(ideal, chain, 0.1, vacant, groups).reason
    swap = ideal.copy()
    swap.positions[:2] = [[2.4, 0, 0], [0.2, 0, 0]]    # Cu and Au exchanged
    assert list(map_to_lattice(ideal, swap, 1.0, vacant, groups).sites) == [1, 0, 2, 3]
    assert "atom 0 (Cu) relaxed onto a site of Au" in map_to_lattice(ideal, swap, 1.0, vacant, [("O", "X")]).reason
    into_anion = ideal.copy()
    into_anion.positions[1:3] = [[4.8, 0, 0], [9.9, 0, 0]]   # O 2 into the vacancy, Au onto its site: no group
    assert "atom 1 (Au) relaxed onto a site of O" in map_to_lattice(ideal, into_anion, 3.0, vacant, groups).reason
    crowded = ideal.copy()
    crowded.positions[2] = [7.0, 0, 0]                  # O 2 nearest O 3's site, where O 3 still is
    assert "site(s) nearest two atoms" in map_to_lattice(ideal, crowded, 3.0, vacant, groups).reason


def test_nanomc_label_with_swap_groups_labels_the_occupation_relaxed_to(tmp_path, cli):
    frame = Atoms("Cu4X", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.5, 0], [2.5, 2.5, 0], [0, 0, 2.5]])
    frame.center(vacuum=4.0)
    Well.centre = frame.positions[4] + [0, 0, 0.1]    # atom 0 is pulled into the vacant site
    write(tmp_path / "in.extxyz", frame)
    base = ("label", "in.extxyz", "-c", f"{__name__}:Well", "--relax", "--relax-optimizer", "BFGS",
            "--max-displacement", "0.5", "-q")
    assert cli(*base, "-o", "plain.extxyz")[0] == 0
    assert len(read_labels(tmp_path / "plain.extxyz")) == 0          # left out without swap groups
    assert cli(*base, "-o", "other.extxyz", "--swap-groups", "Au,X")[0] == 0
    assert "outside its swap group" in (tmp_path / "other.extxyz.unmapped").read_text()
    assert cli(*base, "-o", "remapped.extxyz", "--swap-groups", "Cu,X")[0] == 0
    label, = read_labels(tmp_path / "remapped.extxyz")
    assert label.info["relax_hops"] == 1 and "within Cu,X" in label.info["relaxation"]
    assert np.allclose(label.positions, frame.positions[[4, 1, 2, 3]])   # atom 0 on the vacant site, its own empty
    assert label.get_potential_energy() == pytest.approx(4 * Well.per_cu, abs=1e-3)
    status, _, err = cli(*base, "-o", "x.extxyz", "--swap-groups", "Cu,X", "X,O")
    assert status == 1 and err.count("\n") == 1 and "two groups" in err
    status, _, err = cli(*base, "-o", "x.extxyz", "--swap-groups", "Cu")
    assert status == 1 and err.count("\n") == 1 and "at least two elements" in err


def test_a_structure_that_does_not_map_is_left_out_recorded_and_not_retried(tmp_path, capsys):
    atoms = Atoms("Cu4", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.5, 0], [0, 0, 2.5]])
    atoms.center(vacuum=4.0)
    Well.centre = atoms.positions[1] + [0.1, 0, 0]   # atom 0 is pulled onto atom 1's site
    write(tmp_path / "in.extxyz", [atoms, atoms[[1, 2, 3]]])
    out = tmp_path / "labels.extxyz"
    summary = label_files([tmp_path / "in.extxyz"], out, WELL, relax=BFGS_SETTINGS, progress_every=1e9)
    assert (summary.labelled, summary.unmapped, summary.unmapped_now) == (1, 1, 1)
    assert "in.extxyz frame 0: left out, does not map back to its lattice: 1 atom(s) nearer another site" in \
        capsys.readouterr().err
    assert len(read_labels(out)) == 1 and len(read(out, ":")[0]) == 3
    entry, = [json.loads(line) for line in (tmp_path / "labels.extxyz.unmapped").read_text().splitlines()]
    assert entry["origin"].endswith("in.extxyz frame 0") and "nearer another site" in entry["reason"]
    Well.k = float("nan")   # a calculator that would fail: resuming must not call it again
    again = label_files([tmp_path / "in.extxyz"], out, WELL, relax=BFGS_SETTINGS, quiet=True)
    assert (again.before, again.labelled, again.unmapped, again.unmapped_now) == (2, 0, 1, 0)
    # the command's summary counts the structures left out as done, once
    capsys.readouterr()
    assert main(["label", str(tmp_path / "in.extxyz"), "-c", f"{__name__}:Well", "-o", str(out), "--relax",
                 "--relax-optimizer", "BFGS", "--fmax", "0.05", "--relax-steps", "200"]) == 0
    assert "0 structures labelled" in (said := capsys.readouterr().out) and "2 were done before); 2 of 2 done" in said


def test_the_displacement_threshold_leaves_out_a_structure_that_stays_nearest_its_site(tmp_path):
    atoms = Atoms("Cu2", positions=[[0, 0, 0], [2.5, 0, 0]])
    atoms.center(vacuum=4.0)
    Well.centre = atoms.positions[0] + [0, 0.6, 0]    # atom 0 moves 0.6 Å, away from atom 1
    write(tmp_path / "in.extxyz", atoms)
    loose = label_files([tmp_path / "in.extxyz"], tmp_path / "a.extxyz", WELL, quiet=True,
                        relax=RelaxSettings(optimizer="BFGS", max_displacement=0.8))
    tight = label_files([tmp_path / "in.extxyz"], tmp_path / "b.extxyz", WELL, quiet=True,
                        relax=RelaxSettings(optimizer="BFGS", max_displacement=0.5))
    assert (loose.labelled, loose.unmapped, tight.labelled, tight.unmapped) == (1, 0, 0, 1)
    assert read_labels(tmp_path / "a.extxyz")[0].info["relax_max_displacement"] == pytest.approx(0.6, abs=0.02)
    assert "moved 0.6" in (tmp_path / "b.extxyz.unmapped").read_text()


def test_resuming_with_other_settings_is_refused_and_workers_write_the_same_file(tmp_path):
    write(tmp_path / "in.extxyz", [cluster(4), cluster(5), cluster(6)])
    one, two = tmp_path / "one.extxyz", tmp_path / "two.extxyz"
    label_files([tmp_path / "in.extxyz"], one, CalculatorSpec.parse("emt"), quiet=True, relax=BFGS_SETTINGS)
    label_files([tmp_path / "in.extxyz"], two, CalculatorSpec.parse("emt"), quiet=True, relax=BFGS_SETTINGS, workers=2)
    assert one.read_bytes() == two.read_bytes()
    for other in (RelaxSettings(optimizer="BFGS", fmax=0.02, steps=200), None):
        with pytest.raises(LabelError, match="frame 0 has other relaxation settings: relaxation"):
            label_files([tmp_path / "in.extxyz"], one, CalculatorSpec.parse("emt"), quiet=True, relax=other)
    with pytest.raises(nanomc.NanomcError, match="--max-displacement must be positive"):
        label_files([tmp_path / "in.extxyz"], one, CalculatorSpec.parse("emt"), relax=RelaxSettings(max_displacement=0))


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Run `nanomc ARGS` in tmp_path, in this process: (exit status, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def run(*args):
        status = main([str(a) for a in args])
        out = capsys.readouterr()
        return status, out.out, out.err
    return run


def test_cli_relax_options_and_errors_are_one_line(tmp_path, cli):
    write(tmp_path / "in.extxyz", cluster(7))
    assert cli("label", "in.extxyz", "-o", "l.extxyz", "-c", "emt", "--fmax", "0.1") == \
        (1, "", "nanomc: error: --fmax needs --relax\n")
    status, _, err = cli("label", "in.extxyz", "-o", "l.extxyz", "-c", "emt", "--relax", "--relax-with", "missing.h5")
    assert status == 1 and err.count("\n") == 1 and "missing.h5" in err
    status, out, err = cli("label", "in.extxyz", "-o", "l.extxyz", "-c", "emt", "--relax", "--fmax", "0.1",
                           "--relax-optimizer", "BFGS", "-q")
    assert (status, out, err) == (0, "", "")
    label, = read_labels(tmp_path / "l.extxyz")
    assert label.info["relax_fmax"] == 0.1 and "BFGS to fmax 0.1 eV/A in at most 500 steps" in label.info["relaxation"]


TRAIN = """
[data]
files = {files}
pair_files = {pair_files}
test_fraction = 0.2

[descriptors]
cutoff = 4.5
n_radial = 3
angular_etas = []

[network]
hidden = [4]

[training]
epochs = 5
force_weight = {force_weight}

[output]
potential = "trained.h5"
"""


def well_labels(tmp_path, name="relaxed.extxyz") -> str:
    """Relaxed-lattice labels of six small Au–Cu clusters with the Well calculator (nothing moves: k = 0)."""
    Well.k = 0.0
    write(tmp_path / "in.extxyz", [cluster(seed) for seed in range(10, 16)])
    label_files([tmp_path / "in.extxyz"], tmp_path / name, WELL, quiet=True, relax=RelaxSettings())
    return name


def train(tmp_path, files, force_weight=0.0, pair_files=()):
    (tmp_path / "train.toml").write_text(TRAIN.format(files=json.dumps(files), force_weight=force_weight,
                                                      pair_files=json.dumps(list(pair_files))))
    return train_from_file(tmp_path / "train.toml", quiet=True)


def test_training_on_relaxed_labels_records_it_and_refuses_mixtures_and_forces(tmp_path):
    relaxed = well_labels(tmp_path)
    train(tmp_path, [relaxed])
    potential = nanomc.Potential.load(tmp_path / "trained.h5")
    assert potential.energies == "relaxed-lattice" and nanomc.Potential.load(default_potential_path()).energies == "lattice"
    with pytest.raises(ConfigError, match=r"train.toml:\d+: relaxed-lattice labels have no forces") as error:
        train(tmp_path, [relaxed], force_weight=0.1)
    assert "\n" not in str(error.value)
    label_files([tmp_path / "in.extxyz"], tmp_path / "plain.extxyz", WELL, quiet=True)
    with pytest.raises(ConfigError, match="6 of the 12 reference structures are relaxed-lattice labels") as error:
        train(tmp_path, [relaxed, "plain.extxyz"])
    assert "\n" not in str(error.value)
    (tmp_path / "trained.h5").unlink()
    train(tmp_path, ["plain.extxyz"])
    assert nanomc.Potential.load(tmp_path / "trained.h5").energies == "lattice"


def test_relaxed_and_lattice_move_pairs_do_not_mix_with_the_other_kind_of_structures(tmp_path):
    relaxed = well_labels(tmp_path)
    label_files([tmp_path / "in.extxyz"], tmp_path / "plain.extxyz", WELL, quiet=True)
    before = cluster(20)
    after = before.copy()
    i, j = np.flatnonzero(before.symbols == "Au")[0], np.flatnonzero(before.symbols == "Cu")[0]
    after.numbers[[i, j]] = after.numbers[[j, i]]
    frames = pair_frames(before, after, "p0", -1.0, -1.2)
    write(tmp_path / "lattice-pairs.extxyz", frames)
    for frame in frames:
        frame.info["label_energies"] = "relaxed-lattice"
    write(tmp_path / "relaxed-pairs.extxyz", frames)
    with pytest.raises(ConfigError, match=r"train.toml:\d+: the reference structures have relaxed-lattice energies "
                                          r"and 1 of the 1 move pairs lattice ones") as error:
        train(tmp_path, [relaxed], pair_files=["lattice-pairs.extxyz"])
    assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="have lattice energies and 1 of the 1 move pairs relaxed-lattice ones"):
        train(tmp_path, ["plain.extxyz"], pair_files=["relaxed-pairs.extxyz"])
    train(tmp_path, [relaxed], pair_files=["relaxed-pairs.extxyz"])
    assert nanomc.Potential.load(tmp_path / "trained.h5").energies == "relaxed-lattice"
    train(tmp_path, ["plain.extxyz"], pair_files=["lattice-pairs.extxyz"])
    assert nanomc.Potential.load(tmp_path / "trained.h5").energies == "lattice"


@pytest.fixture
def relaxed_potential(tmp_path):
    """The shipped Au–Cu potential marked as a relaxed-lattice potential."""
    potential = nanomc.Potential.load(default_potential_path())
    potential.provenance["energies"] = "relaxed-lattice"
    potential.save(tmp_path / "pot.h5")
    return tmp_path / "pot.h5"


def test_relax_the_calculator_and_the_nanomc_relaxer_refuse_a_relaxed_lattice_potential(tmp_path, relaxed_potential,
                                                                                         cli):
    potential = nanomc.Potential.load(relaxed_potential)
    with pytest.raises(nanomc.PotentialError, match="nanomc relax needs forces, and this potential was trained on "
                                                    "relaxed-lattice energies"):
        relax(cluster(1), potential)
    with pytest.raises(nanomc.PotentialError, match="the nanomc ASE calculator"):
        NanomcCalculator(relaxed_potential)
    write(tmp_path / "in.extxyz", cluster(1))
    status, _, err = cli("relax", "in.extxyz", "--potential", relaxed_potential)
    assert status == 1 and err.count("\n") == 1 and "forces mean nothing" in err
    status, _, err = cli("label", "in.extxyz", "-o", "l.extxyz", "-c", "emt", "--relax", "--relax-with", relaxed_potential)
    assert status == 1 and err.count("\n") == 1 and "--relax-with" in err
    assert not (tmp_path / "l.extxyz").exists()


CAMPAIGN = """
[particle]
shape = "truncated_octahedron"
size = 4
composition = {{ Au = 0.5, Cu = 0.5 }}

[potential]
file = "pot.h5"

[mc]
temperatures = [600.0]
sweeps = 2
seed = 1
{extra}
[output]
directory = "out"
"""


@pytest.mark.parametrize("extra", ["", 'ensemble = "pamc"\nwalkers = 4\ntemperatures = [900.0, 600.0]\n'])
def test_a_campaign_with_a_relaxed_lattice_potential_says_so(tmp_path, relaxed_potential, extra):
    import h5py

    text = CAMPAIGN.format(extra=extra)
    if extra:
        text = text.replace("temperatures = [600.0]\n", "")
    (tmp_path / "params.toml").write_text(textwrap.dedent(text))
    summary = describe_population if extra else describe
    record = run_campaign(tmp_path / "params.toml", quiet=True)
    assert summary(record).startswith("energies: relaxed-lattice")
    with h5py.File(tmp_path / "out" / "results.h5") as f:
        assert f.attrs["potential_energies"] == "relaxed-lattice"
    (tmp_path / "pot.h5").write_bytes(default_potential_path().read_bytes())
    record = run_campaign(tmp_path / "params.toml", overwrite=True, quiet=True)
    assert "relaxed-lattice" not in summary(record)
    with h5py.File(tmp_path / "out" / "results.h5") as f:
        assert f.attrs["potential_energies"] == "lattice"


def test_the_committed_aucu_relaxed_lattice_potential_and_its_emt_labels():
    """runs/AuCu-relaxed-lattice: a sample of the committed labels are EMT energies relaxed from the stored
    ideal positions (FIRE to the recorded fmax lands within that tolerance's energy), and AuCu-relaxed.h5
    records relaxed-lattice energies and gives its recorded held-out RMSE on the trainer's split."""
    from pathlib import Path

    from nanomc.campaign.schema import load_config
    from nanomc.training.trainer import TRAIN_SCHEMA

    run = Path(__file__).parents[1] / "runs" / "AuCu-relaxed-lattice"
    config, _ = load_config(run / "train.toml", TRAIN_SCHEMA)
    frames = read(run / config["data"]["files"][0], ":")
    assert all(a.info["label_energies"] == "relaxed-lattice" and a.info["relaxed_by"] == "reference"
               and a.info["relax_converged"] for a in frames)
    small = [a for a in frames if len(a) <= 140]
    for atoms in small[::len(small) // 3]:  # clusters and bulk cells of 38-140 atoms
        moved = Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        unrelaxed = EMT().get_potential_energy(moved.copy())
        moved.calc = EMT()
        BFGS(moved, logfile=None).run(fmax=atoms.info["relax_fmax"], steps=500)
        assert moved.get_potential_energy() == pytest.approx(atoms.get_potential_energy(), abs=2e-4 * len(atoms))
        assert atoms.get_potential_energy() < unrelaxed - 1e-3 * len(atoms)  # relaxation gains > 1 meV/atom
    potential = nanomc.Potential.load(run / config["output"]["potential"])
    assert potential.energies == "relaxed-lattice"
    rmse = np.sqrt(np.mean(np.square(held_out_errors(run / "train.toml", potential)[1])))
    assert rmse == pytest.approx(potential.provenance["test_rmse_meV_per_atom"], rel=1e-6) and rmse < 2.0


def test_relaxed_geometry_labels_keep_the_reference_relaxation_mapped_or_not(tmp_path):
    """--relaxed-geometry: the frame is the reference's own relaxed structure (an independent BFGS run),
    with the reference energy and forces there, the unrelaxed energy, and whether it maps; a structure
    that does not map is labelled too, and a rerun labels nothing twice."""
    clusters = [cluster(1), cluster(2)]
    clusters[1].positions[0] += [1.6, 0, 0]  # squeezed towards a neighbour: relaxes off its site
    write(tmp_path / "in.extxyz", clusters)
    settings = RelaxSettings(optimizer="BFGS", fmax=0.05, steps=200, keep_geometry=True, max_displacement=0.3)
    summary = label_files([tmp_path / "in.extxyz"], tmp_path / "ref.extxyz", CalculatorSpec.parse("emt"), quiet=True,
                          relax=settings)
    assert summary.labelled == 2 and summary.unmapped == 0
    labels = read_labels(tmp_path / "ref.extxyz")
    for atoms, label in zip(clusters, labels):
        by_hand = atoms.copy()
        by_hand.calc = EMT()
        unrelaxed = by_hand.get_potential_energy()
        BFGS(by_hand, logfile=None).run(fmax=0.05, steps=200)
        np.testing.assert_allclose(label.positions, by_hand.positions, atol=1e-6)
        assert label.get_potential_energy() == pytest.approx(by_hand.get_potential_energy(), abs=1e-6)
        np.testing.assert_allclose(label.get_forces(), by_hand.get_forces(), atol=1e-6)
        assert label.info["energy_unrelaxed"] == pytest.approx(unrelaxed, abs=1e-9)
        assert label.info["label_energies"] == "relaxed-geometry"
        assert "labels at the relaxed geometry" in label.info["relaxation"]
        assert label.info["relax_maps"] == (map_to_lattice(atoms, by_hand, 0.3).reason is None)
    assert [label.info["relax_maps"] for label in labels] == [True, False]
    assert "more than --max-displacement" in labels[1].info["relax_unmapped_reason"]
    again = label_files([tmp_path / "in.extxyz"], tmp_path / "ref.extxyz", CalculatorSpec.parse("emt"), quiet=True,
                        relax=settings)
    assert again.labelled == 0 and again.before == 2


def test_check_relaxer_measures_the_cheap_path_against_the_reference(tmp_path, capsys):
    """The cheap path's numbers, recomputed by hand: the nanomc relaxer's geometry (an independent BFGS run),
    EMT's energy and largest force there, the error per atom and the share of the relaxation energy."""
    from nanomc.training.relaxer import RelaxerCheckError, check_relaxer, paired_references

    clusters = [cluster(4), cluster(5)]
    for k, atoms in enumerate(clusters):
        atoms.info["config_type"] = ["small", "large"][k]
    clusters[1].positions *= 1.04  # strained: a larger relaxation
    write(tmp_path / "in.extxyz", clusters)
    settings = RelaxSettings(optimizer="BFGS", fmax=0.05, steps=300, keep_geometry=True)
    label_files([tmp_path / "in.extxyz"], tmp_path / "ref.extxyz", CalculatorSpec.parse("emt"), quiet=True,
                relax=settings)
    pairs = paired_references([tmp_path / "in.extxyz"], tmp_path / "ref.extxyz")
    potential = nanomc.Potential.load(default_potential_path())
    checks = check_relaxer(pairs, potential, EMT(), 0.05, 300, "BFGS")
    for atoms, label, check in zip(clusters, read_labels(tmp_path / "ref.extxyz"), checks):
        by_hand = atoms.copy()
        by_hand.calc = NanomcCalculator(potential)
        BFGS(by_hand, logfile=None).run(fmax=0.05, steps=300)
        own = by_hand.get_potential_energy()
        by_hand.calc = EMT()
        cheap, unrelaxed, reference = by_hand.get_potential_energy(), label.info["energy_unrelaxed"], \
            label.get_potential_energy()
        assert check.energy_cheap == pytest.approx(cheap, abs=1e-9)
        assert check.energy_potential == pytest.approx(own, abs=1e-9)
        assert check.error == pytest.approx(1e3 * (cheap - reference) / len(atoms), abs=1e-6)
        assert check.captured == pytest.approx((unrelaxed - cheap) / (unrelaxed - reference), abs=1e-9)
        assert check.reference_fmax == pytest.approx(np.linalg.norm(by_hand.get_forces(), axis=1).max(), abs=1e-9)
        assert check.kind == atoms.info["config_type"] and not check.failed
        assert unrelaxed - reference > 0.01  # both relax: the share is a real number
    # the CLI prints the table and writes one row per structure
    assert main(["check-relaxer", str(tmp_path / "in.extxyz"), "--reference", str(tmp_path / "ref.extxyz"),
                 "--potential", str(default_potential_path()), "-c", "emt", "--csv", str(tmp_path / "c.csv")]) == 0
    out = capsys.readouterr().out
    assert "small" in out and "large" in out and "\nall" in out
    assert len((tmp_path / "c.csv").read_text().splitlines()) == 3
    # ordinary labels are not reference relaxations
    label_files([tmp_path / "in.extxyz"], tmp_path / "plain.extxyz", CalculatorSpec.parse("emt"), quiet=True)
    with pytest.raises(RelaxerCheckError, match="not a file of reference relaxations"):
        paired_references([tmp_path / "in.extxyz"], tmp_path / "plain.extxyz")
    with pytest.raises(RelaxerCheckError, match="nothere.extxyz: reference relaxations not found"):
        paired_references([tmp_path / "in.extxyz"], tmp_path / "nothere.extxyz")
    write(tmp_path / "other.extxyz", cluster(9))
    with pytest.raises(RelaxerCheckError, match="is not a structure of"):
        paired_references([tmp_path / "other.extxyz"], tmp_path / "ref.extxyz")


class Hump(Calculator):
    """Atom 0 on a hump: E = −a|d|² + b|d|⁴ with d its displacement from `centre` (eV, Å), zero force at the
    centre (a saddle of the whole structure, a maximum of the atom) and minima at |d| = √(a/2b); every other
    atom free."""

    implemented_properties = ["energy", "forces"]
    centre = np.zeros(3)
    a, b = 1.0, 2.0

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        d = self.atoms.positions[0] - self.centre
        r2 = d @ d
        forces = np.zeros((len(self.atoms), 3))
        forces[0] = (2 * self.a - 4 * self.b * r2) * d
        self.results = {"energy": -self.a * r2 + self.b * r2 * r2, "forces": forces}


def test_a_rattled_start_leaves_the_symmetric_saddle_that_a_start_on_the_lattice_stops_at(tmp_path):
    atoms = cluster(3)
    Hump.centre = atoms.positions[0].copy()
    write(tmp_path / "in.extxyz", atoms)
    spec = CalculatorSpec.parse(f"{__name__}:Hump")
    on_lattice = RelaxSettings(optimizer="BFGS", fmax=1e-3, steps=200)
    rattled = RelaxSettings(optimizer="BFGS", fmax=1e-3, steps=200, rattle=0.02)
    label_files([tmp_path / "in.extxyz"], tmp_path / "still.extxyz", spec, quiet=True, relax=on_lattice)
    label_files([tmp_path / "in.extxyz"], tmp_path / "rattled.extxyz", spec, quiet=True, relax=rattled)
    label_files([tmp_path / "in.extxyz"], tmp_path / "again.extxyz", spec, quiet=True, relax=rattled)
    still, = read_labels(tmp_path / "still.extxyz")
    moved, = read_labels(tmp_path / "rattled.extxyz")
    again, = read_labels(tmp_path / "again.extxyz")
    # the saddle: zero force, "converged" at once, energy 0; the minimum: −a²/4b
    assert still.get_potential_energy() == pytest.approx(0.0, abs=1e-12) and still.info["relax_converged"]
    assert moved.get_potential_energy() == pytest.approx(-Hump.a ** 2 / (4 * Hump.b), abs=1e-5)
    # the label stays on the ideal positions, records the rattle, and the same structure starts the same way
    assert np.allclose(moved.positions, atoms.positions, atol=1e-6) and moved.info["relax_rattle"] == 0.02
    assert "displaced by 0.02 A" in moved.info["relaxation"] and "displaced" not in still.info["relaxation"]
    assert again.get_potential_energy() == moved.get_potential_energy()
    assert moved.info["relax_max_displacement"] == again.info["relax_max_displacement"] > 0.4
    with pytest.raises(RelaxedLabelError, match="--rattle"):
        RelaxSettings(rattle=1.0, max_displacement=0.8).check()


class DoubleWell(Calculator):
    """Atom 0 between two wells along x: E = −a x² + b x⁴ + e x³ + k(y² + z²) with (x, y, z) its displacement
    from `centre` (eV, Å): a stationary point at the centre and minima on either side of it, the one at
    negative x the deeper; a start falls into the well on its own side. Every other atom free."""

    implemented_properties = ["energy", "forces"]
    centre = np.zeros(3)
    a, b, e, k = 1.0, 2.0, 0.5, 1.0

    @classmethod
    def wells(cls) -> tuple[float, float]:
        """The energies (eV) of the deeper and the shallower minimum."""
        x = np.roots([4 * cls.b, 3 * cls.e, -2 * cls.a])
        energies = -cls.a * x ** 2 + cls.b * x ** 4 + cls.e * x ** 3
        return float(energies.min()), float(energies.max())

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        x, y, z = self.atoms.positions[0] - self.centre
        forces = np.zeros((len(self.atoms), 3))
        forces[0] = [2 * self.a * x - 4 * self.b * x ** 3 - 3 * self.e * x ** 2, -2 * self.k * y, -2 * self.k * z]
        self.results = {"energy": -self.a * x ** 2 + self.b * x ** 4 + self.e * x ** 3 + self.k * (y * y + z * z),
                        "forces": forces}


def test_the_lowest_of_several_rattled_starts_is_the_deeper_minimum_and_each_start_can_be_relabelled_alone(tmp_path):
    atoms = cluster(3)
    DoubleWell.centre = atoms.positions[0].copy()
    write(tmp_path / "in.extxyz", atoms)
    spec = CalculatorSpec.parse(f"{__name__}:DoubleWell")
    deep, shallow = DoubleWell.wells()
    base = dict(optimizer="BFGS", fmax=1e-4, steps=300, rattle=0.02)
    label_files([tmp_path / "in.extxyz"], tmp_path / "six.extxyz", spec, quiet=True,
                relax=RelaxSettings(**base, starts=6))
    six, = read_labels(tmp_path / "six.extxyz")
    energies = six.info["relax_start_energies"]
    # every start ends in one of the two wells, the starts do not all fall the same way, the label is the deeper
    assert len(energies) == 6 and list(six.info["relax_start_converged"]) == [True] * 6
    assert all(min(abs(e - deep), abs(e - shallow)) < 1e-6 for e in energies)
    assert np.ptp(energies) > 0.5 * (shallow - deep)
    assert six.get_potential_energy() == pytest.approx(deep, abs=1e-6)
    assert energies[six.info["relax_start"]] == six.get_potential_energy()
    assert "lowest of 6 relaxations" in six.info["relaxation"] and "starts 0-5" in six.info["relaxation"]
    # start k alone (--first-start k) is the same relaxation as start k of the six; start 0 is the single rattled start
    for k in (0, 4):
        label_files([tmp_path / "in.extxyz"], tmp_path / f"start{k}.extxyz", spec, quiet=True,
                    relax=RelaxSettings(**base, first_start=k))
        alone, = read_labels(tmp_path / f"start{k}.extxyz")
        assert alone.get_potential_energy() == energies[k]
    single, = read_labels(tmp_path / "start0.extxyz")
    assert "start 0" not in single.info["relaxation"] and "relax_start" not in single.info
    assert "start 4" in alone.info["relaxation"] and alone.info["relax_start"] == 4
    with pytest.raises(RelaxedLabelError, match="--rattle"):
        RelaxSettings(starts=3).check()
    with pytest.raises(RelaxedLabelError, match="--starts"):
        RelaxSettings(rattle=0.02, starts=0).check()


def test_a_kick_moves_every_atom_of_its_element_by_its_distance_in_a_direction_that_differs_per_start():
    atoms = cluster(4)
    element = atoms.get_chemical_symbols()[0]
    chosen = atoms.symbols == element
    first, again, other = (rattled(atoms, 0.0, k, ((element, 0.6),)) for k in (0, 0, 1))
    moved = np.linalg.norm(first.positions - atoms.positions, axis=1)
    assert np.allclose(moved[chosen], 0.6) and np.allclose(moved[~chosen], 0.0)
    assert np.array_equal(first.positions, again.positions)
    assert not np.allclose(first.positions[chosen], other.positions[chosen])
    # with a rattle: the rattle of start 0 is the one without a kick, the kick comes on top
    both, plain = rattled(atoms, 0.02, 0, ((element, 0.6),)), rattled(atoms, 0.02, 0)
    assert np.allclose(both.positions[~chosen], plain.positions[~chosen])
    assert np.allclose(np.linalg.norm(both.positions - plain.positions, axis=1)[chosen], 0.6)
    with pytest.raises(RelaxedLabelError, match="--kick Cu=2"):
        RelaxSettings(kick=(("Cu", 2.0),), max_displacement=1.5).check()
    with pytest.raises(RelaxedLabelError, match="'cu' is not an element symbol"):
        RelaxSettings(kick=(("cu", 0.6),)).check()
    RelaxSettings(kick=(("Cu", 0.6),), starts=3).check()   # a kick alone makes the starts differ
