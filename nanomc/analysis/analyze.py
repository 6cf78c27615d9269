"""The analysis of a campaign's results file, or of plain structures: per state, every quantity
per snapshot (`Series`), then averaged with blocking errors into one tidy `Table`.

Quantities (the `quantity` column; fractions unless noted):
  energy                    eV, per sweep
  composition               fraction of each element on all swappable sites
  composition_layer         per layer (category 0 = surface, 1 = subsurface, ...)
  composition_site_type     per surface site type (vertex, edge, (100), (111), other) and interior
  composition_radial        per radial shell around the centre (category: range in Å)
  enrichment                x_e(surface) / x_e(all swappable sites)
  radial_distribution       share of the minority element's atoms in each radial shell
  nn_probability, nnn_probability
                            P(a first / second shell site of an A atom holds B), category A,
                            element B, on the pair lattice (swappable sites of X's swap group)
  warren_cowley_nn, warren_cowley_nnn
                            α = 1 − P(B | A)/c_B, same layout
  any_nn, any_nnn, any_nn_nnn
                            fraction of X atoms with at least one X among their first-shell,
                            second-shell, or first- and second-shell sites
With several swap groups (an oxide: cations, anions and vacancies) every composition is a
fraction of the sites of the element's own group, categories come from the pair element's
group (the host, see `sublattice`), and the dopant measures of the pair element D add:
  dopant_layer, dopant_site_type
                            fraction of the host sites in each layer / site type that hold D
  vacancy_layer, vacancy_site_type
                            fraction of the sites of the vacancy group (the one holding "X") in
                            each host layer / site type that are vacant
  dopant_vacancy            share of the vacancy-group sites linked to D atoms (a fluorite
                            cation's 8 anion sites at a√3/4) that are vacant
each with its exact random-placement value.
With a committee potential (`committee`, see nanomc.analysis.uncertainty):
  committee_swap_spread     eV; per snapshot the mean (category "mean") and the largest
                            ("max") σ over the members of the ΔE of `swaps` random swaps
  committee_energy_spread   eV/atom; σ over the members of the snapshot's energy per atom
Population annealing (a "nanomc-pamc" results file, `nanomc.campaign.population_results`): one state per
temperature step, its snapshots the R walkers after the step's sweeps (the energy: per walker),
errors clustered by family (`statistics.clustered_ratio_estimate`); with several starts (independent
populations) every value is the mean of the populations' estimates, its error the larger of their
spread and their own errors, and column agreement_p the χ² test that they agree
(`convergence.agreement`); and per step
  free_energy               eV, F = −k_B T ln Z; error k_B T σ(ln Z)
  entropy                   k_B, S/k_B = β(⟨E⟩ − F) of the whole particle's configurations;
                            error from those of ⟨E⟩ and ln Z in quadrature
  heat_capacity             k_B, C/k_B = β² Var(E) (no error)
  ln_z                      ln Z, the configurational partition function (ln Ω at infinite T)
  effective_fraction        effective population (Σw)²/(R Σw²) before resampling, a fraction of R
  family_fraction           effective number of families 1/Σ_f ν_f², a fraction of R
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
from ase import Atoms
from scipy import sparse

from ..formatting import format_temperature, plural
from ..potential import Potential
from ..campaign.results import RunRecord
from . import composition as comp
from . import pairs
from .errors import AnalysisError, AnalysisWarning
from .sites import Labels, Shells, SiteGeometry, site_geometry, sublattice_shells
from .convergence import AGREEMENT_P_MIN, ESS_MIN, NOT_AVAILABLE, RHAT_MAX, Agreement, agreement, diagnose
from .statistics import (Estimate, clustered_ratio_estimate, discard_sweeps, linearised, pooled_ratio_estimate,
                         warn_if_drifting)
from .sublattice import VACANCY, sublattice_geometry
from .table import Table
from .uncertainty import DEFAULT_SWAPS, CommitteeProbe

if TYPE_CHECKING:
    from ..campaign.population_results import PopulationRecord

#: default equilibration period: this fraction of the sweeps is discarded
DEFAULT_DISCARD = 0.2
#: fewer kept snapshots than this give unreliable error bars
FEW_SNAPSHOTS = 8
#: quantities about the potential, not the particle: they get R̂ and ESS, but the convergence summary
#: (info["convergence"], the report's list) counts only the particle's quantities
POTENTIAL_QUANTITIES = ("committee_swap_spread", "committee_energy_spread")
#: linearised samples of a ratio that differ by less than this times the ratio (or 1) differ by rounding
#: only (a_t/b_t the same in every snapshot): the quantity is constant
ROUNDING = 1e-9


@dataclass
class State:
    """Snapshots of one thermodynamic state (one temperature).

    temperature: K (NaN if unknown); occupations: (n_snapshots, n_sites) element indices;
    spacing: sweeps between snapshots (NaN if unknown); energy: eV per sweep, the kept part
    of the trace (None if unknown); clusters: (n_snapshots,) labels of correlated groups of
    snapshots, independent of each other (population annealing: each walker's family), or None
    for a time series (errors by blocking). With clusters, energy is per snapshot.
    starts: independent chains (starts) the time series come from; occupations and energy hold them
    one after the other, equally long (R̂ and ESS compare them; errors pool them). With clusters:
    independent populations (population annealing with several starts), their walkers one population
    after the other, equally many (each population gives an estimate; `convergence.agreement` pools
    and compares them).
    """

    temperature: float
    occupations: np.ndarray
    spacing: float = float("nan")
    energy: np.ndarray | None = None
    clusters: np.ndarray | None = None
    starts: int = 1


@dataclass
class Series:
    """One quantity per snapshot, as a ratio numerator / denominator, each (n_snapshots, n_categories, n_elements).

    The average over snapshots is the ratio of the averages, Σ numerator / Σ denominator (for a
    pair probability: all X–X bonds over all neighbour sites of X atoms in the kept snapshots),
    so that a random occupation gives the exact random value on average. denominator None
    means 1 (a plain average, e.g. the energy). random: (n_categories, n_elements) value for a
    random occupation, or None; sites: (n_categories,) swappable sites per category, or None;
    spacing: sweeps between samples; clusters: (n_snapshots,) cluster labels (see State), or None;
    starts: independent chains the samples come from, one after the other (see State).
    """

    quantity: str
    categories: list[str]
    elements: list[str]
    numerator: np.ndarray
    denominator: np.ndarray | None = None
    random: np.ndarray | None = None
    sites: np.ndarray | None = None
    spacing: float = float("nan")
    clusters: np.ndarray | None = None
    starts: int = 1

    @property
    def values(self) -> np.ndarray:
        """The value of every snapshot (NaN where the denominator is zero)."""
        return self.numerator if self.denominator is None else comp.ratio(self.numerator, self.denominator)


@dataclass
class Analysis:
    """Everything the analysis found.

    table: the tidy table of averages (see the module docstring for quantities);
    series: per state, quantity name -> Series (the per-snapshot values);
    geometry: the particle's site geometry; lattice: site indices of the pair lattice and
    lattice_shells its neighbour shells; elements: elements on the swappable sites;
    element: the pair element X; minority: the least abundant element; info: run and
    geometry facts for reports; traces: the whole energy trace per temperature (eV per sweep);
    links: with several swap groups, group -> its links to the host group (`sublattice.cross_links`);
    structures: the final and lowest-energy configurations of a results file (ase.Atoms, X for a
    vacancy; info "name" and "title"), for rendering.
    """

    table: Table
    series: list[dict[str, Series]]
    geometry: SiteGeometry
    lattice: np.ndarray
    lattice_shells: Shells
    elements: list[str]
    element: str
    minority: str
    temperatures: np.ndarray
    info: dict
    traces: list[np.ndarray] = field(default_factory=list)
    links: dict[int, sparse.csr_matrix] = field(default_factory=dict)
    structures: list[Atoms] = field(default_factory=list)

    def select(self, **equal) -> Table:
        """Rows of the table matching the given column values, e.g. select(quantity="any_nn")."""
        return self.table.select(**equal)


def load(source: str | Path | RunRecord | PopulationRecord | Atoms | Sequence[Atoms], element: str | None = None,
         discard: float | int = DEFAULT_DISCARD, radial_width: float | None = None,
         frozen: Sequence[int] | None = None, groups: Sequence[Sequence[str]] | None = None,
         committee: Potential | None = None, swaps: int = DEFAULT_SWAPS, seed: int = 0,
         rhat_max: float = RHAT_MAX, ess_min: float = ESS_MIN) -> Analysis:
    """Analyse a results file (path, RunRecord or PopulationRecord), one structure, or snapshots of one structure.

    element: the pair element X (default: the minority element of the swappable sites);
    discard: equilibration period, a fraction of the sweeps (< 1) or a number of sweeps (not used
    for population annealing, whose walkers are equilibrium samples at every step);
    radial_width: radial shell width in Å (default: the nearest-neighbour distance);
    frozen: for structures, indices of atoms that never move (excluded from the statistics);
    groups: for structures, the swap groups as element lists, e.g. [["Ce", "Cu"], ["O", "X"]]
    (a site belongs to the group listing its element in the first snapshot; other sites are
    frozen); default one group of all sites. Results files carry their groups.
    committee: a committee potential (Potential.committee_size > 1): `swaps` random swaps per kept
    snapshot, drawn with `seed`, give the spread of swap energies over its members
    (committee_swap_spread, committee_energy_spread; info["committee"]). A potential of one
    network adds nothing.
    rhat_max, ess_min: a quantity of a results file's time series is converged (column
    mcmc_converged) when its R̂ across the starts (or the halves of one chain) is at most rhat_max
    and its bulk and tail ESS at least ess_min (nanomc.analysis.convergence).
    """
    probe = (committee, swaps, seed) if committee is not None and committee.committee_size > 1 and swaps > 0 else None
    if isinstance(source, Atoms):
        return _from_structures([source], element, radial_width, frozen, groups, probe)
    if isinstance(source, (list, tuple)):
        if not source or not all(isinstance(frame, Atoms) for frame in source):
            raise AnalysisError("give a results file, an ase.Atoms or a non-empty list of ase.Atoms")
        return _from_structures(list(source), element, radial_width, frozen, groups, probe)
    from . import population  # population annealing: imports the MC kernels, so only when a record is read

    record = source if isinstance(source, (RunRecord, population.PopulationRecord)) else population.read_record(source)
    name = "(record)" if record is source else str(source)
    if isinstance(record, population.PopulationRecord):
        return population.from_population(record, name, element, radial_width, probe)
    return _from_record(record, name, element, discard, radial_width, probe, (rhat_max, ess_min))


def _from_structures(frames: list[Atoms], element: str | None, radial_width: float | None,
                     frozen: Sequence[int] | None, groups: Sequence[Sequence[str]] | None,
                     probe: tuple | None = None) -> Analysis:
    first = frames[0]
    if any(len(f) != len(first) for f in frames):
        raise AnalysisError("snapshots of one structure must all have the same number of atoms")
    elements = sorted({s for f in frames for s in f.get_chemical_symbols()})
    lookup = {e: k for k, e in enumerate(elements)}
    occupations = np.array([[lookup[s] for s in f.get_chemical_symbols()] for f in frames], np.int64)
    return load_snapshots(first, occupations, elements, float(first.info.get("temperature_K", np.nan)),
                          element=element, radial_width=radial_width, frozen=frozen, groups=groups, probe=probe)


def load_snapshots(atoms: Atoms, occupations: np.ndarray, elements: Sequence[str],
                   temperature: float = float("nan"), element: str | None = None,
                   radial_width: float | None = None, frozen: Sequence[int] | None = None,
                   groups: Sequence[Sequence[str]] | None = None, probe: tuple | None = None) -> Analysis:
    """Analyse occupation snapshots of one state: occupations (n_snapshots, n_sites) index `elements`.

    atoms gives the positions (Å), cell and pbc; temperature in K (NaN if unknown); probe:
    (committee potential, swaps, seed) or None; the other arguments as for `load`.
    """
    occupations = np.atleast_2d(np.asarray(occupations, np.int64))
    if occupations.shape[1] != len(atoms) or occupations.min() < 0 or occupations.max() >= len(elements):
        raise AnalysisError(f"occupations must be (snapshots, {len(atoms)}) indices into {len(elements)} elements")
    group = site_groups(list(elements), occupations, groups)
    if frozen is not None:
        group[np.asarray(frozen, int)] = -1
    info = {"source": atoms.get_chemical_formula(), "snapshots_kept": len(occupations)}
    return analyze_states(atoms, list(elements), group, [State(float(temperature), occupations)], element,
                          radial_width, info, probe)


def site_groups(elements: list[str], occupations: np.ndarray, groups: Sequence[Sequence[str]] | None) -> np.ndarray:
    """Swap group of every site from element lists (a site joins the group of its element in the first
    snapshot; −1: in no group); None: one group of all sites, refused when there are vacancies.
    """
    if groups is None:
        if VACANCY in elements and (occupations == elements.index(VACANCY)).any():
            raise AnalysisError(f"structures with vacancies ({VACANCY}) need their swap groups, "
                                f"e.g. groups=[['Ce', 'Cu'], ['O', '{VACANCY}']]")
        return np.zeros(occupations.shape[1], np.int64)
    lookup: dict[str, int] = {}
    for g, members in enumerate(groups):
        for e in members:
            if e in lookup:
                raise AnalysisError(f"groups: element {e} is in two groups")
            lookup[e] = g
    return np.array([lookup.get(elements[k], -1) for k in occupations[0]], np.int64)


def _from_record(record: RunRecord, name: str, element: str | None, discard: float | int,
                 radial_width: float | None, probe: tuple | None = None,
                 criteria: tuple[float, float] = (RHAT_MAX, ESS_MIN)) -> Analysis:
    done = record.sweeps_done
    if not record.snapshots:
        raise AnalysisError(f"{name}: the results file holds no snapshots")
    if not record.complete:
        warnings.warn(f"{name}: the run is incomplete ({done} of {record.sweeps_total} sweeps); "
                      "analysing what is there", AnalysisWarning, stacklevel=3)
    if record.ensemble == "anneal":
        warnings.warn("annealing run: the temperature changes during the run, so averages over the kept "
                      "snapshots mix temperatures", AnalysisWarning, stacklevel=3)
    n_discard = discard_sweeps(discard, done) if done else 0
    sweeps = np.asarray(record.snapshot_sweeps)
    keep = sweeps >= n_discard
    if not keep.any():
        raise AnalysisError(f"{name}: no snapshot after the {plural(n_discard, 'discarded sweep')}; lower --discard")
    if keep.sum() < FEW_SNAPSHOTS:
        warnings.warn(f"only {plural(int(keep.sum()), 'snapshot')} after discarding {plural(n_discard, 'sweep')}: "
                      "error bars are unreliable; store snapshots more often (mc.snapshot_interval)", AnalysisWarning,
                      stacklevel=3)
    n_t, n_s = len(record.temperatures), record.n_starts
    snapshots = np.asarray(record.snapshots)[keep]          # (K, starts × T, N)
    spacing = float(np.median(np.diff(sweeps))) if len(sweeps) > 1 else float("nan")
    energy = np.asarray(record.energy, float).reshape(record.n_chains, -1)
    states = []
    for t, temperature in enumerate(record.temperatures):
        chains = np.arange(n_s) * n_t + t                   # this temperature in every start
        occupations = np.concatenate([snapshots[:, c] for c in chains]).astype(np.int64)
        kept = energy[chains, max(n_discard - 1, 0):].ravel()   # energy[c, k] is the state after sweep k + 1
        states.append(State(float(temperature), occupations, spacing, kept, starts=n_s))
    atoms = Atoms(positions=record.positions, cell=record.cell, pbc=record.pbc)
    info = {
        "source": name, "ensemble": record.ensemble, "sweeps_done": done, "sweeps_total": record.sweeps_total,
        "complete": record.complete, "discarded_sweeps": n_discard, "snapshots_kept": int(keep.sum()),
        "snapshot_interval_sweeps": spacing, "starts": list(record.starts),
    }
    analysis = analyze_states(atoms, list(record.elements), np.asarray(record.group), states, element, radial_width,
                              info, probe, criteria=criteria)
    analysis.traces = [row for row in energy]
    analysis.structures = record_structures(record)
    return analysis


def record_structures(record: RunRecord) -> list[Atoms]:
    """The final configuration of each temperature and the lowest-energy one of each replica (of every
    start), as ase.Atoms.

    info["name"] (a file stem) and info["title"]. A replica that never changed temperature (no
    replica exchange) is named by its temperature, otherwise by its index.
    """
    frames = []

    def frame(name: str, title: str, occupation: np.ndarray) -> None:
        frames.append(structure(record, name, title, occupation))

    n_t = len(record.temperatures)

    def start(c: int) -> tuple[str, str]:
        """Name and title suffixes of chain c's start (none with one start)."""
        if record.n_starts == 1:
            return "", ""
        return f"_start{c // n_t}", f", start {c // n_t} ({record.starts[c // n_t]})"

    if record.final_elements is not None:
        for c, (energy, z) in enumerate(zip(record.final_energy, record.final_elements)):
            temperature = format_temperature(record.temperatures[c % n_t])
            frame(f"final_{temperature}K{start(c)[0]}", f"final, {temperature} K{start(c)[1]}, E = {energy:.3f} eV", z)
    if record.best_elements is not None:
        for r, (energy, z) in enumerate(zip(record.best_energy, record.best_elements)):
            path = np.asarray(record.replica_temperature[r]) if r < len(record.replica_temperature) else np.array([])
            if len(path) and (path == path[0]).all():
                temperature = format_temperature(record.temperatures[path[0]])
                frame(f"lowest_{temperature}K{start(r)[0]}",
                      f"lowest energy at {temperature} K{start(r)[1]}, E = {energy:.3f} eV", z)
            else:
                frame(f"lowest_replica{r}", f"lowest energy of replica {r}{start(r)[1]}, E = {energy:.3f} eV", z)
    return frames


