"""The corrected relaxation (nanomc.training.corrected): a reference relaxation from a few reference points,
relaxing in between on a nanomc potential corrected to the reference; EMT is the reference, the shipped
Au–Cu potential `AuCu` (trained on EMT, forces off by tens of meV/Å) the surrogate: docs/potentials.md quotes
these tests' reference-point counts for it."""
from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.emt import EMT
from ase.cluster import Octahedron
from ase.io import read, write
from ase.optimize import BFGS

import nanomc
from nanomc.cli import main
from nanomc.potential.store import potential_path
from nanomc.training.calculators import CalculatorSpec
from nanomc.training.corrected import CorrectedRelaxationError, CorrectedSurface, corrected_relax
from nanomc.training.label import label_files
from nanomc.training.labelfile import read_labels
from nanomc.training.relaxed import RelaxedLabelError, RelaxSettings
from nanomc.training.relaxer import RelaxerCheckError, check_relaxer, paired_references

AUCU = potential_path("AuCu")


class CountingEMT(EMT):
    """EMT that counts its energy-and-forces evaluations."""

    calls = 0

    def calculate(self, *args, **kwargs):
        CountingEMT.calls += 1
        super().calculate(*args, **kwargs)


@pytest.fixture(scope="module")
def potential():
    return nanomc.Potential.load(AUCU)


def particle(seed: int, strain: float = 1.03, rattle: float = 0.08) -> Atoms:
    """A 38-atom Au–Cu truncated octahedron with a random occupation, strained and rattled (Å)."""
    rng = np.random.default_rng(seed)
    atoms = Octahedron("Au", 4, 1, latticeconstant=3.9)
    atoms.symbols[rng.random(len(atoms)) < 0.5] = "Cu"
    atoms.positions *= strain
    atoms.positions += rng.normal(0, rattle, atoms.positions.shape)
    atoms.center(vacuum=6.0)
    return atoms


def emt_relaxed(atoms: Atoms, fmax: float) -> tuple[float, int]:
    """(EMT's energy after its own BFGS relaxation (eV), the EMT evaluations it took)."""
    atoms = atoms.copy()
    atoms.calc = CountingEMT()
    CountingEMT.calls = 0
    assert BFGS(atoms, logfile=None).run(fmax=fmax, steps=1000)
    return atoms.get_potential_energy(), CountingEMT.calls


def test_the_corrected_surface_is_the_reference_at_its_anchor_and_its_forces_are_its_gradient(potential):
    atoms = particle(1)
    atoms.calc = EMT()
    energy, forces = atoms.get_potential_energy(), atoms.get_forces()
    own = potential.energy_forces(atoms)
    assert np.abs(forces - own.forces).max() > 0.01  # the surrogate is not the reference
    model = atoms.copy()
    model.calc = CorrectedSurface(potential, atoms.positions.copy(), energy - own.energy, forces - own.forces)
    assert model.get_potential_energy() == pytest.approx(energy, abs=1e-9)
    assert np.allclose(model.get_forces(), forces, atol=1e-9)
    # away from the anchor: the forces are minus the gradient of the energy (central differences)
    model.positions += np.random.default_rng(2).normal(0, 0.05, model.positions.shape)
    analytic = model.get_forces()
    h = 1e-4
    for i, c in [(0, 0), (7, 1), (20, 2), (37, 0)]:
        shifted = []
        for s in (h, -h):
            probe = model.copy()
            probe.calc = model.calc
            probe.positions[i, c] += s
            shifted.append(probe.get_potential_energy())
        assert -(shifted[0] - shifted[1]) / (2 * h) == pytest.approx(analytic[i, c], abs=1e-5)


