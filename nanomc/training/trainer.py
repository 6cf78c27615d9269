"""Train a potential from a TOML training file: read → featurise → split → scale/E0 → optimise.

The loss is the mean squared per-atom energy error plus, with `force_weight` > 0, the weighted
mean squared force component error (nanomc.training.model); all element networks are optimised
together. Train/test RMSE and MAE (meV/atom, and meV/Å for forces) are printed as a table and
logged per epoch; the parameters with the lowest loss on the validation set (`validation_fraction`
of the training structures and the structures of `validation_files`; without one, the test set)
are kept, and training stops after `patience` epochs without improvement. Structures of
`train_files` are always trained on. The potential file records the training-set hash and errors.
"""
from __future__ import annotations

import csv
import datetime
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import numpy as np
from ase.data import atomic_numbers

from ..campaign.schema import REQUIRED, SEED_MAX, ConfigError, Param, load_config, locate
from ..errors import NanomcError
from ..outputs import OutputError, check_output_file
from ..potential import Potential, chebyshev_descriptor_set, default_descriptor_set
from ..potential.network import Network
from .features import FeatureSet, dataset_hash, featurize, fit_e0, fit_scaling, load_features, save_features
from .io import read_reference
from .model import TRAINABLE_ACTIVATIONS, Batch, NetworkStack
from .optimizers import OPTIMIZERS
from .pairs import PairSet, PairTerm, featurize_pairs, read_pairs
from .relaxed import KIND_KEY, RELAXED