def structure(record: RunRecord | PopulationRecord, name: str, title: str, occupation: np.ndarray) -> Atoms:
    """One occupation of the record's sites as ase.Atoms, with info "name" and "title"."""
    atoms = Atoms([record.elements[k] for k in occupation], positions=record.positions, cell=record.cell,
                  pbc=record.pbc)
    atoms.info.update({"name": name, "title": title})
    return atoms


def analyze_states(atoms: Atoms, elements: list[str], group: np.ndarray, states: list[State], element: str | None,
                   radial_width: float | None, info: dict, probe: tuple | None = None,
                   extra_rows: Sequence[dict] = (), criteria: tuple[float, float] = (RHAT_MAX, ESS_MIN)) -> Analysis:
    """The Analysis of `states` on the sites of `atoms` (group: swap group per site, −1 frozen);
    info: run facts, completed here; extra_rows: table rows appended after the measured ones;
    criteria: (largest R̂, smallest ESS) of a converged quantity."""
    swappable = group >= 0
    if not swappable.any():
        raise AnalysisError("every site is frozen: nothing to analyse")
    all_occ = np.concatenate([s.occupations for s in states])
    totals = np.bincount(all_occ[:, swappable].ravel(), minlength=len(elements))
    present = [k for k in range(len(elements)) if totals[k] > 0]
    names = [elements[k] for k in present]
    minority = elements[min(present, key=lambda k: totals[k])]
    x_name = element or minority
    if x_name not in names:
        raise AnalysisError(f"element {x_name!r} is not on the swappable sites (elements there: {', '.join(names)})")
    x = elements.index(x_name)
    x_groups = np.unique(group[swappable & (all_occ == x).any(axis=0)])
    element_group = _element_groups(all_occ[:, swappable], group[swappable], elements)
    links: dict[int, sparse.csr_matrix] = {}
    frozen_apart = (~swappable).any() and not np.isin(all_occ[:, ~swappable], all_occ[:, swappable]).any()
    if len(np.unique(group[swappable])) == 1 and not frozen_apart:
        sublattice = np.where(swappable, group, -2 - all_occ[0])     # frozen sites: by element
        geometry = site_geometry(atoms, sublattice, radial_width)
        lattice = np.flatnonzero(np.isin(group, x_groups) & swappable)
        shells = sublattice_shells(atoms, lattice, geometry)
    else:
        geometry, links, own = sublattice_geometry(atoms, group, int(x_groups[0]), radial_width)
        lattice = np.flatnonzero(group == x_groups[0])
        shells = geometry.shells
        info["sublattices"] = {
            "host_group": int(x_groups[0]),
            "groups": {str(g): {"elements": [elements[k] for k in present if element_group[k] == g], **own[g]}
                       for g in sorted(own)},
        }
    on_lattice = [k for k in present if (all_occ[:, lattice] == k).any()]
    context = _Context(elements, present, on_lattice, swappable, group, element_group, geometry, lattice, shells,
                       x, elements.index(minority), links)
    series = [context.measure(state) for state in states]
    if probe is not None:
        info["committee"] = _committee_spread(probe, atoms, elements, group, states, series)
    rows = []
    for state, measured in zip(states, series):
        if state.energy is not None and state.clusters is None:     # clustered snapshots are not a time series
            where = f"energy at {format_temperature(state.temperature)} K"
            z = float(np.max([warn_if_drifting(part, where + (f", start {k}" if state.starts > 1 else ""))
                              for k, part in enumerate(np.split(state.energy, state.starts))]))
            info.setdefault("energy_drift_z", []).append(z)
        for s in measured.values():
            rows.extend(_rows(s, state.temperature, criteria))
    rows.extend(extra_rows)
    info.update(_geometry_info(geometry, shells, swappable, lattice, atoms))
    info.update({"n_sites": len(atoms), "n_swappable": int(swappable.sum()), "elements": names,
                 "element": x_name, "minority": minority, "temperatures_K": [s.temperature for s in states]})
    table = Table(rows)
    info["convergence"] = convergence_info(table, criteria, states[0].starts, states[0].clusters is not None)
    return Analysis(table, series, geometry, lattice, shells, names, x_name, minority,
                    np.array([s.temperature for s in states]), info, links=links)


