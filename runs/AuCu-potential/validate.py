"""Errors of a Au–Cu potential against EMT on ≥1000-atom particles not in the training set.

    python runs/AuCu-potential/validate.py AuCu.h5                 # totals, swap energies, MC vs MC with EMT
    python runs/AuCu-potential/validate.py AuCu.h5 --sweeps 0      # totals and swap energies only
    python runs/AuCu-potential/validate.py AuCu-energies.h5 AuCu-pairs.h5  # several potentials, one EMT run

1. Totals: truncated octahedra (1289 atoms) and cuboctahedra (1415 atoms) at Au fractions
   0.2–0.8, with random, Au-shell and Cu-shell orderings; RMSE and MAE per atom by ordering.
2. Swap energies (E after − E before an Au↔Cu exchange, what Metropolis sees): random swaps in
   those particles and in snapshots of the EMT Monte Carlo below; nanomc's ΔE is that of its
   incremental engine (LocalEnergyModel.delta_swap), EMT's is exact (LatticeEMT). RMSE and
   bias (mean of nanomc − EMT) in meV, by ordering and in all; every potential gets the same swaps.
3. Canonical MC of the same 1289-atom Au25Cu75 truncated octahedron at two temperatures with
   EMT itself (exact ΔE from LatticeEMT, a Python Metropolis loop with nanomc's proposal: a site
   uniformly, its partner uniformly among the sites of the other element) and with nanomc
   (its Cython chain), both from the same random start: Au fraction of the surface (layer 0),
   subsurface (layer 1) and core (layers ≥ 2), averaged over the sweeps after `--discard`,
   with blocking errors (nanomc.analysis.statistics); the difference in units of the combined
   error σ = sqrt(σ_nanomc² + σ_EMT²).
"""
import argparse
import time
from pathlib import Path

import numpy as np
from ase.cluster import Octahedron

from nanomc import Potential
from nanomc.analysis.sites import site_geometry
from nanomc.analysis.statistics import blocking
from nanomc.local_energy import LocalEnergyModel
from nanomc.mc import Chain, SwapGroups
from nanomc.mc.schedule import KB
from nanomc.training.lattice_emt import LatticeEMT
from nanomc.training.reference import occupy_alloy, vegard

ELEMENTS = ["Au", "Cu"]


def particles(seed: int = 99) -> dict[str, list]:
    """Large particles by ordering: random, Cu core / Au shell, Au core / Cu shell."""
    rng = np.random.default_rng(seed)
    names = {"random": "random", "b_core": "Cu core / Au shell", "b_shell": "Au core / Cu shell"}
    out: dict[str, list] = {name: [] for name in names.values()}
    for shape in ((13, 4), (15, 7)):
        for x_cu in (0.2, 0.5, 0.8):
            for ordering, name in names.items():
                atoms = Octahedron("Au", *shape, latticeconstant=vegard(ELEMENTS, x_cu))
                occupy_alloy(atoms, ELEMENTS, x_cu, ordering, rng)
                out[name].append(atoms)
    return out


def swap_errors(pot: Potential, atoms, n_swaps: int, rng: np.random.Generator) -> np.ndarray:
    """nanomc ΔE − EMT ΔE (eV) of n_swaps random Au↔Cu swaps in `atoms`."""
    model, emt = LocalEnergyModel(pot, atoms), LatticeEMT(atoms, ELEMENTS)
    au = np.flatnonzero(atoms.numbers == 79)
    cu = np.flatnonzero(atoms.numbers == 29)
    out = []
    for _ in range(n_swaps):
        i, j = int(rng.choice(au)), int(rng.choice(cu))
        out.append(model.delta_swap(i, j) - emt.delta_swap(i, j))
    return np.array(out)


def emt_sweep(emt: LatticeEMT, temperature: float, rng: np.random.Generator, sites: list, where: np.ndarray) -> int:
    """One canonical sweep (N trials) with EMT energies; `sites[e]` lists the sites of element e,
    `where[i]` is the position of site i in its list. Returns the accepted swaps."""
    beta, n, accepted = 1.0 / (KB * temperature), len(emt.z), 0
    for u in rng.random((n, 3)):
        i = int(u[0] * n)
        a = emt.z[i]
        b = 1 - a
        j = int(sites[b][int(u[1] * len(sites[b]))])
        delta = emt.delta_swap(i, j)
        if delta <= 0 or u[2] < np.exp(-beta * delta):
            emt.swap(i, j)
            sites[a][where[i]], sites[b][where[j]] = j, i
            where[i], where[j] = where[j], where[i]
            accepted += 1
    return accepted


