"""What the lattice mapping leaves out of relaxed-lattice labels (issue 36 §2), per kind of structure.

    python threshold_table.py relaxed-pool-1.extxyz relaxed-labels-1-7net-0.extxyz

For every structure of the pool that `nanomc label --relax` has done: labelled (maps back: every atom
nearest its own site, vacant sites included, and no displacement above --max-displacement), or left
out because atoms changed sites ("hop") or moved too far ("displacement"), from the labels file and its
`.unmapped` side file; for labels, the largest displacement (Å) and how many reached the teacher's
fmax within the point budget.
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict

import numpy as np

from nanomc.particles import read_frames
from nanomc.structure import without_vacancies
from nanomc.training.labelfile import read_labels, structure_hash


def main(pool: str, labels: str) -> None:
    kind = {structure_hash(without_vacancies(a)): a.info.get("config_type", "") for a in read_frames(pool)}
    rows = defaultdict(lambda: {"labelled": 0, "hop": 0, "displacement": 0, "converged": 0, "moved": []})
    for label in read_labels(labels):
        row = rows[kind[str(label.info["structure_hash"])]]
        row["labelled"] += 1
        row["converged"] += bool(label.info["relax_converged"])
        row["moved"].append(float(label.info["relax_max_displacement"]))
    for line in open(f"{labels}.unmapped"):
        entry = json.loads(line)
        rows[kind[entry["structure_hash"]]]["hop" if "nearer another site" in entry["reason"] else "displacement"] += 1
    print(f"{'kind':10s} {'done':>5s} {'labelled':>8s} {'hop':>4s} {'too far':>7s} {'converged':>9s} "
          f"{'largest displacement of labels (Å): median / max':>50s}")
    for name in sorted(rows):
        r = rows[name]
        done = r["labelled"] + r["hop"] + r["displacement"]
        moved = f"{np.median(r['moved']):.2f} / {max(r['moved']):.2f}" if r["moved"] else "–"
        print(f"{name:10s} {done:5d} {r['labelled']:8d} {r['hop']:4d} {r['displacement']:7d} {r['converged']:9d} "
              f"{moved:>50s}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
