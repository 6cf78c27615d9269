"""One Markov chain: an incremental energy model, swap groups, a random stream, sweeps."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..local_energy import LocalEnergyModel
from .groups import SwapGroups
from .schedule import KB


@dataclass
class SweepResult:
    """Energy (eV) after a sweep and its acceptance ratio (accepted / trials)."""

    energy: float
    acceptance: float


class Chain:
    """A Metropolis chain over element occupations with fixed positions.

    ensemble "canonical": swaps of unlike atoms within a swap group (composition fixed);
    "sgc": flips of one atom's element with chemical potentials `mu` (eV per element symbol),
    accepted with ΔE − (μ_new − μ_old); a vacancy X has μ_X = 0, so removing an O atom (O → X)
    is accepted with ΔE + μ_O. A sweep is as many trials as there are movable sites: in each,
    a movable site is drawn uniformly, so a swap group is picked in proportion to its movable
    sites, and its partner uniformly among the group's sites holding another element. With
    `neighbour_fraction` f > 0, a canonical trial instead draws its partner, with probability f,
    among the site's neighbours in its group (SwapGroups.neighbour_partners), and does nothing
    if that neighbour holds the same element: a short move, which the Metropolis rule accepts
    more often where distant swaps cost eV (a vacancy hopping to a next O site).
    With `composite_fraction` f_c > 0, a canonical trial is instead, with probability f_c, a
    composite move (oxides with vacancies, e.g. swap groups [["Ce", "Cu"], ["O", "X"]]): the two
    sites are drawn as above (partner from the whole group), and a vacancy next to the first moves
    to an occupied anion site next to the second in the same trial, accepted with the Hastings rule
    (LocalEnergyKernel.sweep_swaps; the anion neighbours are SwapGroups.anion_shells). A Cu that
    binds O vacancies can then change place with them instead of being pulled away from them.
    The random stream is a numpy Generator; its state is part of the chain state.
    """

    def __init__(
        self,
        model: LocalEnergyModel,
        groups: SwapGroups,
        rng: np.random.Generator,
        ensemble: str = "canonical",
        mu: Mapping[str, float] | None = None,
        neighbour_fraction: float = 0.0,
        composite_fraction: float = 0.0,
    ) -> None:
        if ensemble not in ("canonical", "sgc"):
            raise ValueError(f"unknown ensemble {ensemble!r}")
        if not 0.0 <= neighbour_fraction <= 1.0 or (neighbour_fraction and ensemble != "canonical"):
            raise ValueError(f"neighbour_fraction must be in [0, 1] and needs canonical swaps, "
                             f"got {neighbour_fraction} ({ensemble})")
        if not 0.0 <= composite_fraction <= 1.0 or (composite_fraction and ensemble != "canonical"):
            raise ValueError(f"composite_fraction must be in [0, 1] and needs canonical swaps, "
                             f"got {composite_fraction} ({ensemble})")
        self.model = model
        self.groups = groups
        self.rng = rng
        self.ensemble = ensemble
        self.mu = np.array([float((mu or {}).get(e, 0.0)) for e in model.species])
        self.mu[-1] = 0.0  # the vacancy
        groups.check_elements(model.element_indices, model.species)
        self.neighbour_fraction = float(neighbour_fraction)
        self.partners = groups.neighbour_partners(model.atoms) if neighbour_fraction else (None, None)
        self.composite_fraction = float(composite_fraction)
        self.shells = (groups.anion_shells(model.atoms, self.n_elements - 1) if composite_fraction
                       else (None, None))

    @property
    def n_elements(self) -> int:
        """Element indices of the occupations: the potential's elements and the vacancy."""
        return len(self.model.species)

    def sweep(self, temperature: float, n_sweeps: int = 1) -> SweepResult:
        """Run n_sweeps sweeps at `temperature` (K); returns the state after the last one."""
        kernel = self.model._kernel
        n_trials = len(self.groups.movable) * n_sweeps
        if n_trials == 0:
            return SweepResult(self.model.energy, 0.0)
        beta = 1.0 / (KB * temperature)
        columns = 6 if self.composite_fraction else 4 if self.neighbour_fraction else 3
        uniforms = self.rng.random((n_trials, columns))
        if self.ensemble == "canonical":
            site_list, site_pos, block_start = self.groups.site_blocks(self.model.element_indices, self.n_elements)
            accepted, _ = kernel.sweep_swaps(beta, self.groups.movable, self.groups.group, site_list, site_pos,
                                             block_start, uniforms, *self.partners, self.neighbour_fraction,
                                             *self.shells, self.composite_fraction)
        else:
            accepted = kernel.sweep_flips(beta, self.groups.movable, self.groups.group, self.groups.allowed_ptr,
                                          self.groups.allowed_flat, self.mu, uniforms)
        return SweepResult(self.model.energy, accepted / n_trials)

    # ------------------------------------------------------------ state for checkpoints
    def get_state(self) -> dict:
        """The exact chain state: the engine's arrays and the RNG state (as JSON text)."""
        state = self.model._kernel.get_state()
        state["rng"] = json.dumps(self.rng.bit_generator.state)
        return state

    def set_state(self, state: Mapping) -> None:
        """Restore a get_state() copy; the chain then continues exactly as the original would."""
        self.model._kernel.set_state(state)
        self.rng.bit_generator.state = json.loads(state["rng"])

    @property
    def best(self) -> tuple[float, np.ndarray]:
        """(energy in eV, element indices) of the lowest-energy state seen."""
        return self.model._kernel.best_total, self.model._kernel.best_elements
