"""E(V) of rutile, anatase and brookite: the teacher (SevenNet-0) against the nanomc potential.

    python runs/TiO2-potential/ev.py structures                      # writes ev-structures.extxyz
    nanomc label runs/TiO2-potential/ev-structures.extxyz -c sevennet -o runs/TiO2-potential/ev-7net-0.extxyz
    python runs/TiO2-potential/ev.py plot --labels runs/TiO2-potential/ev-7net-0.extxyz   # also writes ev-7net-0.csv
    python runs/TiO2-potential/ev.py plot                            # redraw from the committed ev-7net-0.csv

Each polymorph's experimental conventional cell (structures.POLYMORPHS), fractional coordinates
fixed, scaled isotropically by the lattice-constant factors SCALES (volume −16% … +19%). The
teacher's energies are stored in ev-7net-0.csv (polymorph, scale, volume and energy per atom),
so the plot EV.png (energy per atom vs volume per atom, teacher as points, nanomc as lines) and
the table of minima need no torch.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from ase.io import read, write

import nanomc

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from structures import POLYMORPHS, polymorph  # noqa: E402

SCALES = np.round(np.linspace(0.94, 1.06, 13), 3)  # lattice-constant factors
COLUMNS = ["polymorph", "scale", "volume_A3_per_atom", "energy_eV_per_atom"]


def ev_structures() -> list:
    """The scaled cells of every polymorph, with info polymorph and scale."""
    out = []
    for name in POLYMORPHS:
        for scale in SCALES:
            atoms = polymorph(name)
            atoms.set_cell(atoms.cell * scale, scale_atoms=True)
            atoms.info.update(polymorph=name, scale=float(scale))
            out.append(atoms)
    return out


def teacher_table(labels: Path, table: Path) -> None:
    """Write the teacher's E(V) (csv, COLUMNS) from the labelled ev structures."""
    with open(table, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for atoms in read(labels, ":"):
            n = len(atoms)
            writer.writerow([atoms.info["polymorph"], f"{atoms.info['scale']:.3f}", f"{atoms.get_volume() / n:.5f}",
                             f"{atoms.get_potential_energy() / n:.6f}"])


def read_table(table: Path) -> dict[str, dict[str, np.ndarray]]:
    """{polymorph: {"scale", "volume", "teacher"}} from the csv (Å³/atom, eV/atom)."""
    rows: dict[str, list] = {}
    with open(table) as f:
        for row in csv.DictReader(f):
            rows.setdefault(row["polymorph"], []).append(
                [float(row["scale"]), float(row["volume_A3_per_atom"]), float(row["energy_eV_per_atom"])])
    return {name: dict(zip(("scale", "volume", "teacher"), np.array(r).T)) for name, r in rows.items()}


def minimum(volume: np.ndarray, energy: np.ndarray) -> tuple[float, float]:
    """(V0, E0) of a cubic polynomial fitted to E(V) near its lowest point (Å³/atom, eV/atom)."""
    k = int(np.argmin(energy))
    window = slice(max(0, k - 3), min(len(energy), k + 4))
    poly = np.polynomial.Polynomial.fit(volume[window], energy[window], 3)
    v = np.linspace(volume[window][0], volume[window][-1], 2001)
    e = poly(v)
    return float(v[np.argmin(e)]), float(e.min())


def plot(table: Path, potential: nanomc.Potential, png: Path) -> None:
    """EV.png and a printed table: teacher vs nanomc E(V) of the three polymorphs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = read_table(table)
    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
    print(f"{'polymorph':9s} {'V0 teacher':>11s} {'V0 nanomc':>10s} {'E0 teacher':>11s} {'E0 nanomc':>10s} "
          f"{'RMSE':>6s}   (Å³/atom, eV/atom, meV/atom)")
    for (name, d), colour in zip(data.items(), ("C0", "C1", "C2")):
        cells = [polymorph(name) for _ in d["scale"]]
        for atoms, scale in zip(cells, d["scale"]):
            atoms.set_cell(atoms.cell * scale, scale_atoms=True)
        ours = np.array([potential.energy(a) / len(a) for a in cells])
        ax.plot(d["volume"], d["teacher"], "o", color=colour, label=f"{name}, SevenNet-0")
        ax.plot(d["volume"], ours, "-", color=colour, label=f"{name}, nanomc")
        (v_t, e_t), (v_n, e_n) = minimum(d["volume"], d["teacher"]), minimum(d["volume"], ours)
        rmse = 1000 * np.sqrt(np.mean((ours - d["teacher"]) ** 2))
        print(f"{name:9s} {v_t:11.3f} {v_n:10.3f} {e_t:11.4f} {e_n:10.4f} {rmse:6.1f}")
    ax.set_xlabel("volume per atom (Å³)")
    ax.set_ylabel("energy per atom (eV)")
    ax.set_title("TiO2 polymorphs: teacher (points) and nanomc (lines)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png)
    print(f"wrote {png}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["structures", "plot"])
    parser.add_argument("--labels", help="plot: the teacher's labels of ev-structures.extxyz; rewrites --table")
    parser.add_argument("--table", default=str(HERE / "ev-7net-0.csv"))
    parser.add_argument("--potential", default=str(HERE / "TiO2.h5"))
    parser.add_argument("-o", "--output", help="structures: ev-structures.extxyz; plot: EV.png (default here)")
    args = parser.parse_args()
    if args.step == "structures":
        path = args.output or str(HERE / "ev-structures.extxyz")
        write(path, ev_structures(), format="extxyz")
        print(f"wrote {len(SCALES) * len(POLYMORPHS)} structures to {path}")
        return
    if args.labels:
        teacher_table(Path(args.labels), Path(args.table))
    plot(Path(args.table), nanomc.Potential.load(args.potential), Path(args.output or HERE / "EV.png"))


if __name__ == "__main__":
    main()
