"""A reference relaxation at the cost of a few reference single points: the potential, corrected.

Relaxing with a nanomc potential and then computing one reference point (`--relax-with`) is only
as good as the potential's forces. Here the reference is computed at a few points x_k along the
way, and between them the structure relaxes on the potential's surface corrected to agree with
the reference at x_k to first order (energy E_k and forces F_k of the reference there):

    E_c(x) = E_s(x) + (E_k − E_s(x_k)) − (F_k − F_s(x_k))·(x − x_k)
    F_c(x) = F_s(x) + (F_k − F_s(x_k))

E_s, F_s being the potential's energy (eV) and forces (eV/Å). The corrected surface is relaxed
(BFGS) within a trust radius ρ (Å, the largest displacement of any atom from x_k), and the
reference is computed where it stops. The step is taken if the reference energy went down; the
trust radius follows the usual trust-region rule on the ratio r of the reference's decrease to
the decrease E_c(x_k) − E_c(x) the corrected surface predicted: r < 1/4 halves ρ, r > 3/4 on a
step that reached ρ doubles it (up to `max_trust`); a step that raised the reference energy is
undone (its point still counts) and the reference is computed once more at the minimum of the cubic
that the energies and forces at both ends of the step define along it (a tenth to half the step). In
Ce–Cu–O an extra curvature learned from the points (a symmetric-rank-one update) made the tail
slower, so the correction stays first order. Near a minimum this is a quasi-Newton method whose model is the
potential (with its curvature) instead of a quadratic, so a potential whose forces are only
roughly right still converges to the reference's own minimum: the result is a reference
relaxation, to the reference's forces below `fmax` or to `max_points` reference points.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator as ASECalculator
from ase.calculators.calculator import all_changes

from ..errors import NanomcError, StructureError
from ..potential import Potential

#: the trust radius (Å) a relaxation starts with, its bounds, and BFGS's own largest step (Å)
TRUST, MIN_TRUST, MAX_TRUST, BFGS_STEP = 0.3, 0.002, 1.0, 0.2


class CorrectedRelaxationError(NanomcError, ValueError):
    """Settings of a corrected relaxation that cannot work."""


class CorrectedSurface(ASECalculator):
    """ASE calculator of the potential's surface corrected at x_k (see the module docstring): energy (eV)
    and forces (eV/Å)."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, potential: Potential, anchor: np.ndarray, energy_shift: float, force_shift: np.ndarray):
        super().__init__()
        self.potential, self.anchor = potential, anchor
        self.energy_shift, self.force_shift = energy_shift, force_shift

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        result = self.potential.energy_forces(self.atoms)
        moved = self.atoms.positions - self.anchor
        self.results = {"energy": result.energy + self.energy_shift - float(np.sum(self.force_shift * moved)),
                        "forces": result.forces + self.force_shift}


@dataclass
class CorrectedRelaxation:
    """The relaxed structure with the reference's energy (eV) and forces (eV/Å) there, the number of reference
    points computed, whether the reference's largest force is below fmax, and the reference energy after every
    point (eV; rejected steps repeat the previous energy)."""

    atoms: Atoms
    energy: float
    forces: np.ndarray
    points: int
    converged: bool
    energies: list[float] = field(default_factory=list)

    @property
    def fmax(self) -> float:
        """The reference's largest force at the relaxed geometry, eV/Å."""
        return _largest(self.forces)