def _committee_spread(probe: tuple, atoms: Atoms, elements: list[str], group: np.ndarray, states: list[State],
                      series: list[dict[str, Series]]) -> dict:
    """Add the committee Series to every state's `series`; the summary for info["committee"]."""
    committee, swaps, seed = probe
    tool = CommitteeProbe(committee, atoms, elements, group)
    summary = []
    for t, (state, measured) in enumerate(zip(states, series)):
        sample = tool.sample(state.occupations, swaps, np.random.default_rng([seed, t]))
        sigma = sample.spread
        per_snapshot = np.stack([np.nanmean(sigma, axis=1), np.nanmax(sigma, axis=1)], axis=1)[:, :, None]
        measured["committee_swap_spread"] = Series("committee_swap_spread", ["mean", "max"], [""], per_snapshot,
                                                   spacing=state.spacing, clusters=state.clusters,
                                                   starts=state.starts)
        measured["committee_energy_spread"] = Series("committee_energy_spread", [""], [""],
                                                     sample.energy_spread[:, None, None], spacing=state.spacing,
                                                     clusters=state.clusters, starts=state.starts)
        done = sigma[np.isfinite(sigma)]
        summary.append({
            "temperature_K": state.temperature, "swaps": int(done.size),
            "mean_sigma_meV": 1000 * float(done.mean()) if done.size else float("nan"),
            "p95_sigma_meV": 1000 * float(np.percentile(done, 95)) if done.size else float("nan"),
            "max_sigma_meV": 1000 * float(done.max()) if done.size else float("nan"),
            "mean_abs_delta_meV": 1000 * float(np.nanmean(np.abs(sample.delta.mean(axis=-1)))) if done.size
            else float("nan"),
            "energy_sigma_meV_per_atom": 1000 * float(sample.energy_spread.mean()),
        })
    return {"members": committee.committee_size, "swaps_per_snapshot": swaps, "seed": seed,
            "per_temperature": summary}