def test_a_corrected_relaxation_reaches_the_reference_minimum_with_fewer_reference_points(potential):
    for seed in (3, 4):
        atoms = particle(seed)
        reference_energy, reference_calls = emt_relaxed(atoms, 0.01)
        CountingEMT.calls = 0
        result = corrected_relax(atoms, CountingEMT(), potential, fmax=0.01, max_points=40)
        assert result.converged and result.points == CountingEMT.calls
        check = result.atoms.copy()
        check.calc = EMT()
        assert check.get_potential_energy() == pytest.approx(result.energy, abs=1e-9)
        assert np.linalg.norm(check.get_forces(), axis=1).max() < 0.01
        assert np.allclose(check.get_forces(), result.forces, atol=1e-9)
        # the same minimum as EMT's own relaxation: energies within what forces below 0.01 eV/Å leave
        assert result.energy == pytest.approx(reference_energy, abs=2e-3)
        assert result.energies[0] - result.energy > 0.5  # it did relax (eV)
        assert np.all(np.diff(result.energies) <= 0)  # rejected steps keep the energy
        assert result.points < reference_calls / 2


def test_the_reference_points_are_bounded_and_bad_settings_are_refused(potential):
    atoms = particle(5)
    CountingEMT.calls = 0
    result = corrected_relax(atoms, CountingEMT(), potential, fmax=1e-4, max_points=3)
    assert result.points == 3 == CountingEMT.calls == len(result.energies) and not result.converged
    assert result.energy < result.energies[0]
    one = corrected_relax(atoms, EMT(), potential, max_points=1)
    assert one.points == 1 and np.allclose(one.atoms.positions, atoms.positions)
    with pytest.raises(CorrectedRelaxationError, match="at least 1 reference point"):
        corrected_relax(atoms, EMT(), potential, max_points=0)


def test_relaxed_labels_and_check_relaxer_use_the_corrected_relaxation(tmp_path, potential, capsys):
    inputs = [particle(6), particle(7, strain=1.0)]
    for atoms, kind in zip(inputs, ["strained", "rattled"]):
        atoms.info["config_type"] = kind
    write(tmp_path / "in.extxyz", inputs)
    inputs = read(tmp_path / "in.extxyz", ":")  # as the labeller reads them (positions rounded by the file)
    settings = RelaxSettings(relax_with=str(AUCU), fmax=0.02, reference_points=30,
                             max_displacement=1.5)
    label_files([tmp_path / "in.extxyz"], tmp_path / "labels.extxyz", CalculatorSpec.parse("emt"), quiet=True,
                relax=settings)
    labels = read_labels(tmp_path / "labels.extxyz")
    for atoms, label in zip(inputs, labels):
        by_hand = corrected_relax(atoms, EMT(), potential, fmax=0.02, max_points=30)
        assert label.get_potential_energy() == pytest.approx(by_hand.energy, abs=1e-9)
        assert label.info["relax_steps"] == by_hand.points and label.info["relax_converged"]
        assert np.allclose(label.positions, atoms.positions, atol=1e-7)  # the ideal (input) positions
        assert "corrected to the reference at up to 30 points" in label.info["relaxation"]
    # the held-out check with K points: the corrected relaxation's numbers, against EMT's own relaxations
    label_files([tmp_path / "in.extxyz"], tmp_path / "ref.extxyz", CalculatorSpec.parse("emt"), quiet=True,
                relax=RelaxSettings(optimizer="BFGS", fmax=0.02, steps=500, keep_geometry=True))
    pairs = paired_references([tmp_path / "in.extxyz"], tmp_path / "ref.extxyz")
    checks = check_relaxer(pairs, potential, EMT(), 0.02, 300, reference_points=30)
    for (_, atoms, reference), check in zip(pairs, checks):
        by_hand = corrected_relax(atoms, EMT(), potential, fmax=0.02, max_points=30)
        assert check.energy_cheap == pytest.approx(by_hand.energy, abs=1e-9) and check.points == by_hand.points
        assert check.reference_fmax == pytest.approx(by_hand.fmax, abs=1e-12) and check.reference_fmax < 0.02
        assert check.energy_potential == pytest.approx(potential.energy_forces(by_hand.atoms).energy, abs=1e-9)
        assert abs(check.error) < 0.05  # meV/atom: the same minimum
    assert main(["check-relaxer", str(tmp_path / "in.extxyz"), "--reference", str(tmp_path / "ref.extxyz"),
                 "--potential", str(AUCU), "-c", "emt", "--fmax", "0.02",
                 "--reference-points", "30"]) == 0
    assert "corrected to the reference at up to 30 points" in capsys.readouterr().out


