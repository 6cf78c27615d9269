"""Issue 19 validation: relaxed-EMT swap energies against a relaxed-lattice potential's, on a ≥1000-atom particle.

An Au–Cu truncated octahedron (default 1289 atoms, Au50Cu50 at its Vegard lattice constant) with a
random occupation, or (--occupation mc) the state after --sweeps sweeps of canonical MC at
--temperature with the shipped unrelaxed potential. The particle is relaxed with EMT (FIRE to
--fmax, default 0.001 eV/Å: a swap energy is a difference of two totals of ~1300 atoms) from its
lattice sites. For each of --swaps random Au↔Cu pairs the swapped particle is
relaxed with EMT from the relaxed geometry of the original (the same basin as a relaxation from the
sites, far fewer steps; --check-basin N also relaxes the first N from the sites and prints the
difference) and must still map back to its lattice. The reference swap energy is
E_relaxed(swapped) − E_relaxed(original); the potentials' are on-lattice energy differences.

Prints per swap the relaxed and unrelaxed EMT swap energies and those of the potentials given, then
per potential the RMSE and bias (mean of potential − relaxed EMT) in meV.

    python runs/AuCu-relaxed-lattice/validate_swaps.py AuCu-relaxed.h5 AuCu [--occupation mc] [--swaps 50]

--cache FILE.json keeps the EMT results (the particle's occupation, the pairs and their swap
energies) and reuses them when the settings match, so other potentials are compared in seconds.
"""
from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.emt import EMT
from ase.cluster import Octahedron
from ase.optimize import FIRE

import nanomc
from nanomc.training.reference import active_learning_set, vegard
from nanomc.training.relaxed import MAX_DISPLACEMENT, map_to_lattice

ELEMENTS = ["Au", "Cu"]


def relaxed(ideal: Atoms, start: np.ndarray, fmax: float) -> tuple[float, np.ndarray, int]:
    """(EMT energy (eV), positions (Å), steps) of `ideal`'s occupation relaxed from positions `start`;
    ValueError if the result does not map back to the sites of `ideal`."""
    atoms = ideal.copy()
    atoms.positions = start
    atoms.calc = EMT()
    optimizer = FIRE(atoms, logfile=None)
    if not optimizer.run(fmax=fmax, steps=3000):
        raise ValueError(f"EMT relaxation did not reach fmax {fmax} eV/Å in 3000 steps")
    reason = map_to_lattice(ideal, atoms, MAX_DISPLACEMENT).reason
    if reason is not None:
        raise ValueError(reason)
    return float(atoms.get_potential_energy()), atoms.positions.copy(), optimizer.nsteps


def emt_energy(atoms: Atoms) -> float:
    """Unrelaxed EMT energy (eV)."""
    atoms = atoms.copy()
    atoms.calc = EMT()
    return float(atoms.get_potential_energy())


def swapped(atoms: Atoms, i: int, j: int) -> Atoms:
    """A copy with the elements of sites i and j exchanged."""
    out = atoms.copy()
    out.numbers[[i, j]] = out.numbers[[j, i]]
    return out


def swap_reference(job: tuple) -> tuple[float, float, float | None, int]:
    """(relaxed EMT swap energy, unrelaxed EMT swap energy, the same from the sites or None (meV), steps)."""
    base, base_energy, base_positions, i, j, fmax, from_sites = job
    moved = swapped(base, i, j)
    energy, _, steps = relaxed(moved, base_positions, fmax)
    unrelaxed = emt_energy(moved) - emt_energy(base)
    check = None
    if from_sites:
        check = 1e3 * (relaxed(moved, moved.positions, fmax)[0] - base_energy)
    return 1e3 * (energy - base_energy), 1e3 * unrelaxed, check, steps