TRAIN_SCHEMA: dict[str, dict[str, Param]] = {
    "data": {
        "files": Param("strings", REQUIRED, "reference structure files (extxyz, aenet XSF, ASE .db, ...), "
                       "relative to the training file"),
        "energy_key": Param("str", "energy", "info key of the reference energy in eV; the default `energy` also "
                            "takes calculator results, another key must be present in every structure"),
        "forces_key": Param("str", None, "per-atom array key of the reference forces in eV/Å (default: `forces` "
                            "or calculator results; with another `energy_key`, `<energy_key>_forces`)"),
        "force_atoms": Param("int", 0, "atoms per structure whose forces enter the loss, chosen at random "
                             "(0 = all); each costs (neighbours + 1) × 3 × descriptors doubles of memory"),
        "test_fraction": Param("float", 0.1, "fraction of structures held out for testing"),
        "validation_fraction": Param("float", 0.0, "fraction of the training structures (and pairs) set aside to "
                                     "choose the best epoch and stop early; 0: the test set does that (then the "
                                     "test errors are slightly optimistic)"),
        "train_files": Param("strings", [], "reference files whose structures are always trained on, never held "
                             "out for testing (e.g. later additions, so that the test set stays the same); "
                             "relative to the training file"),
        "validation_files": Param("strings", [], "reference files whose structures join the validation set (never "
                                  "trained on or tested; e.g. new data when a trained potential is trained on, "
                                  "whose own training structures would favour its first epoch)"),
        "min_distance": Param("float", 0.0, "leave out structures with two atoms closer than this (Å; periodic "
                              "images count), e.g. the last frames of relaxation paths that collapsed; 0: keep all"),
        "seed": Param("int", 0, "seed of the train/test and train/validation splits"),
        "committee_fraction": Param("float", 1.0, "committee: fraction of the training structures each member "
                                    "trains on, drawn per member (1: all; members then differ by weight seed only)"),
        "features": Param("str", None, "HDF5 file caching the descriptors of the data set; reused when the "
                          "data and descriptor parameters are unchanged"),
        "pair_files": Param("strings", [], "move-pair files (extxyz frames with info keys `pair` and `pair_role`; "
                            "see nanomc.training.pairs), relative to the training file; split like the structures"),
    },
    "descriptors": {
        "basis": Param("str", "behler", "`behler` (radial Gaussians and angular G4 per element and element pair) "
                       "or `chebyshev` (aenet's Chebyshev expansion with type spins)", ("behler", "chebyshev")),
        "cutoff": Param("float", 6.5, "cutoff radius R_c in Å (chebyshev: of the radial expansion)"),
        "n_radial": Param("int", 8, "behler: radial functions per neighbour element"),
        "angular_etas": Param("floats", None, "η (1/Å²) of the angular functions (default: four from R_c)"),
        "zetas": Param("floats", [1.0, 4.0], "ζ values of the angular functions"),
        "lambdas": Param("floats", [-1.0, 1.0], "λ values of the angular functions"),
        "r_min": Param("float", 1.5, "behler: first radial centre in Å"),
        "radial_etas": Param("floats", None, "behler: η (1/Å²) of the radial functions, each with every "
                             "`radial_shifts` value (n2p2's way of listing them); replaces `n_radial` and `r_min`"),
        "radial_shifts": Param("floats", None, "behler, with `radial_etas`: centres R_s of the radial functions "
                               "in Å (default: 0 only)"),
        "radial_order": Param("int", 10, "chebyshev: largest order of the radial expansion"),
        "angular_order": Param("int", 4, "chebyshev: largest order of the angular expansion"),
        "angular_cutoff": Param("float", None, "chebyshev: cutoff radius of the angular expansion in Å "
                                "(default and at most: `cutoff`)"),
    },
    "network": {
        "hidden": Param("ints", [10, 10], "hidden layer widths"),
        "activation": Param("str", "tanh", "hidden-layer activation", TRAINABLE_ACTIVATIONS),
        "twist": Param("float", 0.0, "a of the twisted tanh 1.7159 tanh(2x/3) + a x"),
        "seed": Param("int", 0, "seed of the initial weights"),
        "committee": Param("int", 1, "number of networks per element (a committee): member m starts from weight "
                           "seed `seed + m`; the energy is their mean, their spread an uncertainty"),
        "initial": Param("str", None, "start from this potential file (relative to the training file): its "
                         "weights, descriptor scaling and E0, instead of random weights and fitted scaling/E0; its "
                         "elements, descriptors and layers must be those of this file"),
    },
    "training": {
        "optimizer": Param("str", "lbfgs", "gd (gradient descent with momentum), adam (mini-batch), lbfgs, "
                           "lm (Levenberg–Marquardt)", ("gd", "adam", "lbfgs", "lm")),
        "epochs": Param("int", 1000, "maximum number of epochs (L-BFGS, LM: iterations)"),
        "learning_rate": Param("float", 1e-3, "gd and adam step size"),
        "momentum": Param("float", 0.9, "gd momentum"),
        "batch_size": Param("int", 32, "adam (and gd, 0 = all) structures per mini-batch"),
        "force_weight": Param("float", 0.0, "weight w_F (Å²/atom²) of the mean squared force component error "
                              "against the mean squared per-atom energy error; 0 = energies only"),
        "patience": Param("int", 200, "stop after this many epochs without a lower validation (or test) loss; "
                           "0 = never"),
        "print_every": Param("int", 0, "epochs between progress lines (0: about 40 lines in all)"),
        "pair_weight": Param("float", 1.0, "weight of the move-pair term mean (ΔE_pred − ΔE_ref)² (eV²) next to "
                             "the mean squared per-atom energy error (eV²/atom²)"),
    },
    "output": {
        "potential": Param("str", "potential.h5", "the trained potential file, relative to the training file"),
        "log": Param("str", "training-log.csv", "per-epoch RMSE/MAE table (CSV)"),
    },
}


#: the errors train() returns and records, in the order of its error list (meV/atom, meV/Å)
ERROR_NAMES = ["train_rmse_meV_per_atom", "train_mae_meV_per_atom", "test_rmse_meV_per_atom", "test_mae_meV_per_atom",
               "train_force_rmse_meV_per_A", "train_force_mae_meV_per_A", "test_force_rmse_meV_per_A",
               "test_force_mae_meV_per_A"]


