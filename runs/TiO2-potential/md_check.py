"""NVT MD of 162-atom anatase at 500 K with the nanomc potential, every 100th frame against the teacher.

    python runs/TiO2-potential/md_check.py run              # MD with nanomc.Calculator: md-frames.extxyz (~10 min)
    nanomc label runs/TiO2-potential/md-frames.extxyz -c sevennet -o runs/TiO2-potential/md-frames-7net-0.extxyz
    python runs/TiO2-potential/md_check.py compare          # per-frame and RMS errors; writes md-check.csv

Anatase, 3×3×3 primitive cells of the experimental structure (162 atoms), Langevin NVT at 500 K
(ASE, 1 fs steps, friction 0.01/fs, Maxwell–Boltzmann start), `--steps` steps; every
`--every`-th frame is written with the nanomc energy (info["nanomc_energy"], eV) and forces
(arrays["nanomc_forces"], eV/Å). `compare` reads the teacher's labels of those frames and
prints per frame the energy error (nanomc − teacher, meV/atom) and the force RMSE (meV/Å), then
their RMS over the frames; md-check.csv keeps the numbers.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
from ase import Atoms, units
from ase.io import read, write
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

import nanomc
from nanomc.training.labelfile import structure_hash

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from structures import polymorph  # noqa: E402


def run(potential: nanomc.Potential, steps: int, every: int, temperature: float, seed: int) -> list[Atoms]:
    """Frames every `every` steps (from step `every` on) of Langevin NVT of 162-atom anatase at
    temperature (K), with the nanomc energy (eV) and forces (eV/Å) attached."""
    atoms = polymorph("anatase", primitive=True) * (3, 3, 3)
    atoms.calc = nanomc.Calculator(potential)
    rng = np.random.default_rng(seed)
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=rng)
    dyn = Langevin(atoms, 1 * units.fs, temperature_K=temperature, friction=0.01 / units.fs, rng=rng)
    frames = []
    t0 = time.monotonic()
    for k in range(steps // every):
        dyn.run(every)
        frame = Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=True)
        frame.info.update(step=(k + 1) * every, nanomc_energy=atoms.get_potential_energy(),
                          temperature_K=atoms.get_temperature())
        frame.arrays["nanomc_forces"] = atoms.get_forces()
        frames.append(frame)
        print(f"step {(k + 1) * every:5d}  T {atoms.get_temperature():6.1f} K  E {frame.info['nanomc_energy']:.4f} eV  "
              f"({time.monotonic() - t0:.0f} s)", flush=True)
    return frames


def compare(frames: Path, labels: Path, table: Path) -> None:
    """Print and write (csv) per-frame energy errors (meV/atom) and force RMSE (meV/Å) of the MD
    frames against the teacher's labels of them (matched by structure hash)."""
    teacher = {a.info["structure_hash"]: a for a in read(labels, ":")}
    rows = []
    for atoms in read(frames, ":"):
        label = teacher[structure_hash(atoms)]
        n = len(atoms)
        error = 1000 * (atoms.info["nanomc_energy"] - label.get_potential_energy()) / n
        force = 1000 * np.sqrt(np.mean((atoms.arrays["nanomc_forces"] - label.get_forces()) ** 2))
        rows.append((int(atoms.info["step"]), atoms.info["temperature_K"], label.get_potential_energy() / n,
                     atoms.info["nanomc_energy"] / n, error, force))
    print(f"{'step':>6s} {'T (K)':>7s} {'E teacher':>10s} {'E nanomc':>10s} {'error':>7s} {'F RMSE':>7s}"
          "   (eV/atom, meV/atom, meV/Å)")
    for step, temperature, e_t, e_n, error, force in rows:
        print(f"{step:6d} {temperature:7.1f} {e_t:10.4f} {e_n:10.4f} {error:7.2f} {force:7.0f}")
    errors = np.array([r[4] for r in rows])
    forces = np.array([r[5] for r in rows])
    print(f"{len(rows)} frames: energy RMS error {np.sqrt(np.mean(errors**2)):.2f} meV/atom (mean {errors.mean():+.2f}, "
          f"largest |error| {np.abs(errors).max():.2f}); force RMSE {np.sqrt(np.mean(forces**2)):.0f} meV/Å")
    with open(table, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["step", "temperature_K", "teacher_eV_per_atom", "nanomc_eV_per_atom", "error_meV_per_atom",
                         "force_rmse_meV_per_A"])
        writer.writerows([[s, f"{t:.1f}", f"{a:.6f}", f"{b:.6f}", f"{e:.3f}", f"{fr:.1f}"]
                          for s, t, a, b, e, fr in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["run", "compare"])
    parser.add_argument("--potential", default=str(HERE / "TiO2.h5"))
    parser.add_argument("--steps", type=int, default=2000, help="MD steps of 1 fs")
    parser.add_argument("--every", type=int, default=100, help="keep every this many steps")
    parser.add_argument("--temperature", type=float, default=500.0, help="K")
    parser.add_argument("--seed", type=int, default=500)
    parser.add_argument("--frames", default=str(HERE / "md-frames.extxyz"), help="run: output; compare: nanomc frames")
    parser.add_argument("--labels", default=str(HERE / "md-frames-7net-0.extxyz"), help="compare: teacher labels")
    parser.add_argument("--table", default=str(HERE / "md-check.csv"), help="compare: output")
    args = parser.parse_args()
    if args.step == "run":
        frames = run(nanomc.Potential.load(args.potential), args.steps, args.every, args.temperature, args.seed)
        write(args.frames, frames, format="extxyz")
        print(f"wrote {len(frames)} frames to {args.frames}")
    else:
        compare(Path(args.frames), Path(args.labels), Path(args.table))


if __name__ == "__main__":
    main()