def _element_groups(occupations: np.ndarray, group: np.ndarray, elements: list[str]) -> np.ndarray:
    """The swap group each element occupies (−1: none), from occupations (n_snapshots, n_sites) of grouped sites."""
    pairs_seen = np.unique(np.stack([np.broadcast_to(group, occupations.shape).ravel(), occupations.ravel()]), axis=1)
    element_group = np.full(len(elements), -1)
    for g, e in pairs_seen.T:
        if element_group[e] not in (-1, g):
            raise AnalysisError(f"element {elements[e]} occupies sites of two swap groups ({element_group[e]} and {g})")
        element_group[e] = g
    return element_group


@dataclass
class _Context:
    """What the per-snapshot measurements of every state share."""

    elements: list[str]
    present: list[int]
    on_lattice: list[int]
    swappable: np.ndarray
    group: np.ndarray
    element_group: np.ndarray
    geometry: SiteGeometry
    lattice: np.ndarray
    shells: Shells
    x: int
    minority: int
    links: dict[int, sparse.csr_matrix]

    def group_sites(self, labels: Labels) -> np.ndarray:
        """Sites per category of each element's swap group: (n_categories, n_elements)."""
        return np.stack([labels.sizes(self.swappable & (self.group == g)) for g in self.element_group], axis=1)

    def group_totals(self, counts: np.ndarray) -> np.ndarray:
        """Atoms of each element's swap group, same shape as counts (…, n_elements)."""
        same = self.element_group[:, None] == self.element_group[None, :]
        return counts @ same.astype(counts.dtype)

    def group_fractions(self, counts: np.ndarray) -> np.ndarray:
        """Fraction of each element among the atoms of its swap group (NaN where there are none)."""
        return comp.ratio(counts, self.group_totals(counts))

    def measure(self, state: State) -> dict[str, Series]:
        """Every quantity per snapshot of one state."""
        occ, g, sw, p = state.occupations, self.geometry, self.swappable, self.present
        n_el, names = len(self.elements), [self.elements[k] for k in self.present]
        out: dict[str, Series] = {}

        def add(quantity: str, categories: list[str], elements: list[str], numerator: np.ndarray,
                denominator: np.ndarray | None = None, random: np.ndarray | None = None,
                sites: np.ndarray | None = None, spacing: float = state.spacing) -> None:
            if denominator is not None:
                denominator = np.broadcast_to(denominator, numerator.shape)
            out[quantity] = Series(quantity, categories, elements, numerator, denominator, random, sites, spacing,
                                   state.clusters, state.starts)

        if state.energy is not None:
            add("energy", [""], [""], state.energy[:, None, None], spacing=1.0)
        everything = Labels.single(len(sw))
        for quantity, labels in (("composition", everything), ("composition_layer", g.layers),
                                 ("composition_site_type", g.site_types), ("composition_radial", g.radial)):
            counts = comp.label_counts(occ, labels, n_el, sw)
            add(quantity, labels.names, names, counts[:, :, p], self.group_totals(counts)[:, :, p],
                sites=self.group_sites(labels)[:, p])
        if g.surface[sw].any():
            surface = Labels(np.where(g.surface, 0, -1), ["surface"])
            at_surface, overall = (self.group_fractions(comp.label_counts(occ, labels, n_el, sw))[:, :, p]
                                   for labels in (surface, everything))
            add("enrichment", ["surface"], names, at_surface, overall, random=np.ones((1, len(p))),
                sites=self.group_sites(surface)[:, p])
        minority = comp.label_counts(occ, g.radial, n_el, sw)[:, :, [self.minority]]
        radial_sites = self.group_sites(g.radial)[:, self.minority]
        add("radial_distribution", g.radial.names, [self.elements[self.minority]], minority,
            minority.sum(axis=1, keepdims=True), random=(radial_sites / radial_sites.sum())[:, None],
            sites=radial_sites)
        self._pairs(occ[:, self.lattice], n_el, add)
        if self.links:
            self._dopant(occ, n_el, add)
        return out

    def _pairs(self, occ: np.ndarray, n_el: int, add) -> None:
        p, x = self.on_lattice, self.x
        names = [self.elements[k] for k in p]
        pick = np.ix_(p, p)
        counts = comp.label_counts(occ, Labels.single(occ.shape[1]), n_el)[:, 0]     # (n_snap, n_el)
        random_pair = pairs.random_neighbour_probabilities(counts)                  # (n_snap, A, B)
        random_p = random_pair.mean(axis=0)
        random_alpha = pairs.warren_cowley(random_pair, counts / occ.shape[1]).mean(axis=0)
        for shell, adjacency in (("nn", self.shells.first), ("nnn", self.shells.second)):
            bonds = pairs.pair_counts(occ, adjacency, n_el)                     # (n_snap, A, B)
            around = bonds.sum(axis=2, keepdims=True)                           # neighbour sites of A atoms
            add(f"{shell}_probability", names, names, bonds[:, p][:, :, p], around[:, p], random=random_p[pick])
            # α = 1 − P(B|A)/c_B as a ratio: (Σ m_A c_B − Σ n_AB) / Σ m_A c_B
            expected = around * (counts / occ.shape[1])[:, None, :]
            add(f"warren_cowley_{shell}", names, names, (expected - bonds)[:, p][:, :, p], expected[:, p][:, :, p],
                random=random_alpha[pick])
        x_name = [self.elements[x]]
        for shell, adjacency in (("nn", self.shells.first), ("nnn", self.shells.second),
                                 ("nn_nnn", self.shells.first + self.shells.second)):
            n_x, times = np.unique(counts[:, x], return_counts=True)
            random_any = np.average([pairs.random_any_neighbour_fraction(adjacency, int(n)) for n in n_x],
                                    weights=times)
            paired = pairs.paired_atoms(occ, adjacency, x)
            add(f"any_{shell}", x_name, x_name, paired[:, None, None], counts[:, x, None, None],
                random=np.array([[random_any]]))

    def _dopant(self, occ: np.ndarray, n_el: int, add) -> None:
        """Per host layer and site type: the dopant's (and the vacancies') share of its group's sites; association."""
        x, g = self.x, self.geometry
        for name, e in (("dopant", x), ("vacancy", self._vacancy())):
            if e is None:
                continue
            sites = self.swappable & (self.group == self.element_group[e])
            # random placement of the same number of atoms: each site holds e with probability n_e/N
            overall = (occ[:, sites] == e).sum(axis=1) / sites.sum()
            for kind, labels in (("layer", g.layers), ("site_type", g.site_types)):
                counts = comp.label_counts(occ, labels, n_el, sites)[:, :, [e]]
                size = labels.sizes(sites)
                add(f"{name}_{kind}", labels.names, [self.elements[e]], counts, size[None, :, None],
                    random=np.full((len(size), 1), overall.mean()), sites=size)
        v = self._vacancy()
        if v is None:
            return
        bonds = pairs.pair_counts(occ, self.links[int(self.element_group[v])], n_el)     # (n_snap, A, B)
        n_x = (occ == x).sum(axis=1)
        vacant = (occ == v).sum(axis=1) / (self.group == self.element_group[v]).sum()
        # E[Σ linked vacancies of D atoms] = E[Σ linked sites of D atoms]·n_X/N_anion, and E[linked sites] ∝ n_D
        random = np.sum(n_x * vacant) / np.sum(n_x)
        add("dopant_vacancy", [self.elements[x]], [VACANCY], bonds[:, x, v][:, None, None],
            bonds[:, x].sum(axis=1)[:, None, None], random=np.array([[random]]))

    def _vacancy(self) -> int | None:
        """Element index of the vacancy when it occupies a group other than the host's, else None."""
        if VACANCY not in self.elements:
            return None
        v = self.elements.index(VACANCY)
        return v if self.element_group[v] not in (-1, self.element_group[self.x]) else None