def corrected_relax(atoms: Atoms, reference, potential: Potential, fmax: float = 0.05, max_points: int = 20,
                    trust: float = TRUST, inner_steps: int = 300) -> CorrectedRelaxation:
    """Relax a copy of `atoms` (no vacancies) to the minimum of the ASE calculator `reference` with at most
    `max_points` reference single points, relaxing in between on `potential`'s surface corrected at the last
    point (module docstring), within a trust radius starting at `trust` Å, at most `inner_steps` BFGS steps
    each. Stops when the reference's largest force is below `fmax` eV/Å."""
    from ase.optimize import BFGS

    if max_points < 1:
        raise CorrectedRelaxationError(f"a corrected relaxation needs at least 1 reference point, got {max_points}")
    if not (fmax > 0 and trust > 0):
        raise CorrectedRelaxationError(f"need fmax > 0 eV/Å and trust > 0 Å, got {fmax} and {trust}")
    current = atoms.copy()
    current.calc = reference
    energy, forces = _reference(current)
    energies = [energy]
    while len(energies) < max_points and _largest(forces) >= fmax and trust >= MIN_TRUST:
        model = current.copy()
        surrogate = potential.energy_forces(model)
        model.calc = CorrectedSurface(potential, current.positions.copy(), energy - surrogate.energy,
                                      forces - surrogate.forces)
        target, reached = _relax_within(model, BFGS(model, logfile=None, maxstep=min(BFGS_STEP, trust)),
                                        current.positions, fmax / 4, inner_steps, trust)
        predicted = energy - _corrected_energy(model, target)
        trial_energy, trial_forces = _reference(_moved(current, target, reference))
        ratio = (energy - trial_energy) / predicted if predicted > 0 else 0.0
        if ratio < 0.25:
            trust /= 2
        elif ratio > 0.75 and reached:
            trust = min(2 * trust, MAX_TRUST)
        if trial_energy >= energy and len(energies) + 1 < max_points:
            # the step raised the energy: one more point at the minimum of the cubic along it
            energies.append(energy)
            step = target - current.positions
            alpha = _cubic_minimum(energy, -float(np.sum(forces * step)), trial_energy,
                                   -float(np.sum(trial_forces * step)))
            target = current.positions + alpha * step
            trial_energy, trial_forces = _reference(_moved(current, target, reference))
            trust = max(alpha * float(np.linalg.norm(step, axis=1).max()), MIN_TRUST)
        if trial_energy < energy:
            current = _moved(current, target, reference)
            energy, forces = trial_energy, trial_forces
        energies.append(energy)
    return CorrectedRelaxation(current.copy(), energy, forces, len(energies), _largest(forces) < fmax, energies)


def _moved(atoms: Atoms, positions: np.ndarray, calc) -> Atoms:
    moved = atoms.copy()
    moved.positions = positions
    moved.calc = calc
    return moved


def _cubic_minimum(e0: float, slope0: float, e1: float, slope1: float) -> float:
    """Where along a step that raised the energy to try next: the minimiser of the cubic through the energies
    e0, e1 (eV) and slopes slope0, slope1 (eV per step) at its start (0) and end (1), kept in [0.1, 0.5]."""
    c = 3 * (e1 - e0) - 2 * slope0 - slope1
    d = slope0 + slope1 - 2 * (e1 - e0)
    roots = np.roots([3 * d, 2 * c, slope0]) if abs(d) > 1e-12 else np.array([-slope0 / (2 * c)] if c else [])
    minima = [r.real for r in np.atleast_1d(roots) if abs(r.imag) < 1e-12 and 2 * c + 6 * d * r.real > 0]
    return float(np.clip(minima[0], 0.1, 0.5)) if minima else 0.25


def _reference(atoms: Atoms) -> tuple[float, np.ndarray]:
    energy = float(atoms.get_potential_energy())
    forces = np.array(atoms.get_forces(), dtype=float)
    if not np.isfinite(energy) or not np.all(np.isfinite(forces)):
        raise ValueError("non-finite reference energy or forces")
    return energy, forces


def _largest(forces: np.ndarray) -> float:
    """The largest force (eV/Å) of an N × 3 array, 0 for no atoms."""
    return float(np.linalg.norm(forces, axis=1).max()) if len(forces) else 0.0


def _relax_within(model: Atoms, optimizer, anchor: np.ndarray, fmax: float, steps: int,
                  trust: float) -> tuple[np.ndarray, bool]:
    """(positions where the corrected relaxation stops, whether it stopped at the trust radius): at convergence,
    after `steps`, at the last step within `trust` Å of `anchor`, or at the last step before the potential drove
    atoms together."""
    last = model.positions.copy()
    try:
        for _ in optimizer.irun(fmax=fmax, steps=steps):
            if np.linalg.norm(model.positions - anchor, axis=1).max() > trust:
                return last, True
            last = model.positions.copy()
    except StructureError:
        return last, True
    return last, False


def _corrected_energy(model: Atoms, positions: np.ndarray) -> float:
    model.positions = positions
    return float(model.get_potential_energy())
