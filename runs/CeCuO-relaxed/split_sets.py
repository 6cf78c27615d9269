"""Split labelled move sets into training and held-out files by whole move set (issue 36 §3).

    python runs/CeCuO-relaxed/split_sets.py LABELS.extxyz --every 3 -o TRAIN.extxyz HELDOUT.extxyz

Every `every`-th move set (sorted by name; `swap_set` or `move_set`) goes to HELDOUT with its base and all
its moves, the rest to TRAIN, so that no held-out move shares a base with a training structure.
"""
from __future__ import annotations

import argparse

from ase.io import write

from move_pairs import set_name
from nanomc.training.labelfile import read_labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("labels")
    parser.add_argument("--every", type=int, default=3, help="hold out every N-th move set (default 3)")
    parser.add_argument("-o", "--output", nargs=2, required=True, metavar=("TRAIN", "HELDOUT"))
    args = parser.parse_args()
    labels = read_labels(args.labels)
    names = sorted({set_name(a) for a in labels})
    held_out = set(names[args.every - 1::args.every])
    train = [a for a in labels if set_name(a) not in held_out]
    write(args.output[0], train, format="extxyz")
    write(args.output[1], [a for a in labels if set_name(a) in held_out], format="extxyz")
    print(f"{len(names) - len(held_out)} move sets ({len(train)} structures) to {args.output[0]}, "
          f"{len(held_out)} ({len(labels) - len(train)}) to {args.output[1]}")


if __name__ == "__main__":
    main()
