"""An ASE calculator for molecular dynamics and relaxation with a nanomc Potential."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator as ASECalculator
from ase.calculators.calculator import PropertyNotImplementedError, all_changes

from .errors import StructureError
from .potential import Potential


class Calculator(ASECalculator):
    """ASE calculator: energy and free_energy (eV), atomic energies (eV), forces (eV/Å) and, for
    cells periodic in all three directions, stress (eV/Å³, ASE's Voigt order xx yy zz yz xz xy;
    positive when the energy rises on expansion).

    potential: a Potential, or the path of a potential file (default: the shipped Au–Cu
    potential `AuCu-pairs`, nanomc/data/AuCu-pairs.h5). The neighbour list is rebuilt at every call, so atoms may
    move freely. An element the potential does not know raises nanomc.StructureError, and so does
    a vacancy (an X atom): MD or an optimiser would move it, so remove vacancies first
    (`del atoms[atoms.numbers == 0]`; Potential.energy_forces gives them zero energy and force).
    A relaxed-lattice potential (Potential.energies) raises nanomc.PotentialError: its forces mean nothing.
    Stress of a structure that is not periodic in all three directions raises ASE's
    PropertyNotImplementedError.
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]

    def __init__(self, potential: Potential | str | Path | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(potential, Potential):
            potential = Potential.load("default" if potential is None else potential)
        potential.refuse_forces("the nanomc ASE calculator (molecular dynamics, relaxation)")
        self.potential = potential

    def calculate(self, atoms: Atoms | None = None, properties: Sequence[str] = ("energy",),
                  system_changes: Sequence[str] = all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        vacancies = np.flatnonzero(self.atoms.numbers == 0)
        if len(vacancies):
            raise StructureError(f"the structure has {len(vacancies)} vacancies (X atoms, the first is atom "
                                 f"{vacancies[0]}); atoms that move cannot include them: remove them first "
                                 f"(del atoms[atoms.numbers == 0])")
        periodic = bool(self.atoms.pbc.all())
        if "stress" in properties and not periodic:
            raise PropertyNotImplementedError("stress needs a cell that is periodic in all three directions")
        result = self.potential.energy_forces(self.atoms)
        self.results = {"energy": result.energy, "free_energy": result.energy, "energies": result.energies,
                        "forces": result.forces}
        if periodic:
            self.results["stress"] = result.stress(self.atoms.get_volume())