def test_reference_points_settings_are_checked_in_one_line(tmp_path, capsys):
    with pytest.raises(RelaxedLabelError, match="needs --relax-with|for a nanomc relaxer"):
        RelaxSettings(reference_points=5).check()
    with pytest.raises(RelaxedLabelError, match="at least 1"):
        RelaxSettings(relax_with="x.h5", reference_points=0).check()
    with pytest.raises(RelaxedLabelError, match="positions only"):
        RelaxSettings(relax_with="x.h5", reference_points=4, cell=True).check()
    write(tmp_path / "in.extxyz", particle(8))
    assert main(["label", str(tmp_path / "in.extxyz"), "-c", "emt", "-o", str(tmp_path / "l.extxyz"), "--relax",
                 "--reference-points", "5"]) != 0
    err = capsys.readouterr().err
    assert "--reference-points is for a nanomc relaxer" in err and "Traceback" not in err
    assert main(["label", str(tmp_path / "in.extxyz"), "-c", "emt", "-o", str(tmp_path / "l.extxyz"),
                 "--reference-points", "5"]) != 0
    assert "--reference-points needs --relax" in capsys.readouterr().err
    with pytest.raises(RelaxerCheckError, match="--reference-points must be at least 1"):
        check_relaxer([], nanomc.Potential.load(AUCU), EMT(), reference_points=0)


def test_screened_starts_relax_on_the_surrogate_and_correct_only_the_lowest(tmp_path, potential):
    from nanomc.calculator import Calculator
    from nanomc.training.relaxed import rattled

    atoms = particle(11, strain=1.0, rattle=0.0)
    write(tmp_path / "in.extxyz", atoms)
    atoms = read(tmp_path / "in.extxyz")
    settings = RelaxSettings(relax_with=str(AUCU), fmax=0.02, reference_points=30, max_displacement=1.5,
                             rattle=0.05, starts=3, screen=True)
    CountingEMT.calls = 0
    label_files([tmp_path / "in.extxyz"], tmp_path / "labels.extxyz",
                CalculatorSpec.parse(f"{__name__}:CountingEMT"), quiet=True, relax=settings)
    label, = read_labels(tmp_path / "labels.extxyz")
    # by hand: each start relaxed on the surrogate alone, the reference at each end, the corrected relaxation
    # from the lowest
    ends, energies = [], []
    for k in range(3):
        end = rattled(atoms, 0.05, k)
        end.calc = Calculator(potential)
        BFGS(end, logfile=None).run(fmax=0.02, steps=500)
        ends.append(end.positions.copy())
        energies.append(EMT().get_potential_energy(end))
    assert np.allclose(label.info["relax_screen_energies"], energies, atol=1e-9)
    best = int(np.argmin(energies))
    assert label.info["relax_start"] == best
    start = atoms.copy()
    start.positions = ends[best]
    by_hand = corrected_relax(start, EMT(), potential, fmax=0.02, max_points=30)
    assert label.get_potential_energy() == pytest.approx(by_hand.energy, abs=1e-9)
    # the reference: once per start, then the corrected relaxation's points (not starts × points)
    assert CountingEMT.calls == 3 + by_hand.points < 3 * by_hand.points
    assert "screened by the reference" in label.info["relaxation"]
    with pytest.raises(RelaxedLabelError, match="--screen"):
        RelaxSettings(relax_with="x.h5", reference_points=30, rattle=0.05, screen=True).check()