def _check(config: dict, fail) -> None:
    d = config["data"]
    for key in ("test_fraction", "validation_fraction"):
        if not 0.0 <= d[key] < 1.0:
            raise fail("data", key, f"`{key}` must be at least 0 and below 1")
    if not d["files"]:
        raise fail("data", "files", "`files` must list at least one reference file")
    if config["data"]["min_distance"] < 0:
        raise fail("data", "min_distance", "`min_distance` must be 0 or more (Å)")
    for section in ("data", "network"):
        if not 0 <= config[section]["seed"] <= SEED_MAX:
            raise fail(section, "seed", f"`seed` in [{section}] must be an integer from 0 to 2**64 - 1")
    d = config["descriptors"]
    if d["r_min"] < 0:
        raise fail("descriptors", "r_min", "`r_min` must be 0 or more (Å)")
    if d["cutoff"] <= d["r_min"]:
        raise fail("descriptors", "cutoff", "`cutoff` must exceed `r_min` (Å)")
    if d["n_radial"] < 1:
        raise fail("descriptors", "n_radial", "`n_radial` must be at least 1")
    if d["radial_etas"] is not None and not (d["radial_etas"] and min(d["radial_etas"]) > 0):
        raise fail("descriptors", "radial_etas", "`radial_etas` must list values above 0 (1/Å²)")
    if d["radial_shifts"] is not None:
        if d["radial_etas"] is None:
            raise fail("descriptors", "radial_shifts", "`radial_shifts` needs `radial_etas`")
        if not (d["radial_shifts"] and 0 <= min(d["radial_shifts"]) and max(d["radial_shifts"]) < d["cutoff"]):
            raise fail("descriptors", "radial_shifts", "`radial_shifts` must list values from 0 to below `cutoff` (Å)")
    if d["angular_etas"] is not None and min(d["angular_etas"], default=0) < 0:
        raise fail("descriptors", "angular_etas", "`angular_etas` must be 0 or more (1/Å²)")
    if min(d["zetas"], default=1) < 1:
        raise fail("descriptors", "zetas", "`zetas` must be at least 1")
    if set(d["lambdas"]) - {-1, 1}:
        raise fail("descriptors", "lambdas", "`lambdas` must be -1 or 1")
    for key in ("radial_order", "angular_order"):
        if d[key] < 0:
            raise fail("descriptors", key, f"`{key}` must be 0 or more")
    if d["angular_cutoff"] is not None and not 0 < d["angular_cutoff"] <= d["cutoff"]:
        raise fail("descriptors", "angular_cutoff", "`angular_cutoff` must be positive and at most `cutoff` (Å)")
    if not 0.0 < config["data"]["committee_fraction"] <= 1.0:
        raise fail("data", "committee_fraction", "`committee_fraction` must be above 0 and at most 1")
    if config["network"]["committee"] < 1:
        raise fail("network", "committee", "`committee` must be at least 1 (networks per element)")
    if config["network"]["committee"] > 1 and config["network"]["initial"]:
        raise fail("network", "initial", "`initial` starts one network from a file; it cannot start a committee")
    if not config["network"]["hidden"] or min(config["network"]["hidden"]) < 1:
        raise fail("network", "hidden", "`hidden` must list positive layer widths")
    t = config["training"]
    for key in ("epochs", "batch_size"):
        if t[key] < (1 if key == "epochs" else 0):
            raise fail("training", key, f"`{key}` is too small")
    if t["force_weight"] < 0:
        raise fail("training", "force_weight", "`force_weight` must be 0 or more (Å²/atom²)")
    if t["force_weight"] > 0 and t["optimizer"] == "lm":
        raise fail("training", "force_weight", "Levenberg–Marquardt trains on energies only; with `force_weight` "
                   "use `lbfgs`, `adam` or `gd`")
    if config["data"]["force_atoms"] < 0:
        raise fail("data", "force_atoms", "`force_atoms` must be 0 (all) or more")
    if t["learning_rate"] <= 0:
        raise fail("training", "learning_rate", "`learning_rate` must be positive")
    if not 0 <= t["momentum"] < 1:
        raise fail("training", "momentum", "`momentum` must be at least 0 and below 1")
    for key in ("patience", "print_every", "pair_weight"):
        if t[key] < 0:
            raise fail("training", key, f"`{key}` must be 0 or more")
    if config["data"]["pair_files"] and t["optimizer"] == "lm":
        raise fail("training", "optimizer", "the lm optimizer does not train on move pairs (`pair_files`); "
                   "use lbfgs, adam or gd")


