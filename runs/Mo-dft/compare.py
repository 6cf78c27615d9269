"""Held-out errors of the Mo potential trained here next to the mlearn authors' n2p2 potential.

    nanomc train runs/Mo-dft/train.toml && python runs/Mo-dft/compare.py

The held-out structures are those `nanomc train` set aside (the split of train.toml's
[data] seed and test_fraction). The n2p2 potential was trained by its authors on the whole
mlearn Mo training set, these structures included, so the comparison favours it.
"""
import argparse
from pathlib import Path

import numpy as np

from nanomc import Potential
from nanomc.campaign.schema import load_config
from nanomc.training.io import read_reference
from nanomc.training.trainer import TRAIN_SCHEMA, split

HERE = Path(__file__).parent
N2P2 = HERE.parent.parent / "tests" / "data" / "mlearn" / "Mo-nnp"
BOHR, HARTREE = 1 / 1.8897261328, 1 / 0.0367493254


def errors(potential: Potential, structures) -> tuple[float, float, float, float]:
    """Energy RMSE, MAE (meV/atom) and force-component RMSE, MAE (meV/Å) on `structures`."""
    de, df = [], []
    for atoms in structures:
        result = potential.energy_forces(atoms)
        de.append((result.energies.sum() - atoms.info["energy"]) / len(atoms))
        df.append((result.forces - atoms.arrays["forces"]).ravel())
    de, df = 1000 * np.array(de), 1000 * np.concatenate(df)
    return (float(np.sqrt(np.mean(de**2))), float(np.mean(np.abs(de))), float(np.sqrt(np.mean(df**2))),
            float(np.mean(np.abs(df))))


def compare(training_file: Path) -> tuple[int, int, dict[str, tuple[float, float, float, float]]]:
    """(held-out structures, their atoms, {potential name: errors()}) for the potential that
    `training_file` wrote and the authors' n2p2 potential, on that file's held-out structures."""
    config, _ = load_config(training_file, TRAIN_SCHEMA)
    base = training_file.parent
    data = config["data"]
    structures = read_reference([base / f for f in data["files"]], data["energy_key"], forces_key=data["forces_key"])
    _, test_idx = split(len(structures), data["test_fraction"], data["seed"])
    held_out = [structures[i] for i in test_idx]
    trained = config["output"]["potential"]
    potentials = {f"nanomc ({trained})": Potential.load(base / trained),
                  "n2p2 (mlearn Mo-nnp)": Potential.from_n2p2(N2P2, length_unit=BOHR, energy_unit=HARTREE)}
    return len(held_out), sum(map(len, held_out)), {name: errors(p, held_out) for name, p in potentials.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("training_file", nargs="?", type=Path, default=HERE / "train.toml")
    args = parser.parse_args()
    n_structures, n_atoms, table = compare(args.training_file)
    print(f"{n_structures} held-out structures, {n_atoms} atoms")
    print(f"{'potential':28s} {'E RMSE':>8s} {'E MAE':>8s} {'F RMSE':>8s} {'F MAE':>8s}   (meV/atom, meV/Å)")
    for name, values in table.items():
        print(f"{name:28s} " + " ".join(f"{v:8.1f}" if k > 1 else f"{v:8.2f}" for k, v in enumerate(values)))


if __name__ == "__main__":
    main()
