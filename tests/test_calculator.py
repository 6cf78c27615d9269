"""nanomc.Calculator: ASE properties, stress convention, MD integrators and optimisers."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from ase import Atoms, units
from ase.build import bulk
from ase.calculators.calculator import PropertyNotImplementedError
from ase.cluster import Octahedron
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary, ZeroRotation
from ase.md.verlet import VelocityVerlet
from ase.optimize import BFGS, FIRE

import nanomc
from conftest import make_potential, random_cluster

try:
    from ase.calculators.fd import calculate_numerical_stress
except ImportError:  # ASE < 3.23
    def calculate_numerical_stress(atoms, eps):
        return atoms.calc.calculate_numerical_stress(atoms, d=eps)


@pytest.fixture(scope="module")
def calc():
    return nanomc.Calculator()  # the shipped default Au–Cu potential (AuCu-pairs)


def alloy(length: int, cut: int, seed: int = 0) -> Atoms:
    """Random Au50Cu50 truncated octahedron at the Vegard lattice constant (Å)."""
    atoms = Octahedron("Au", length, cut, latticeconstant=0.5 * (4.078 + 3.615))
    rng = np.random.default_rng(seed)
    symbols = np.array(["Au"] * len(atoms))
    symbols[rng.permutation(len(atoms))[: len(atoms) // 2]] = "Cu"
    atoms.set_chemical_symbols(symbols.tolist())
    return atoms


def thermalize(atoms: Atoms, temperature: float, seed: int) -> None:
    """Maxwell–Boltzmann momenta at `temperature` K (ASE ≥ 3.28: thermalize_momenta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=np.random.default_rng(seed))


def periodic_alloy(seed: int = 1, a: float = 3.85) -> Atoms:
    rng = np.random.default_rng(seed)
    atoms = bulk("Au", "fcc", a=a, cubic=True).repeat((2, 2, 2))
    atoms.set_chemical_symbols(rng.choice(["Au", "Cu"], len(atoms)).tolist())
    atoms.positions += rng.normal(0, 0.05, atoms.positions.shape)
    atoms.set_cell(atoms.cell.array + rng.normal(0, 0.1, (3, 3)), scale_atoms=True)
    return atoms


def test_properties_are_the_potentials(calc):
    atoms = alloy(4, 1)
    atoms.calc = calc
    pot = calc.potential
    assert atoms.get_potential_energy() == pytest.approx(pot.energy(atoms), abs=1e-10)
    assert atoms.get_potential_energy(force_consistent=True) == atoms.get_potential_energy()
    np.testing.assert_allclose(atoms.get_potential_energies(), pot.atomic_energies(atoms), rtol=0, atol=1e-12)
    np.testing.assert_allclose(atoms.get_forces(), pot.forces(atoms), rtol=0, atol=1e-12)
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_stress()


def test_potential_object_or_file(tmp_path):
    pot = make_potential(["Au", "Cu"], seed=2)
    pot.save(tmp_path / "pot.h5")
    atoms = random_cluster(["Au", "Cu"], 8, seed=1)
    e = [nanomc.Calculator(p).get_potential_energy(atoms) for p in (pot, tmp_path / "pot.h5", str(tmp_path / "pot.h5"))]
    assert e[0] == e[1] == e[2] == pytest.approx(pot.energy(atoms), abs=1e-12)
    with pytest.raises(nanomc.PotentialFileError):
        nanomc.Calculator(tmp_path / "missing.h5")


def test_unknown_element_is_a_one_line_error(calc):
    atoms = Atoms("AuPt", positions=[[0, 0, 0], [2.7, 0, 0]])
    with pytest.raises(nanomc.StructureError, match="'Pt'") as err:
        calc.get_forces(atoms)
    assert "\n" not in str(err.value)


def test_stress_matches_numerical_strain_derivative(calc):
    """Against ASE's calculate_numerical_stress ((E(1+ε) − E(1−ε)) / 2εV, ε = 1e-6:
    error ~ 1e-16·|E| / (ε V) ≈ 1e-10 eV/Å³); ASE's sign: a compressed cell has negative stress."""
    atoms = periodic_alloy()
    atoms.calc = calc
    stress = atoms.get_stress()
    assert stress.shape == (6,)
    np.testing.assert_allclose(stress, calculate_numerical_stress(atoms, eps=1e-6), rtol=0, atol=1e-8)
    squeezed = bulk("Au", "fcc", a=3.7, cubic=True)
    squeezed.calc = calc
    assert (squeezed.get_stress()[:3] < 0).all()
    assert np.abs(squeezed.get_stress()[3:]).max() < 1e-12  # cubic symmetry


def test_velocity_verlet_and_langevin_run(calc):
    atoms = alloy(4, 1)
    atoms.calc = calc
    thermalize(atoms, 300, seed=0)
    VelocityVerlet(atoms, timestep=2 * units.fs).run(10)
    Langevin(atoms, timestep=2 * units.fs, temperature_K=300, friction=0.02, fixcm=False,
             rng=np.random.default_rng(1)).run(10)
    assert np.isfinite(atoms.get_positions()).all() and 0 < atoms.get_temperature() < 2000


@pytest.mark.parametrize("optimizer", [BFGS, FIRE])
def test_optimizers_converge(calc, optimizer):
    atoms = alloy(4, 1, seed=3)
    atoms.positions += np.random.default_rng(4).normal(0, 0.05, atoms.positions.shape)
    atoms.calc = calc
    before = atoms.get_potential_energy()
    assert optimizer(atoms, logfile=None).run(fmax=0.02, steps=500)
    assert np.linalg.norm(atoms.get_forces(), axis=1).max() < 0.02
    assert atoms.get_potential_energy() < before - 0.05


def test_nve_conserves_energy(calc):
    """314-atom Au–Cu particle, 300 K, velocity Verlet with 2 fs steps for 150 steps (300 fs).

    Measured: total energy varies by 2.9 meV (9e-6 eV/atom) over 300 steps at 2 fs, 0.7 meV at
    1 fs (the dt² of a symplectic integrator with exact forces), while the potential energy
    swings by ~5 eV as kinetic and potential energy exchange. A force that is not −dE/dr by a
    relative δ breaks conservation by about δ times that swing; the bounds below (1e-4 eV/atom
    = 31 meV, drift 3e-5 eV/atom) allow ten times what is measured and catch δ ≳ 1%.
    """
    atoms = alloy(8, 2, seed=5)
    assert len(atoms) == 314
    atoms.calc = calc
    thermalize(atoms, 300, seed=6)
    Stationary(atoms)
    ZeroRotation(atoms)
    total, potential = [], []

    def record():
        potential.append(atoms.get_potential_energy())
        total.append(potential[-1] + atoms.get_kinetic_energy())

    md = VelocityVerlet(atoms, timestep=2 * units.fs)
    md.attach(record, interval=1)
    md.run(150)
    total, potential = np.array(total), np.array(potential)
    n = len(atoms)
    assert np.ptp(potential) > 1.0
    assert np.ptp(total) / n < 1e-4
    assert abs(total[-50:].mean() - total[:50].mean()) / n < 3e-5
    assert np.ptp(total) < 0.01 * np.ptp(potential)
    assert np.abs(atoms.get_momenta().sum(axis=0)).max() < 1e-8  # Σ F = 0 keeps it at rest