def _rows(series: Series, temperature: float, criteria: tuple[float, float] = (RHAT_MAX, ESS_MIN)) -> list[dict]:
    """Table rows of one Series: averages per (category, element) with blocking errors pooled over the
    starts and R̂/ESS of the linearised samples across the starts (the halves of one chain), or with
    cluster-robust errors when the Series has clusters (then tau_int_sweeps, R̂ and ESS are NaN: no
    time order); clusters of several populations: the populations' estimates pooled and tested for
    agreement (`population_estimate`, column agreement_p)."""
    rows = []
    sites = None if series.sites is None else np.asarray(series.sites, float)
    if sites is not None and sites.ndim == 1:
        sites = sites[:, None]                                  # the same sites for every element
    for c, category in enumerate(series.categories):
        if sites is not None and sites[c].max() == 0:
            continue
        for e, element in enumerate(series.elements):
            denominator = None if series.denominator is None else series.denominator[:, c, e]
            agreed = None
            if series.clusters is None:
                est = pooled_ratio_estimate(series.numerator[:, c, e], denominator, series.starts)
                tau = est.tau_int * series.spacing
                ratio, draws = linearised(series.numerator[:, c, e], denominator)
                diagnostics = diagnose(draws.reshape(series.starts, -1), ROUNDING * max(1.0, abs(ratio)))
            elif series.starts > 1:
                est, agreed = population_estimate(series.numerator[:, c, e], denominator, series.clusters,
                                                  series.starts)
                tau, diagnostics = float("nan"), NOT_AVAILABLE
            else:
                est = clustered_ratio_estimate(series.numerator[:, c, e], denominator, series.clusters)
                tau = float("nan")
                diagnostics = NOT_AVAILABLE
            rows.append({
                "temperature_K": temperature, "quantity": series.quantity, "category": category, "element": element,
                "mean": est.mean, "error": est.error, "n_samples": est.n_samples,
                "n_independent": est.n_independent, "tau_int_sweeps": tau,
                "converged": est.converged,
                "rhat": diagnostics.rhat, "ess_bulk": diagnostics.ess_bulk, "ess_tail": diagnostics.ess_tail,
                "agreement_p": agreed.p if agreed is not None else float("nan"),
                "mcmc_converged": agreed.converged() if agreed is not None else diagnostics.converged(*criteria),
                "random": float(series.random[c, e]) if series.random is not None else float("nan"),
                "sites": float(sites[c, min(e, sites.shape[1] - 1)]) if sites is not None else float("nan"),
            })
    return rows


