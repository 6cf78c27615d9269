"""The campaign's states in the teacher's energy: does MC with the potential find states the teacher finds low too?

    python runs/CeO2-Cu/teacher_check.py [--potential CeCuO] [--labels runs/CeO2-Cu/states-7net-0.extxyz.gz]

`states-7net-0.extxyz.gz` holds the random start of the campaign (state `initial`), the final states of
its eight replicas after 4000 sweeps with the shipped potential (`final4000_T<k>`, k from the lowest
temperature), those of the run with the stage-3 Chebyshev potential shipped until 2026-11-30
(`cheb3_final4000_T<k>`) and those of the earlier run with the Behler potential shipped before it,
after 1000 and after 4000 sweeps (`behler_final1000_T<k>`, `behler_final4000_T<k>`), vacancies left
out, labelled by SevenNet-0 (`nanomc label ... -c sevennet`).
Per state: the teacher's and the potential's energy change from the random start (eV) and the
potential's offset from the teacher (meV/atom).
"""
import argparse
from pathlib import Path

import ase.io

import nanomc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--potential", default="CeCuO", help="potential file or shipped name")
    parser.add_argument("--labels", default=str(Path(__file__).with_name("states-7net-0.extxyz.gz")))
    args = parser.parse_args()
    potential = nanomc.Potential.load(args.potential)
    frames = ase.io.read(args.labels, ":")
    teacher = {a.info["state"]: a.get_potential_energy() for a in frames}
    ours = {a.info["state"]: potential.energy(a) for a in frames}
    size = {a.info["state"]: len(a) for a in frames}
    print("| state | teacher ΔE from start (eV) | potential ΔE from start (eV) | potential − teacher (meV/atom) |")
    print("|---|---:|---:|---:|")
    for state in teacher:
        print(f"| {state} | {teacher[state] - teacher['initial']:.2f} | {ours[state] - ours['initial']:.2f} | "
              f"{1000 * (ours[state] - teacher[state]) / size[state]:.2f} |")


if __name__ == "__main__":
    main()