def particle(args: argparse.Namespace, rng: np.random.Generator) -> Atoms:
    """The test particle on its lattice sites: random occupation, or an MC state of the shipped potential."""
    x = args.cu
    if args.occupation == "mc":
        size = args.length  # active_learning_set builds Octahedron(size, (size - 1) // 3)
        atoms = active_learning_set(nanomc.Potential.load("AuCu"), ELEMENTS, 1, 1, seed=args.seed, size=size,
                                    temperatures=(args.temperature,), sweeps_between=args.sweeps)[0]
    else:
        atoms = Octahedron("Au", args.length, args.cutoff, latticeconstant=vegard(ELEMENTS, x))
        atoms.symbols[rng.permutation(len(atoms))[:int(round(x * len(atoms)))]] = "Cu"
    atoms.center(vacuum=6.0)
    return atoms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("potentials", nargs="+", help="potential files or shipped names to compare")
    parser.add_argument("--length", type=int, default=13, help="ase.cluster.Octahedron length (13 with cutoff 4: 1289 atoms)")
    parser.add_argument("--cutoff", type=int, default=4, help="ase.cluster.Octahedron cutoff")
    parser.add_argument("--cu", type=float, default=0.5, help="Cu fraction of the random occupation")
    parser.add_argument("--occupation", choices=("random", "mc"), default="random",
                        help="mc: a random-composition particle after canonical MC with the shipped potential "
                             "(Octahedron(length, (length - 1) // 3))")
    parser.add_argument("--temperature", type=float, default=600.0, help="K, for --occupation mc")
    parser.add_argument("--sweeps", type=int, default=20, help="MC sweeps, for --occupation mc")
    parser.add_argument("--swaps", type=int, default=50)
    parser.add_argument("--fmax", type=float, default=0.001,
                        help="eV/Å (at 0.01 a 1289-atom particle is still 60 meV above its minimum: too much for swap energies)")
    parser.add_argument("--check-basin", type=int, default=0, help="relax the first N swaps from the sites too")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", help="JSON file of the EMT results, written once and reused (see above)")
    args = parser.parse_args()
    potentials = {name: nanomc.Potential.load(name) for name in args.potentials}
    settings = {k: v for k, v in vars(args).items() if k not in ("potentials", "workers", "cache")}
    cached = json.loads(Path(args.cache).read_text()) if args.cache and Path(args.cache).exists() else None
    if cached is not None and cached["settings"] == settings:
        base = particle(args, np.random.default_rng(args.seed))
        base.numbers = np.array(cached["numbers"])
        pairs, references = [tuple(p) for p in cached["pairs"]], [tuple(r) for r in cached["references"]]
        print(cached["header"])
    else:
        rng = np.random.default_rng(args.seed)
        base = particle(args, rng)
        base_energy, base_positions, steps = relaxed(base, base.positions, args.fmax)
        au, cu = np.flatnonzero(base.numbers == 79), np.flatnonzero(base.numbers == 29)
        header = (f"{len(base)} atoms, Cu fraction {len(cu) / len(base):.3f}, {args.occupation} occupation; relaxed "
                  f"in {steps} steps, relaxation energy {1e3 * (emt_energy(base) - base_energy) / len(base):.2f} "
                  f"meV/atom")
        print(header, flush=True)
        pairs = [(int(rng.choice(au)), int(rng.choice(cu))) for _ in range(args.swaps)]
        jobs = [(base, base_energy, base_positions, i, j, args.fmax, k < args.check_basin)
                for k, (i, j) in enumerate(pairs)]
        with ProcessPoolExecutor(args.workers) as pool:
            references = list(pool.map(swap_reference, jobs))
        if args.cache:
            Path(args.cache).write_text(json.dumps({"settings": settings, "header": header,
                                                    "numbers": base.numbers.tolist(), "pairs": pairs,
                                                    "references": references}))
    names = list(potentials)
    print(f"{'pair':>11s} {'EMT relaxed':>11s} {'EMT lattice':>11s} " + " ".join(f"{n[-14:]:>14s}" for n in names)
          + "   (swap energies, meV)")
    predicted = {name: [] for name in names}
    for (i, j), (ref, lattice, check, steps) in zip(pairs, references):
        moved = swapped(base, i, j)
        for name, potential in potentials.items():
            predicted[name].append(1e3 * (potential.energy(moved) - potential.energy(base)))
        extra = "" if check is None else f"   from the sites: {check:.2f} ({check - ref:+.3f})"
        print(f"{i:5d}-{j:<5d} {ref:11.2f} {lattice:11.2f} " + " ".join(f"{predicted[n][-1]:14.2f}" for n in names)
              + extra, flush=True)
    ref = np.array([r[0] for r in references])
    lattice = np.array([r[1] for r in references])
    print(f"relaxed EMT swap energies: std {ref.std():.1f} meV; the unrelaxed (lattice) EMT ones differ by "
          f"RMS {np.sqrt(np.mean((lattice - ref) ** 2)):.1f} meV")
    for name in names:
        err = np.array(predicted[name]) - ref
        print(f"{name}: {len(err)} swaps, RMSE {np.sqrt(np.mean(err ** 2)):.1f} meV, bias {err.mean():+.1f} meV "
              f"(± {err.std(ddof=1) / np.sqrt(len(err)):.1f})")


if __name__ == "__main__":
    main()