def population_estimate(numerator: np.ndarray, denominator: np.ndarray | None, clusters: np.ndarray,
                        populations: int) -> tuple[Estimate, Agreement]:
    """Σ numerator / Σ denominator of each of `populations` independent populations (equal blocks of the
    samples, one after the other; samples correlated within `clusters`, its families), pooled.

    Each population's ratio and cluster-robust error (statistics.clustered_ratio_estimate) is one
    estimate; `convergence.agreement` gives the pooled mean (the plain mean of the populations'
    ratios), its error and whether they agree. The Estimate: that mean and error, n_samples and
    n_independent added up over the populations, tau_int NaN, converged only if every population's
    error is (enough families).
    """
    a = np.split(np.asarray(numerator, float), populations)
    b = [None] * populations if denominator is None else np.split(np.asarray(denominator, float), populations)
    f = np.split(np.asarray(clusters), populations)
    parts = [clustered_ratio_estimate(a[s], b[s], f[s]) for s in range(populations)]
    means = np.array([p.mean for p in parts])
    finite = means[np.isfinite(means)]
    scale = max(1.0, float(np.abs(finite).max())) if len(finite) else 1.0
    pooled = agreement(means, [p.error for p in parts], ROUNDING * scale)
    estimate = Estimate(pooled.mean, pooled.error, sum(p.n_samples for p in parts),
                        float(sum(p.n_independent for p in parts)), float("nan"), all(p.converged for p in parts))
    return estimate, pooled


