"""Widen the hidden layers of a potential file without changing its energies (Network.widened).

    python widen.py AuCu-pairs.h5 AuCu-pairs-wide-start.h5 20 20

The new file computes exactly the energies of the old one; `[network] initial` in a training
file with the wider `hidden` then trains the larger network from there (train-pairs-wide.toml).
"""
import argparse

import numpy as np

from nanomc import Potential


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("potential", help="potential file (or shipped name) to widen")
    parser.add_argument("output", help="the widened potential file")
    parser.add_argument("hidden", type=int, nargs="+", help="new hidden-layer widths")
    parser.add_argument("--seed", type=int, default=0, help="seed of the new units' weights")
    args = parser.parse_args()
    old = Potential.load(args.potential)
    if old.members:
        parser.error(f"{args.potential} is a committee; widen a single network")
    rng = np.random.default_rng(args.seed)
    wide = old.with_networks({e: old.networks[e].widened(args.hidden, rng) for e in old.elements},
                             {**old.provenance, "widened_from": str(args.potential)})
    wide.save(args.output)
    print(f"wrote {args.output}: hidden layers {old.networks[old.elements[0]].sizes[1:-1]} -> {args.hidden}")


if __name__ == "__main__":
    main()
