"""Active learning for TiO2 (issue 14 §3, second round): snapshots of short MD with the first potential.

    python runs/TiO2-potential/active.py                       # writes active.extxyz here (~10 min)
    nanomc label runs/TiO2-potential/active.extxyz -c sevennet -o runs/TiO2-potential/labels-7net-0-active.extxyz

Langevin NVT molecular dynamics (ASE, 1 fs steps) with the round-1 potential (TiO2-initial.h5,
through nanomc.Calculator) of each polymorph at each temperature of TEMPERATURES, in a
supercell of the experimental cell scaled isotropically by ±2% (random per run). After
`--equilibrate` steps every `--every`-th frame is kept: `--snapshots` per run, tagged
info["config_type"] = "md_<polymorph>_<T>K". The first potential's energy per atom is kept in
info["nanomc_energy"] (eV), so the labelled file shows where it was wrong.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.io import write
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

import nanomc

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from structures import POLYMORPHS, polymorph  # noqa: E402

TEMPERATURES = (300, 600, 1000)  # K
#: supercells for the MD (72, 96 and 96 atoms)
MD_REPEATS = {"rutile": (2, 2, 3), "anatase": (2, 2, 2), "brookite": (1, 2, 2)}


def md_snapshots(atoms: Atoms, potential: nanomc.Potential, temperature: float, equilibrate: int, every: int,
                 snapshots: int, rng: np.random.Generator) -> list[Atoms]:
    """Langevin NVT at temperature (K), 1 fs steps, friction 0.02/fs: `snapshots` frames `every`
    steps apart after `equilibrate` steps, each with its nanomc energy (eV) in info."""
    atoms = atoms.copy()
    atoms.calc = nanomc.Calculator(potential)
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=rng)
    dyn = Langevin(atoms, 1 * units.fs, temperature_K=temperature, friction=0.02 / units.fs,
                   rng=np.random.default_rng(rng.integers(1 << 30)))
    dyn.run(equilibrate)
    out = []
    for _ in range(snapshots):
        dyn.run(every)
        frame = Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=True)
        frame.info["nanomc_energy"] = atoms.get_potential_energy()
        out.append(frame)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--potential", default=str(HERE / "TiO2-initial.h5"))
    parser.add_argument("--equilibrate", type=int, default=100, help="steps before the first snapshot")
    parser.add_argument("--every", type=int, default=60, help="steps between snapshots")
    parser.add_argument("--snapshots", type=int, default=10, help="snapshots per polymorph and temperature")
    parser.add_argument("--temperatures", type=float, nargs="+", default=TEMPERATURES, help="K")
    parser.add_argument("--seed", type=int, default=1403)
    parser.add_argument("-o", "--output", default=str(HERE / "active.extxyz"))
    args = parser.parse_args()
    if min(args.temperatures) <= 0:
        parser.error(f"--temperatures must be positive (K), got {min(args.temperatures):g}")
    potential = nanomc.Potential.load(args.potential)
    rng = np.random.default_rng(args.seed)
    frames = []
    for name in POLYMORPHS:
        for temperature in args.temperatures:
            cell = polymorph(name) * MD_REPEATS[name]
            cell.set_cell(cell.cell * rng.uniform(0.98, 1.02), scale_atoms=True)
            run = md_snapshots(cell, potential, temperature, args.equilibrate, args.every, args.snapshots, rng)
            for frame in run:
                frame.info["config_type"] = f"md_{name}_{temperature:g}K"
            frames += run
            print(f"{name:9s} {temperature:5g} K: {len(run)} snapshots, nanomc E/atom "
                  f"{run[0].info['nanomc_energy'] / len(cell):.4f} … {run[-1].info['nanomc_energy'] / len(cell):.4f} eV",
                  flush=True)
    write(args.output, frames, format="extxyz")
    print(f"wrote {len(frames)} structures, {sum(map(len, frames))} atoms, to {args.output}")


if __name__ == "__main__":
    main()