def convergence_info(table: Table, criteria: tuple[float, float], starts: int, populations: bool = False) -> dict:
    """info["convergence"]: the criteria, how many starts were compared, and the rows (temperature, quantity,
    category, element, R̂, ESS, agreement p) whose R̂ and ESS (populations: agreement p) could be computed but
    are not converged (POTENTIAL_QUANTITIES left out). populations: the starts are independent populations of
    population annealing (compared by the χ² test of `convergence.agreement`, p ≥ agreement_p_min)."""
    rhat_max, ess_min = criteria
    diagnosed = ((np.isfinite(table["rhat"]) | np.isfinite(table["agreement_p"]))
                 & ~np.isin(table["quantity"], POTENTIAL_QUANTITIES))
    failed = table.subset(diagnosed & ~table["mcmc_converged"])
    if populations:
        compared = "populations"
    else:
        compared = "starts" if starts > 1 else "halves of the chain"
    return {"rhat_max": rhat_max, "ess_min": ess_min, "agreement_p_min": AGREEMENT_P_MIN, "starts": starts,
            "compared": compared, "diagnosed": int(diagnosed.sum()),
            "not_converged": [{key: row[key] for key in ("temperature_K", "quantity", "category", "element", "rhat",
                                                          "ess_bulk", "ess_tail", "agreement_p")}
                              for row in failed.rows()]}


def _geometry_info(g: SiteGeometry, shells: Shells, swappable: np.ndarray, lattice: np.ndarray,
                   atoms: Atoms) -> dict:
    """Facts about the geometry for reports (plain Python values)."""
    def shell_info(s: Shells) -> dict:
        return {"distances_A": [round(float(d), 4) for d in s.distances],
                "cutoffs_A": [round(float(c), 4) for c in s.cutoffs]}

    return {"geometry": {
        "fcc": g.fcc, "shells": shell_info(g.shells), "surface_sites": int(g.surface.sum()),
        "bulk_coordination": int(g.bulk_coordination.max()),
        "layers": dict(zip(g.layers.names, g.layers.sizes().tolist())),
        "site_types": dict(zip(g.site_types.names, g.site_types.sizes().tolist())),
        "radial_width_A": g.radial_width, "centre_A": [round(float(c), 4) for c in g.centre],
        "pair_lattice_sites": len(lattice), "pair_lattice_shells": shell_info(shells),
        "pair_lattice_is_all_sites": len(lattice) == len(atoms),
    }}
