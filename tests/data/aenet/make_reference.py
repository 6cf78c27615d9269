"""Make the aenet reference data of tests/test_aenet.py (needs aenet's executables; see README.md).

    python tests/data/aenet/make_reference.py --aenet-bin DIR [--predict-hp PATH] [--converter PATH] [--work DIR]

1. Au–Cu structures with energies and forces from ASE's EMT: 60 training structures (clusters
   and periodic cells) and 10 test structures, written as aenet XSF files.
2. For each basis ("behler", "chebyshev"): fingerprint setups, generate.x, train.x (a few BFGS
   epochs: the point is the file format, not accuracy) → Au.<basis>.nn, Cu.<basis>.nn.
3. predict.x (with FORCES) on the test structures; its total and cohesive energies (eV) and
   forces (eV/Å) go to reference.json. `--predict-hp` names a predict.x built with wider
   output formats (ES24.16 instead of F20.8 / F12.6, see README.md) whose values are stored;
   the stock predict.x values are checked against them to their printed precision.
4. `--converter` names a binary→ASCII converter (README.md): the ASCII form of each .nn.

Everything lands in this script's directory; intermediate files in --work.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.cluster import Icosahedron, Octahedron

from nanomc.training.io import read_xsf, write_xsf

HERE = Path(__file__).resolve().parent
TYPES = ("Au", "Cu")
#: reference energies given to generate.x (eV); arbitrary, so that E_atom is not 0 in the files
E_ATOM = {"Au": -0.125, "Cu": -0.25}

BEHLER_FUNCTIONS = (
    [f"G=1 type2={t} Rc=4.0" for t in TYPES]
    + [f"G=2 type2={t} eta={eta} Rs={rs} Rc=6.0" for t in TYPES for eta, rs in ((0.5, 0.0), (1.0, 2.5), (0.8, 3.2))]
    + [f"G=4 type2={a} type3={b} eta=0.01 lambda={lam} zeta={zeta} Rc=5.5"
       for a, b in (("Au", "Au"), ("Au", "Cu"), ("Cu", "Cu")) for lam, zeta in ((1.0, 1.0), (-1.0, 2.0))]
    + [f"G=5 type2={a} type3={b} eta=0.02 lambda=1.0 zeta=4.0 Rc=4.5" for a, b in (("Cu", "Au"), ("Cu", "Cu"))]
)
CHEBYSHEV_BASIS = "radial_Rc = 6.0  radial_N = 6  angular_Rc = 4.5  angular_N = 3"
#: hidden layers per element and basis: (width, aenet activation) — several activation kinds
NETWORKS = {
    "behler": {"Au": ((5, "tanh"), (5, "tanh")), "Cu": ((5, "twist"), (4, "sigmoid"))},
    "chebyshev": {"Au": ((5, "tanh"), (5, "tanh")), "Cu": ((5, "mtanh"), (5, "linear"))},
}


def emt(atoms: Atoms) -> Atoms:
    """atoms with EMT energy (info) and forces (arrays)."""
    atoms.calc = EMT()
    e, f = atoms.get_potential_energy(), atoms.get_forces()
    out = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    out.info["energy"], out.arrays["forces"] = float(e), f
    return out


def decorate(atoms: Atoms, rng: np.random.Generator, rattle: float) -> Atoms:
    """Random Au/Cu occupation and Gaussian displacements (Å)."""
    atoms = atoms.copy()
    atoms.symbols = rng.choice(TYPES, size=len(atoms))
    atoms.positions += rng.normal(0.0, rattle, atoms.positions.shape)
    return atoms


def structures(seed: int, n: int) -> list[Atoms]:
    """n EMT-labelled Au–Cu structures: clusters and periodic cells of several sizes."""
    rng = np.random.default_rng(seed)
    makers = [
        lambda: Icosahedron("Cu", 2, latticeconstant=3.85),                    # 13-atom cluster
        lambda: Octahedron("Cu", 4, cutoff=1, latticeconstant=3.85),           # 38-atom cluster
        lambda: bulk("Cu", "fcc", a=rng.uniform(3.7, 4.0), cubic=True).repeat(2),   # 32 atoms
        lambda: bulk("Cu", "fcc", a=rng.uniform(3.7, 4.0), cubic=True),              # 4 atoms: images
        lambda: bulk("Cu", "fcc", a=rng.uniform(3.7, 4.0)).repeat((2, 2, 3)),        # 12, non-orthogonal
    ]
    out = []
    for k in range(n):
        atoms = makers[k % len(makers)]()
        if not atoms.pbc.any():
            atoms.center()
        out.append(emt(decorate(atoms, rng, 0.08)))
    return out


def setup_file(path: Path, element: str, basis: str) -> None:
    """An aenet fingerprint setup (.stp) for `element`."""
    lines = ["DESCR", f"  {basis} setup for {element} in Au-Cu, made for nanomc's tests", "END DESCR", "",
             f"ATOM {element}", "", f"ENV {len(TYPES)}", *TYPES, "", "RMIN 1.5d0", ""]
    if basis == "chebyshev":
        lines += ["BASIS type=Chebyshev", CHEBYSHEV_BASIS]
    else:
        lines += ["FUNCTIONS type=Behler2011", str(len(BEHLER_FUNCTIONS)), *BEHLER_FUNCTIONS]
    path.write_text("\n".join(lines) + "\n")


def run(exe: Path, inp: str, cwd: Path, log: str) -> str:
    """Run an aenet executable on input file `inp` in `cwd`; stdout also saved to `log`."""
    res = subprocess.run([str(exe), inp], cwd=cwd, capture_output=True, text=True)
    (cwd / log).write_text(res.stdout + res.stderr)
    if res.returncode != 0:
        raise SystemExit(f"{exe.name} failed in {cwd}, see {cwd / log}")
    return res.stdout


def predictions(out: str, names: list[str], n_atoms: list[int]) -> list[dict]:
    """Total/cohesive energies (eV) and forces (eV/Å) per structure from predict.x output."""
    energies = [(float(c), float(t)) for c, t in re.findall(
        r"Cohesive energy\s*:\s*(\S+) eV\s*\n\s*Total energy\s*:\s*(\S+) eV", out)]
    blocks = out.split("Cartesian atomic coordinates (input) and corresponding atomic forces:")[1:]
    if len(energies) != len(names) or len(blocks) != len(names):
        raise SystemExit(f"predict.x output has {len(energies)} energies, {len(blocks)} force blocks")
    result = []
    for name, n, (ecoh, etot), block in zip(names, n_atoms, energies, blocks):
        rows = [line.split() for line in block.splitlines() if re.match(r"^\s*(Au|Cu)\s", line)][:n]
        forces = [[float(x) for x in row[4:7]] for row in rows]
        result.append({"file": name, "n_atoms": n, "total_energy": etot, "cohesive_energy": ecoh, "forces": forces})
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--aenet-bin", type=Path, required=True, help="directory with generate.x-*, train.x-*, predict.x-*")
    ap.add_argument("--predict-hp", type=Path, help="predict.x built with ES24.16 output formats")
    ap.add_argument("--converter", type=Path, help="binary -> ASCII .nn converter (--to-ascii IN OUT)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/nanomc-aenet-work"))
    args = ap.parse_args()
    exe = {name: next(args.aenet_bin.glob(f"{name}.x-*")) for name in ("generate", "train", "predict")}
    work = args.work
    shutil.rmtree(work, ignore_errors=True)
    (work / "train-xsf").mkdir(parents=True)
    train = structures(1, 60)
    for k, atoms in enumerate(train):
        write_xsf(work / "train-xsf" / f"train{k:03d}.xsf", atoms)
    test_dir = HERE / "structures"
    shutil.rmtree(test_dir, ignore_errors=True)
    test_dir.mkdir()
    names = []
    for k, atoms in enumerate(structures(2, 10)):
        names.append(f"test{k:02d}.xsf")
        write_xsf(test_dir / names[-1], atoms)
    # what aenet and nanomc both read: the coordinates as written
    n_atoms = [len(read_xsf(test_dir / name)) for name in names]
    reference = {"aenet_commit": "5362e65", "structures": names, "potentials": {}}
    for basis in ("behler", "chebyshev"):
        d = work / basis
        d.mkdir()
        for t in TYPES:
            setup_file(d / f"{t}.stp", t, basis)
        xsfs = sorted((work / "train-xsf").glob("*.xsf"))
        (d / "generate.in").write_text("\n".join(
            ["OUTPUT AuCu.train", "TYPES", str(len(TYPES)), *(f"{t} {E_ATOM[t]}" for t in TYPES), "SETUPS",
             *(f"{t} {t}.stp" for t in TYPES), "FILES", str(len(xsfs)), *map(str, xsfs)]) + "\n")
        run(exe["generate"], "generate.in", d, "generate.out")
        nets = [f"{t} {t}.{basis}.nn {len(NETWORKS[basis][t])} "
                + " ".join(f"{w}:{a}" for w, a in NETWORKS[basis][t]) for t in TYPES]
        (d / "train.in").write_text("\n".join(
            ["TRAININGSET AuCu.train", "TESTPERCENT 10", "ITERATIONS 20", "METHOD", "bfgs", "NETWORKS", *nets]) + "\n")
        run(exe["train"], "train.in", d, "train.out")
        (d / "predict.in").write_text("\n".join(
            ["TYPES", str(len(TYPES)), *TYPES, "NETWORKS", *(f"{t} {t}.{basis}.nn" for t in TYPES), "FORCES",
             "FILES", str(len(names)), *(str(test_dir / n) for n in names)]) + "\n")
        stock = predictions(run(exe["predict"], "predict.in", d, "predict.out"), names, n_atoms)
        values = stock
        if args.predict_hp:
            values = predictions(run(args.predict_hp, "predict.in", d, "predict-hp.out"), names, n_atoms)
            for s, h in zip(stock, values):
                assert abs(s["total_energy"] - h["total_energy"]) <= 0.6e-8, (s["file"], s, h)
                assert np.allclose(s["forces"], h["forces"], rtol=0, atol=0.6e-6), s["file"]
        for t in TYPES:
            shutil.copy(d / f"{t}.{basis}.nn", HERE / f"{t}.{basis}.nn")
            if args.converter:
                subprocess.run([str(args.converter), "--to-ascii", str(d / f"{t}.{basis}.nn"),
                                str(HERE / f"{t}.{basis}.nn.ascii")], check=True)
        reference["potentials"][basis] = {"files": {t: f"{t}.{basis}.nn" for t in TYPES},
                                          "full_precision": bool(args.predict_hp), "predictions": values}
    (HERE / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")


if __name__ == "__main__":
    main()
