"""The HDF5 results file of a campaign: writer, reader, checkpoint state.

Layout (format "nanomc-results", version 1; version 2 when the campaign has several independent
starts):
    /  attrs: format, format_version, nanomc_version, parameters (the file text), potential_hash,
              seed, ensemble, elements, sweeps_done, sweeps_total, complete, potential_energies
              ("relaxed-lattice" for a potential trained on relaxed-lattice labels, else "lattice";
              absent in older files: "lattice"), starts (the kind of each start, nanomc.mc.starts;
              absent in older files: one start, "initial")
With S starts and T temperatures every "per temperature" or "per replica" axis below has S·T
entries, start-major: entry s·T + t is temperature t (replica t) of start s; /chains/temperature
stays the ladder (T,), and the /exchange arrays and attributes gain a leading start axis (rng: a
JSON list).
    /structure        positions (N, 3) Å, cell (3, 3) Å, pbc (3,), initial_elements (N,),
                      group (N,) swap group per site (−1 frozen)
    /chains           temperature (T,) K: the ladder (the last temperature for anneal)
    /trace            energy (T, S) eV, acceptance (T, S), temperature (T, S) K — per
                      temperature index and sweep, whichever replica was there
    /snapshots        sweep (K,), elements (T, K, N) int8 — element index per site, per temperature
    /final            energy (T,) eV, elements (T, N) int8 — per temperature at the end
    /best             energy (R,) eV, elements (R, N) int8 — lowest state each replica visited
    /exchange         replica_temperature (R, S) temperature index of each replica in each sweep;
                      attempts, accepted (T−1,) per neighbouring pair; round_trips (R,);
                      replica_at (T,), last_end (R,); attrs rounds, rng (JSON)
    /tuning           ladder = "tuned" only: ladders (rounds + 1, T) K, the starting ladder and the one
                      after each pilot round (the last is /chains/temperature); acceptance
                      (rounds, T−1) expected exchange acceptance each pilot measured; attrs sweeps, predicted
                      (the acceptance predicted for every pair of the tuned ladder)
    /checkpoint/chain_<r>   per replica: elements, descriptors, atomic_energies, best_elements;
                            attrs total, best_total, rng (JSON) — the exact state to continue from
The whole file is written to a temporary name and renamed, so a kill at any moment leaves
the previous complete file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from ..errors import NanomcError
from ..hdf5io import open_checked, write_atomically
from ..mc.ladder_tuning import Tuning

FORMAT = "nanomc-results"
FORMAT_VERSION = 2
#: the version of files of one start (the layout of before starts existed)
ONE_START_VERSION = 1
#: the start name of files written before starts existed
OLD_START = "initial"


class ResultsFileError(NanomcError, OSError):
    """A results file that is missing, damaged or not a nanomc results file."""


@dataclass
class RunRecord:
    """Everything a campaign has produced so far, in memory."""

    parameters: str
    potential_hash: str
    seed: int
    ensemble: str
    elements: list[str]
    positions: np.ndarray
    cell: np.ndarray
    pbc: np.ndarray
    initial_elements: np.ndarray
    group: np.ndarray
    temperatures: np.ndarray
    sweeps_total: int
    energy: list[list[float]] = field(default_factory=list)
    acceptance: list[list[float]] = field(default_factory=list)
    temperature_trace: list[list[float]] = field(default_factory=list)
    snapshot_sweeps: list[int] = field(default_factory=list)
    snapshots: list[np.ndarray] = field(default_factory=list)
    final_energy: np.ndarray | None = None
    final_elements: np.ndarray | None = None
    best_energy: np.ndarray | None = None
    best_elements: np.ndarray | None = None
    chain_states: list[dict] = field(default_factory=list)
    replica_temperature: list[list[int]] = field(default_factory=list)
    exchange: dict = field(default_factory=dict)
    sweeps_done: int = 0
    complete: bool = False
    tuning: Tuning | None = None     # ladder = "tuned": the pilots that made `temperatures`
    potential_energies: str = "lattice"  # Potential.energies: "relaxed-lattice" or "lattice"
    starts: list[str] = field(default_factory=lambda: [OLD_START])  # kind of each independent start

    @property
    def n_starts(self) -> int:
        return len(self.starts)

    @property
    def n_chains(self) -> int:
        """Rows of the per-temperature records: starts × temperatures (start-major)."""
        return len(self.starts) * len(self.temperatures)


def write_campaign(f: h5py.File, rec) -> None:
    """What every campaign's results file holds (a RunRecord or a PopulationRecord): the root attributes
    parameters, potential_hash, seed, ensemble, elements, potential_energies, and /structure (positions Å, cell Å, pbc,
    initial_elements, group)."""
    f.attrs.update({"parameters": rec.parameters, "potential_hash": rec.potential_hash, "seed": rec.seed,
                    "ensemble": rec.ensemble, "elements": rec.elements, "potential_energies": rec.potential_energies})
    s = f.create_group("structure")
    s["positions"], s["cell"], s["pbc"] = rec.positions, rec.cell, np.asarray(rec.pbc, bool)
    s["initial_elements"], s["group"] = rec.initial_elements.astype(np.int8), rec.group


def read_campaign(f: h5py.File) -> dict:
    """What write_campaign wrote, as keyword arguments of RunRecord and PopulationRecord."""
    a = f.attrs
    return {"parameters": str(a["parameters"]), "potential_hash": str(a["potential_hash"]), "seed": int(a["seed"]),
            "ensemble": str(a["ensemble"]), "elements": [str(e) for e in a["elements"]],
            "potential_energies": str(a.get("potential_energies", "lattice")),
            "positions": f["structure/positions"][()], "cell": f["structure/cell"][()], "pbc": f["structure/pbc"][()],
            "initial_elements": f["structure/initial_elements"][()].astype(np.int64), "group": f["structure/group"][()]}


def write_results(path: str | Path, rec: RunRecord) -> None:
    """Write the record atomically (temporary file, fsync, rename)."""
    with write_atomically(path, FORMAT, FORMAT_VERSION if rec.n_starts > 1 else ONE_START_VERSION) as f:
        write_campaign(f, rec)
        f.attrs.update({"sweeps_done": rec.sweeps_done, "sweeps_total": rec.sweeps_total, "complete": rec.complete,
                        "starts": rec.starts})
        f["chains/temperature"] = rec.temperatures
        n_c = rec.n_chains
        f["trace/energy"] = np.array(rec.energy, float).reshape(n_c, -1)
        f["trace/acceptance"] = np.array(rec.acceptance, float).reshape(n_c, -1)
        f["trace/temperature"] = np.array(rec.temperature_trace, float).reshape(n_c, -1)
        f["snapshots/sweep"] = np.array(rec.snapshot_sweeps, np.int64)
        snaps = np.array(rec.snapshots, np.int8).reshape(len(rec.snapshots), n_c, -1)
        f.create_dataset("snapshots/elements", data=snaps.transpose(1, 0, 2), compression="gzip")
        for name, energy, elements in (("final", rec.final_energy, rec.final_elements),
                                       ("best", rec.best_energy, rec.best_elements)):
            if energy is not None:
                f[f"{name}/energy"] = energy
                f[f"{name}/elements"] = np.asarray(elements, np.int8)
        f["exchange/replica_temperature"] = np.array(rec.replica_temperature, np.int64).reshape(n_c, -1)
        for key in ("attempts", "accepted", "round_trips", "replica_at", "last_end"):
            f[f"exchange/{key}"] = np.asarray(rec.exchange[key], np.int64)
        f["exchange"].attrs.update({"rounds": rec.exchange["rounds"], "rng": rec.exchange["rng"]})
        if rec.tuning is not None:
            f["tuning/ladders"], f["tuning/acceptance"] = rec.tuning.ladders, rec.tuning.acceptance
            f["tuning"].attrs.update({"sweeps": rec.tuning.sweeps, "predicted": rec.tuning.predicted})
        for c, state in enumerate(rec.chain_states):
            g = f.create_group(f"checkpoint/chain_{c}")
            for key in ("elements", "descriptors", "atomic_energies", "best_elements"):
                g[key] = state[key]
            g.attrs.update({"total": state["total"], "best_total": state["best_total"], "rng": state["rng"]})


def read_results(path: str | Path) -> RunRecord:
    """Read a results file; ResultsFileError with a one-line reason if it is unusable."""
    with open_checked(path, FORMAT, FORMAT_VERSION, ResultsFileError, "results", (ONE_START_VERSION,)) as f:
        a = f.attrs
        rec = RunRecord(
            **read_campaign(f), temperatures=f["chains/temperature"][()],
            sweeps_total=int(a["sweeps_total"]), sweeps_done=int(a["sweeps_done"]), complete=bool(a["complete"]),
            starts=[str(s) for s in a.get("starts", [OLD_START])],
        )
        rec.energy = f["trace/energy"][()].tolist()
        rec.acceptance = f["trace/acceptance"][()].tolist()
        rec.temperature_trace = f["trace/temperature"][()].tolist()
        rec.snapshot_sweeps = f["snapshots/sweep"][()].tolist()
        rec.snapshots = list(f["snapshots/elements"][()].transpose(1, 0, 2))
        for name in ("final", "best"):
            if name in f:
                setattr(rec, f"{name}_energy", f[f"{name}/energy"][()])
                setattr(rec, f"{name}_elements", f[f"{name}/elements"][()].astype(np.int64))
        rec.replica_temperature = f["exchange/replica_temperature"][()].tolist()
        rec.exchange = {key: f[f"exchange/{key}"][()]
                        for key in ("attempts", "accepted", "round_trips", "replica_at", "last_end")}
        rounds = f["exchange"].attrs["rounds"]
        rec.exchange.update({"rounds": int(rounds) if np.ndim(rounds) == 0 else np.asarray(rounds, np.int64),
                             "rng": str(f["exchange"].attrs["rng"])})
        if "tuning" in f:
            a = f["tuning"].attrs
            rec.tuning = Tuning(f["tuning/ladders"][()], f["tuning/acceptance"][()], int(a["sweeps"]),
                                float(a["predicted"]))
        for c in range(rec.n_chains):
            g = f.get(f"checkpoint/chain_{c}")
            if g is None:
                break
            state = {key: g[key][()] for key in ("elements", "descriptors", "atomic_energies", "best_elements")}
            state.update({"total": float(g.attrs["total"]), "best_total": float(g.attrs["best_total"]),
                          "rng": str(g.attrs["rng"])})
            rec.chain_states.append(state)
        return rec