def layer_fractions(au: np.ndarray, layers: np.ndarray) -> list[float]:
    """Au fraction of the surface, subsurface and core (layers ≥ 2) for an Au mask."""
    return [float(au[layers == 0].mean()), float(au[layers == 1].mean()), float(au[layers >= 2].mean())]


def mc_comparison(potentials: dict[str, Potential], temperatures, sweeps: int, discard: int, seed: int = 5,
                  emt_cache: dict | None = None):
    """Per temperature: {engine: (per-sweep [surface, subsurface, core] Au fractions after the
    discarded sweeps, mean acceptance, seconds)} for EMT and each potential, and the EMT snapshots
    (every 10th sweep), for one 1289-atom Au25Cu75 particle. The EMT runs are taken from / added
    to `emt_cache` (arrays by temperature and run length) when given."""
    start = Octahedron("Au", 13, 4, latticeconstant=vegard(ELEMENTS, 0.75))
    occupy_alloy(start, ELEMENTS, 0.75, "random", np.random.default_rng(seed))
    layers = site_geometry(start).layers.index
    out, snapshots = {}, []
    for temperature in temperatures:
        result = {}
        for k, (name, pot) in enumerate(potentials.items()):
            rng = np.random.default_rng([seed, int(temperature), k + 1])
            model = LocalEnergyModel(pot, start)
            chain = Chain(model, SwapGroups.single(len(start), [pot.elements.index(e) for e in ELEMENTS]), rng)
            series, acc = [], []
            t0 = time.monotonic()
            for sweep in range(sweeps):
                acc.append(chain.sweep(temperature).acceptance)
                series.append(layer_fractions(model.element_indices == pot.elements.index("Au"), layers))
            result[name] = (np.array(series[discard:]), float(np.mean(acc[discard:])), time.monotonic() - t0)
        key = f"{temperature:.0f}K-{sweeps}-{discard}-{seed}"
        if emt_cache is not None and f"{key}-series" in emt_cache:
            series, numbers, (acc, seconds) = (emt_cache[f"{key}-{x}"] for x in ("series", "numbers", "stats"))
        else:
            series, acc, seconds, numbers = emt_chain(start, layers, temperature, sweeps, discard, seed)
            if emt_cache is not None:
                emt_cache.update({f"{key}-series": series, f"{key}-numbers": numbers,
                                  f"{key}-stats": np.array([acc, seconds])})
        result["EMT"] = (series, float(acc), float(seconds))
        for n in numbers:
            atoms = start.copy()
            atoms.numbers = n
            snapshots.append(atoms)
        out[temperature] = result
    return out, snapshots