@dataclass
class Split:
    """Indices of the structures to train on, to test on and to choose the best epoch with (the
    validation set; empty: the test set chooses), and of the move pairs (train, validation, test)."""

    train: np.ndarray
    test: np.ndarray
    validation: np.ndarray | None = None
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def chooser(self) -> str:
        """The set whose loss picks the best epoch: validation, test or (with neither) train."""
        if self.validation is not None and len(self.validation):
            return "validation"
        return "test" if len(self.test) else "train"

    def pair_indices(self, name: str) -> np.ndarray:
        return self.pairs[("train", "validation", "test").index(name)]


@dataclass
class TrainingResult:
    """The trained potential and its errors (meV/atom)."""

    potential: Potential
    errors: dict[str, float]
    epochs: int
    interrupted: bool = False


def split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of n structures into (train, test) indices."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(test_fraction * n))
    if test_fraction > 0 and n >= 2:
        n_test = min(max(n_test, 1), n - 1)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def split_validation(train_idx: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random (train, validation) split of the training indices; no validation for fraction 0.
    Drawn from its own random stream, so the train/test split is the same with and without it."""
    if fraction == 0 or len(train_idx) < 2:
        return train_idx, train_idx[:0]
    order = np.random.default_rng([seed, 1]).permutation(train_idx)
    n_valid = min(max(int(round(fraction * len(train_idx))), 1), len(train_idx) - 1)
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])


def _rmse_mae_milli(err: np.ndarray) -> tuple[float, float]:
    if err.size == 0:
        return float("nan"), float("nan")
    return 1000 * float(np.sqrt(np.mean(err**2))), 1000 * float(np.mean(np.abs(err)))


def errors_mev(stack: NetworkStack, theta: np.ndarray, batch: Batch) -> tuple[float, float]:
    """(RMSE, MAE) of the per-atom energy in meV/atom; NaN for an empty batch."""
    if batch.n_structures == 0:
        return float("nan"), float("nan")
    return _rmse_mae_milli((stack.energies(theta, batch) - batch.target) / batch.n_atoms)


def force_errors_mev(stack: NetworkStack, theta: np.ndarray, batch: Batch) -> tuple[float, float]:
    """(RMSE, MAE) of the force components in meV/Å on the batch's force atoms; NaN if none."""
    if batch.forces is None or batch.forces.n_forces == 0:
        return float("nan"), float("nan")
    return _rmse_mae_milli(stack.forces(theta, batch) - batch.forces.reference)


def _template(config: dict, elements: list[str]) -> Potential:
    d, n = config["descriptors"], config["network"]
    if d["basis"] == "chebyshev":
        dset = chebyshev_descriptor_set(elements, d["radial_order"], d["cutoff"], d["angular_order"],
                                        d["angular_cutoff"] or d["cutoff"])
    else:
        grid = None if d["radial_etas"] is None else (d["radial_etas"], d["radial_shifts"] or [0.0])
        dset = default_descriptor_set(elements, d["cutoff"], d["n_radial"], d["angular_etas"], d["zetas"],
                                      d["lambdas"], d["r_min"], grid)
    rng = np.random.default_rng(n["seed"])
    nets = {e: Network.random(dset.size, n["hidden"], n["activation"], rng, n["twist"]) for e in elements}
    return Potential(elements, d["cutoff"], {e: dset for e in elements}, nets)


def _layers(network: Network) -> list[tuple]:
    """(weight shape, activation) of every layer."""
    return [(lay.weights.shape, lay.activation) for lay in network.layers]


def _initial(potential: Potential, path: Path, where: str) -> Potential:
    """The potential file `path` to start from, checked to have the elements, cutoff, descriptors
    and layers of `potential` (else a ConfigError naming `where`)."""
    try:
        start = Potential.load(path)
    except NanomcError as exc:
        raise ConfigError(f"{where}: `initial`: {exc}") from None
    same = start.elements == potential.elements and start.cutoff == potential.cutoff and all(
        all(np.array_equal(x, y) for x, y in zip(start.descriptor_sets[e].to_arrays(start.elements),
                                                 potential.descriptor_sets[e].to_arrays(potential.elements)))
        and _layers(start.networks[e]) == _layers(potential.networks[e]) for e in potential.elements)
    if not same:
        raise ConfigError(f"{where}: `initial` potential {path} differs from this training file in its elements, "
                          f"descriptors or network layers")
    return start


def _features(config: dict, base: Path, potential: Potential, structures) -> FeatureSet:
    selection = None
    if config["training"]["force_weight"] > 0:
        selection = (config["data"]["force_atoms"], config["data"]["seed"])
    cache = config["data"]["features"]
    if cache:
        path = base / cache
        if path.exists():
            cached = load_features(path)
            if cached.dataset_hash == dataset_hash(structures, potential, selection):
                return cached
        features = featurize(potential, structures, selection)
        save_features(path, features)
        return features
    return featurize(potential, structures, selection)


def train_from_file(path: str | Path, quiet: bool = False) -> TrainingResult:
    """Run the training described by a TOML training file; writes the potential and the log."""
    path = Path(path)
    config, text = load_config(path, TRAIN_SCHEMA, _check)
    base = path.parent
    for section, key in (("output", "potential"), ("output", "log"), ("data", "features")):
        try:
            if config[section][key]:
                check_output_file(base / config[section][key])
                if key == "log":
                    for log in member_logs(base / config[section][key], config["network"]["committee"]):
                        check_output_file(log)
        except OutputError as exc:
            raise ConfigError(f"{locate(str(path), text, section, key)}: {exc}") from None
    d = config["data"]
    # the structures of `files` (split into train and test), then of `train_files`, then of `validation_files`
    parts = [read_reference([base / f for f in d[key]], d["energy_key"], forces_key=d["forces_key"])
             for key in ("files", "train_files", "validation_files")]
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    if d["min_distance"] > 0:
        parts = _apart(parts, d["min_distance"], say)
    structures = [atoms for part in parts for atoms in part]
    n_split, n_fit = len(parts[0]), len(parts[0]) + len(parts[1])
    move_pairs = read_pairs([base / f for f in config["data"]["pair_files"]], config["data"]["energy_key"])
    elements = sorted({s for a in structures for s in a.get_chemical_symbols()}, key=atomic_numbers.__getitem__)
    if len(structures) < 2:
        raise ConfigError(f"{path}: the reference files hold {len(structures)} structure(s); training needs more")
    relaxed = _relaxed_lattice(structures, config, path, text, move_pairs)
    if config["training"]["force_weight"] > 0 and not any("forces" in a.arrays for a in structures):
        raise ConfigError(f"{locate(str(path), text, 'training', 'force_weight')}: `force_weight` is set but no "
                          f"reference structure has forces (see `forces_key` in [data])")
    potential = _template(config, elements)
    start = _initial(potential, base / config["network"]["initial"], locate(str(path), text, "network", "initial")) \
        if config["network"]["initial"] else None
    say(f"{len(structures)} structures, {sum(len(a) for a in structures)} atoms, elements {', '.join(elements)}; "
        f"{potential.descriptor_sets[elements[0]].size} descriptors per atom")
    pairs = None
    if move_pairs:
        pairs = featurize_pairs(potential, move_pairs)
        say(f"{pairs.n_pairs} move pairs, {len(pairs.z)} atoms near the moved sites featurised")
    features = _features(config, base, potential, structures)
    train_idx, test_idx = split(n_split, d["test_fraction"], d["seed"])
    train_idx = np.concatenate([train_idx, np.arange(n_split, n_fit)])
    train_idx, valid_idx = split_validation(train_idx, d["validation_fraction"], d["seed"])
    valid_idx = np.concatenate([valid_idx, np.arange(n_fit, len(structures))])
    potential.scaling = fit_scaling(features, train_idx)
    potential.e0 = fit_e0(features, train_idx)
    if start is not None:  # the starting point is exactly the given potential
        potential.networks, potential.scaling, potential.e0 = start.networks, start.scaling, start.e0
        potential._nn_tables = None
    pair_split = None
    if pairs:
        pair_train, pair_test = split(pairs.n_pairs, d["test_fraction"], d["seed"])
        pair_split = (*split_validation(pair_train, d["validation_fraction"], d["seed"]), pair_test)
    log = base / config["output"]["log"]
    sets = Split(train_idx, test_idx, valid_idx, pair_split)
    if config["network"]["committee"] == 1:
        result = train(potential, features, sets, config["training"], log, say, pairs)
    else:
        result = train_committee(config, potential, features, sets, log, say, pairs)
    if relaxed:
        result.potential.provenance["energies"] = RELAXED
    result.potential.save(base / config["output"]["potential"])
    say(f"wrote {base / config['output']['potential']}")
    return result


def _apart(parts: list[list[Atoms]], min_distance: float, say) -> list[list[Atoms]]:
    """Each part without its structures that have two atoms closer than min_distance (Å); says how many left."""
    from ..structure import nearest_distance

    kept = [[a for a in part if (nearest_distance(a) or np.inf) >= min_distance] for part in parts]
    dropped = [len(part) - len(k) for part, k in zip(parts, kept)]
    if sum(dropped):
        say(f"left out {sum(dropped)} structures with atoms closer than {min_distance:g} Å (files / train_files / "
            f"validation_files: {' / '.join(map(str, dropped))})")
    return kept


def _relaxed_lattice(structures, config: dict, path: Path, text: str, move_pairs=()) -> bool:
    """True if the reference structures are relaxed-lattice labels (`nanomc label --relax`), False if none is;
    ConfigError (one line) for a mixture, also of structures and move pairs (frames marked `label_energies`),
    or for a force term on relaxed labels (their forces are unknown)."""
    relaxed = [a.info.get(KIND_KEY) == RELAXED for a in structures]
    if any(relaxed) and not all(relaxed):
        raise ConfigError(f"{locate(str(path), text, 'data', 'files')}: {sum(relaxed)} of the {len(relaxed)} "
                          f"reference structures are relaxed-lattice labels (`nanomc label --relax`) and the others "
                          f"are not; train on one kind of energies")
    other = [p for p in move_pairs if any((a.info.get(KIND_KEY) == RELAXED) != relaxed[0] for a in (p.before, p.after))]
    if relaxed and other:
        kinds = ("relaxed-lattice", "lattice") if relaxed[0] else ("lattice", "relaxed-lattice")
        raise ConfigError(f"{locate(str(path), text, 'data', 'pair_files')}: the reference structures have {kinds[0]} "
                          f"energies and {len(other)} of the {len(move_pairs)} move pairs {kinds[1]} ones ({other[0].origin}; "
                          f'relaxed-lattice pair frames carry label_energies = "relaxed-lattice"); train on one kind')
    if all(relaxed) and config["training"]["force_weight"] > 0:
        raise ConfigError(f"{locate(str(path), text, 'training', 'force_weight')}: relaxed-lattice labels have no "
                          f"forces (their structures are not where the energy was computed); set `force_weight` = 0")
    return bool(relaxed) and all(relaxed)


def member_logs(log_path: Path, n_members: int) -> list[Path]:
    """Per-epoch logs of the members of a committee: training-log-0.csv, ... (none for one network)."""
    return [] if n_members == 1 else [log_path.with_name(f"{log_path.stem}-{m}{log_path.suffix}")
                                      for m in range(n_members)]


def train_committee(config: dict, potential: Potential, features: FeatureSet, sets: Split, log_path: Path,
                    say=print, pairs: PairSet | None = None) -> TrainingResult:
    """Train `[network] committee` members with train() and return their committee.

    Every member shares the descriptors, scaling and E0 of `potential` (fitted on the whole
    training set), so their mean is one fused network (nanomc.potential.committee); member m
    starts from weight seed `[network] seed + m` and, with `[data] committee_fraction` below 1,
    trains on its own random part of the training set (seeded by the split seed and m). All
    members are early-stopped on the same validation (or test) set and scored on the same test
    set. `log_path` gets the committee's errors, each member its own per-epoch log (member_logs).
    Errors are of the mean (meV/atom).
    """
    n_members, fraction = config["network"]["committee"], config["data"]["committee_fraction"]
    train_idx, test_idx = sets.train, sets.test
    members, rows, epochs = [], [], 0
    for m, member_log in enumerate(member_logs(log_path, n_members)):
        seed = (config["network"]["seed"] + m) % (SEED_MAX + 1)
        member = _template({**config, "network": {**config["network"], "seed": seed}}, list(potential.elements))
        member.scaling, member.e0 = potential.scaling, potential.e0
        rng = np.random.default_rng([config["data"]["seed"], m])
        own = np.sort(rng.choice(train_idx, size=max(1, int(round(fraction * len(train_idx)))), replace=False))
        say(f"committee member {m + 1} of {n_members}: weight seed {seed}, {len(own)} training structures")
        result = train(member, features, replace(sets, train=own), config["training"], member_log, say, pairs,
                       stop_on_interrupt=False)
        members.append(result.potential.networks)
        rows.append([m, *(result.errors.get(name, float("nan")) for name in ERROR_NAMES)])
        epochs += result.epochs
    committee = potential.with_networks(None, result.potential.provenance, members=members)
    stack = NetworkStack(committee.networks, config["training"]["force_weight"])
    theta, full = stack.pack(committee.networks), features.batch(committee)
    values = []
    for measure in (errors_mev, force_errors_mev):
        for index in (train_idx, test_idx):
            values += measure(stack, theta, full.subset(index))
    errors = dict(zip(ERROR_NAMES, values))
    for key in ("epochs", "best_epoch", *ERROR_NAMES):
        committee.provenance.pop(key, None)
    committee.provenance.update({"n_train": len(train_idx), "committee_size": n_members,
                                 "committee_fraction": fraction, **{k: v for k, v in errors.items() if np.isfinite(v)}})
    member_test = [row[3] for row in rows]
    if np.all(np.isfinite(member_test)):
        committee.provenance["member_test_rmse_meV_per_atom"] = member_test
    say(f"committee of {n_members}: train RMSE {values[0]:.3f}, test RMSE {values[2]:.3f} meV/atom (members' test "
        f"RMSE {', '.join(f'{e:.3f}' for e in member_test)})")
    with_forces = stack.uses_forces(full)
    header = ["member", "train_rmse", "train_mae", "test_rmse", "test_mae"]
    header += ["train_f_rmse", "train_f_mae", "test_f_rmse", "test_f_mae"] if with_forces else []
    with open(log_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([row[:len(header)] for row in rows + [["mean", *values]]])
    return TrainingResult(committee, errors, epochs)


@contextmanager
def _terminate_as_interrupt(active: bool) -> Iterator[None]:
    """Within the block, SIGTERM (`kill`, a batch system's time limit) raises KeyboardInterrupt as
    Ctrl-C does: a training in the background, where SIGINT is ignored, can be stopped keeping its
    best parameters. Only in the main thread (signal handlers cannot be set elsewhere)."""
    if not active or threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def train(potential: Potential, features: FeatureSet, sets: Split, options: dict, log_path: Path | None = None,
          say=print, pairs: PairSet | None = None, stop_on_interrupt: bool = True) -> TrainingResult:
    """Optimise the networks of `potential` (scaling and E0 already set) on features[sets.train] and,
    if given, the move pairs of sets.pairs; keep the epoch with the lowest loss on sets.chooser. With
    stop_on_interrupt, Ctrl-C or SIGTERM ends the training early with the best parameters so far
    (recorded as interrupted)."""
    stack = NetworkStack(potential.networks, options.get("force_weight", 0.0))
    full = features.batch(potential)
    train_idx, test_idx = sets.train, sets.test
    train_batch, test_batch = full.subset(train_idx), full.subset(test_idx)
    chooser = sets.chooser
    valid_batch = full.subset(sets.validation) if chooser == "validation" else None
    with_forces = stack.uses_forces(full)
    pair_batches = {name: pairs.batch(potential, sets.pair_indices(name)) for name in ("train", "validation", "test")} \
        if pairs else {}
    pair_term = PairTerm(stack, pair_batches.get("train"), pair_batches.get("test"), options.get("pair_weight", 0.0),
                         pairs.dataset_hash if pairs else "", pair_batches.get("validation"))
    epochs = options["epochs"]
    every = options.get("print_every") or max(1, epochs // 40)
    best = {"score": np.inf, "theta": stack.pack(potential.networks), "epoch": 0}
    rows: list[list] = []
    header = ["epoch", "train_rmse", "train_mae", "test_rmse", "test_mae"]
    header += ["train_f_rmse", "train_f_mae", "test_f_rmse", "test_f_mae"] if with_forces else []
    header += pair_term.header
    header += ["validation_rmse", "validation_score"] if valid_batch is not None else []
    units = ", meV/Å" if with_forces else ""
    units += ", pairs: meV" if pair_term.header else ""
    say("  ".join(f"{h:>10s}" for h in header) + f"   (meV/atom{units})")
    t0 = time.monotonic()

    def all_errors(theta: np.ndarray) -> list[float]:
        out = [*errors_mev(stack, theta, train_batch), *errors_mev(stack, theta, test_batch)]
        if with_forces:
            out += [*force_errors_mev(stack, theta, train_batch), *force_errors_mev(stack, theta, test_batch)]
        return out

    def choice_score(theta: np.ndarray, values: list[float]) -> tuple[float, float]:
        """(energy RMSE, score) of the choosing set: sqrt(RMSE² + w_F force RMSE² + pair term)."""
        if valid_batch is not None:
            rmse = errors_mev(stack, theta, valid_batch)[0]
            force = force_errors_mev(stack, theta, valid_batch)[0] if with_forces else 0.0
        else:
            at = 2 if chooser == "test" else 0
            rmse, force = values[at], values[at + 4] if with_forces else 0.0
        loss = rmse**2 + stack.force_weight * np.nan_to_num(force) ** 2
        return rmse, pair_term.score(theta, float(np.sqrt(loss)), chooser)

    def epoch_done(epoch: int, theta: np.ndarray) -> bool:
        values = all_errors(theta)
        rmse, score = choice_score(theta, values)
        rows.append([epoch, *values, *pair_term.errors(theta), *([rmse, score] if valid_batch is not None else [])])
        if score < best["score"]:
            best.update(score=score, theta=theta.copy(), epoch=epoch)
        if epoch % every == 0 or epoch == epochs:
            say("  ".join([f"{epoch:>10d}"] + [f"{v:10.3f}" for v in rows[-1][1:]]))
        patience = options["patience"]
        if patience and epoch - best["epoch"] >= patience:
            say(f"stopping: no lower {chooser} {'loss' if with_forces or pair_term.active else 'RMSE'} "
                f"for {patience} epochs")
            return True
        return False

    kwargs = {"gd": {"learning_rate": options["learning_rate"], "momentum": options["momentum"],
                     "batch_size": options["batch_size"]},
              "adam": {"learning_rate": options["learning_rate"], "batch_size": options["batch_size"]},
              "lbfgs": {}, "lm": {}}[options["optimizer"]]
    theta = stack.pack(potential.networks)
    interrupted = False
    if train_batch.n_structures:
        try:
            with _terminate_as_interrupt(stop_on_interrupt):
                OPTIMIZERS[options["optimizer"]](pair_term.objective(train_batch.n_structures), train_batch, theta,
                                                 epochs, epoch_done, **kwargs)
        except KeyboardInterrupt:
            if not stop_on_interrupt:
                raise
            interrupted = True
            say(f"interrupted after epoch {len(rows)}: keeping the best parameters (epoch {best['epoch']})")
    theta = best["theta"]
    potential.networks = stack.networks(theta)
    potential._nn_tables = None
    values = all_errors(theta)
    errors = dict(zip(ERROR_NAMES, values))
    if with_forces:
        potential.provenance["force_weight"] = stack.force_weight
    potential.provenance.update({
        "training_set_hash": features.dataset_hash, "n_train": len(train_idx), "n_test": len(test_idx),
        "n_validation": 0 if valid_batch is None else valid_batch.n_structures, "best_epoch_chosen_on": chooser,
        "optimizer": options["optimizer"], "epochs": len(rows), "best_epoch": best["epoch"],
        "trained": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **{k: v for k, v in errors.items() if np.isfinite(v)}, **pair_term.provenance(theta),
    })
    if interrupted:
        potential.provenance["interrupted"] = True
    forces = (f"; forces: train RMSE {values[4]:.1f}, test RMSE {values[6]:.1f} meV/Å" if with_forces else "")
    pair_summary = "; pair ΔE RMSE/bias train {:.2f}/{:+.2f}, test {:.2f}/{:+.2f} meV".format(
        *pair_term.errors(theta)) if pair_term.header else ""
    say(f"best epoch {best['epoch']}: train RMSE {values[0]:.3f}, test RMSE {values[2]:.3f} meV/atom{forces}"
        f"{pair_summary} "
        f"({time.monotonic() - t0:.0f} s)")
    if log_path is not None:
        with open(log_path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
    return TrainingResult(potential, errors, len(rows), interrupted)