def emt_chain(start, layers: np.ndarray, temperature: float, sweeps: int, discard: int, seed: int):
    """Canonical MC with EMT: per-sweep Au fractions after `discard`, mean acceptance, seconds, and
    the atomic numbers of every 10th sweep after `discard`."""
    rng = np.random.default_rng([seed, int(temperature), 0])
    emt = LatticeEMT(start, ELEMENTS)
    sites = [list(np.flatnonzero(emt.z == e)) for e in (0, 1)]
    where = np.zeros(len(start), np.int64)
    for lst in sites:
        where[lst] = np.arange(len(lst))
    series, acc, numbers = [], [], []
    t0 = time.monotonic()
    for sweep in range(sweeps):
        acc.append(emt_sweep(emt, temperature, rng, sites, where) / len(start))
        series.append(layer_fractions(emt.z == 0, layers))
        if sweep >= discard and sweep % 10 == 0:
            numbers.append(emt.numbers)
    return np.array(series[discard:]), float(np.mean(acc[discard:])), time.monotonic() - t0, np.array(numbers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("potentials", type=Path, nargs="+")
    parser.add_argument("--swaps", type=int, default=100, help="random swaps per validation particle")
    parser.add_argument("--snapshot-swaps", type=int, default=20, help="random swaps per EMT-MC snapshot")
    parser.add_argument("--sweeps", type=int, default=500, help="MC sweeps per temperature and engine (0: no MC)")
    parser.add_argument("--discard", type=int, default=100, help="MC sweeps discarded as equilibration")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[600.0, 900.0])
    parser.add_argument("--seed", type=int, default=5, help="MC: seed of the start and of the chains")
    parser.add_argument("--emt-cache", type=Path, help="npz file keeping the EMT MC runs (reused when it has them)")
    args = parser.parse_args()
    cache = dict(np.load(args.emt_cache)) if args.emt_cache and args.emt_cache.exists() else {}
    potentials = {path.name: Potential.load(path) for path in args.potentials}
    structures = particles()
    mc, snapshots = mc_comparison(potentials, args.temperatures, args.sweeps, args.discard, args.seed,
                                  emt_cache=cache if args.emt_cache else None) if args.sweeps else ({}, [])
    if args.emt_cache and cache:
        np.savez(args.emt_cache, **cache)
    for name, pot in potentials.items():
        rng = np.random.default_rng(2026)  # the same swaps for every potential
        print(f"== {name}")
        print("Total energies (meV/atom), nanomc − EMT:")
        every, swaps = [], []
        for ordering, group in structures.items():
            err = np.array([(pot.energy(a) - LatticeEMT(a, ELEMENTS).energy) / len(a) for a in group]) * 1000
            every.append(err)
            swaps.append(np.concatenate([swap_errors(pot, a, args.swaps, rng) for a in group]) * 1000)
            print(f"  {ordering:20s} {len(err)} particles of {min(map(len, group))}-{max(map(len, group))} atoms: "
                  f"RMSE {np.sqrt(np.mean(err**2)):.2f}, MAE {np.mean(np.abs(err)):.2f}")
        err = np.concatenate(every)
        print(f"  {'all':20s} {len(err)} particles: RMSE {np.sqrt(np.mean(err**2)):.2f}, MAE {np.mean(np.abs(err)):.2f}")
        rows = [(f"particles, {ordering}", err) for ordering, err in zip(structures, swaps)]
        rows.append(("validation particles", np.concatenate(swaps)))
        if snapshots:
            rows.append((f"EMT-MC snapshots ({len(snapshots)})",
                         np.concatenate([swap_errors(pot, a, args.snapshot_swaps, rng) for a in snapshots]) * 1000))
        print("Swap energies (meV), nanomc ΔE − EMT ΔE:")
        for what, err in rows:
            print(f"  {what:38s} {len(err):4d} swaps: RMSE {np.sqrt(np.mean(err**2)):.2f}, "
                  f"bias {np.mean(err):+.2f}, max |err| {np.abs(err).max():.1f}")
    if not mc:
        return
    print(f"Canonical MC, 1289-atom Au25Cu75 truncated octahedron, {args.sweeps} sweeps per temperature and engine, "
          f"first {args.discard} discarded; Au fraction (%) ± blocking error; (nanomc − EMT)/σ:")
    print(f"  {'T (K)':>6s} {'region':>11s} {'EMT':>15s} " + " ".join(f"{n:>24s}" for n in potentials))
    for temperature, result in mc.items():
        for k, region in enumerate(("surface", "subsurface", "core")):
            est = {engine: blocking(series[:, k]) for engine, (series, _, _) in result.items()}
            cells = []
            for n in potentials:
                sigma = np.hypot(est["EMT"].error, est[n].error)
                cells.append(f"{100 * est[n].mean:7.2f} ± {100 * est[n].error:4.2f} ({(est[n].mean - est['EMT'].mean) / sigma:+5.1f}σ)")
            print(f"  {temperature:6.0f} {region:>11s} {100 * est['EMT'].mean:7.2f} ± {100 * est['EMT'].error:4.2f} "
                  + " ".join(f"{c:>24s}" for c in cells))
        print(f"  {temperature:6.0f} acceptance: " + ", ".join(f"{n} {acc:.3f} ({sec:.0f} s)"
                                                        for n, (_, acc, sec) in result.items()))

if __name__ == "__main__":
    main()
