"""Campaign parameter files: the schema, validation with file:line messages, the reference text.

A parameter file is TOML with the sections [particle], [potential], [mc] and [output].
Every key is listed in SCHEMA with its type, default and meaning; `nanomc template` prints
an annotated file and the parameter reference in docs/campaigns.md is this table.
"""
from __future__ import annotations

import difflib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
from ase.data import atomic_numbers

from ..errors import NanomcError
from ..mc.schedule import temperature_schedule
from ..mc.starts import FILE, START_KINDS
from ..particles import vacancy_group_problem
from ..structure import VACANCY


class ConfigError(NanomcError, ValueError):
    """A parameter file that is not valid; the message names the file, line and key."""


REQUIRED = object()

#: Å; ASE's fcc elements span 3.52 (Ni) to 6.20 (Xe): a value outside this range is a typo or another unit
LATTICE_CONSTANT_RANGE = (2.5, 10.0)
#: the largest seed: SeedSequence takes any non-negative integer, the results file stores 64 bits
SEED_MAX = 2**64 - 1
#: the largest other integer: the results file stores them as int64
INT_MAX = 2**63 - 1
#: the most sweeps a run may ask for: every sweep adds its energy, acceptance and temperature per replica to
#: the trace the run keeps in memory (some 100 bytes a sweep), so more would not fit in any machine
SWEEPS_MAX = 10**9


@dataclass(frozen=True)
class Param:
    """One key: kind (str, int, float, bool, floats, strings, table, groups), default, meaning."""

    kind: str
    default: Any
    doc: str
    choices: tuple = ()


SCHEMA: dict[str, dict[str, Param]] = {
    "particle": {
        "shape": Param("str", "truncated_octahedron", "cluster shape, or `file` to read `file`",
                       ("octahedron", "truncated_octahedron", "cuboctahedron", "cube", "icosahedron", "decahedron",
                        "wulff", "file")),
        "size": Param("int", None, "shape size parameter: octahedra atoms per edge, cube (100) layers from the "
                      "centre to a face, icosahedron shells, decahedron atoms per (100) edge, wulff atom count "
                      "(oxides: cation count); give one of `size`, `atoms`, `cations`"),
        "atoms": Param("int", None, "target number of atoms (oxides: cations + anion sites): the size whose "
                       "particle is closest"),
        "cations": Param("int", None, "oxides only: target number of cations: the size whose particle is closest"),
        "oxide": Param("str", None, "build a fluorite oxide MO2 (CeO2, ThO2, UO2, ZrO2, ...): cations on an fcc "
                       "sublattice, anions on the simple-cubic one; shapes octahedron, truncated_octahedron, "
                       "cuboctahedron, cube, wulff (see Oxides and vacancies)"),
        "composition": Param("table", None, "per element a fraction of its swap group's sites (`{ Au = 0.5, "
                             "Cu = 0.5 }`) or an integer count (`{ Ce = 405, Cu = 54, O = 834, X = 84 }`); "
                             "X is a vacancy; required for built shapes; for a file, default: keep the file's "
                             "occupation, and elements not listed keep their sites"),
        "lattice_constant": Param("float", None, "lattice constant in Å, 2.5 to 10 (fcc metal: default Vegard's law over "
                                  "the composition from ASE's reference data; oxide: default from the table of "
                                  "known oxides)"),
        "host": Param("str", None, "element the shape is built from before the random occupation "
                      "(default: the first element of `composition`; not for oxides)"),
        "surface_energies": Param("energies", None, "wulff only: surface energies of facets `100`, `110`, "
                                  "`111` (J/m², or relative): a table (default 1.0, 1.1, 0.9; oxides 1.4, 1.0, "
                                  "0.7); `potential`: relaxed surface energies of the host element computed with "
                                  "the campaign's potential (as `nanomc surfaces` does; fcc metals only); or a file "
                                  "written by `nanomc surfaces`, relative to the parameter file"),
        "file": Param("str", None, "structure file (any ASE format) when shape = `file`; relative to "
                      "the parameter file"),
        "swap_groups": Param("groups", None, "lists of elements that exchange among their sites, e.g. "
                             "`[[\"Ce\", \"Cu\"], [\"O\", \"X\"]]` (X: a vacancy, in a group with exactly "
                             "one other element); sites of other elements are frozen "
                             "(default: one group per sublattice of its elements and the `composition` "
                             "elements that go there; for a file with `composition`, those elements only)"),
        "frozen_elements": Param("strings", [], "elements whose atoms never move (support, adsorbates)"),
        "frozen_indices": Param("ints", [], "indices of atoms that never move"),
    },
    "potential": {
        "file": Param("str", "default", "potential file (nanomc HDF5), relative to the parameter file, "
                      "or a potential shipped with nanomc: `default` or `AuCu-pairs` (Au–Cu, trained on swap "
                      "energies too), `AuCu` (Au–Cu, trained on energies only), `CeCuO` (Ce–Cu–O)"),
        "memory_limit_mb": Param("float", 1024.0, "cap on the triplet-geometry cache in MiB (> 0); beyond it "
                                 "a slower cache-free path is used. Particles on a lattice use the lattice "
                                 "tables and no cache"),
    },
    "mc": {
        "ensemble": Param("str", "canonical", "`canonical` (swaps), `sgc` (semi-grand canonical flips), "
                          "`anneal` (canonical swaps while T falls from t_start to t_end) or `pamc` (population "
                          "annealing: `walkers` canonical chains cooled through `temperatures`, resampled at "
                          "each step)", ("canonical", "sgc", "anneal", "pamc")),
        "temperatures": Param("floats", None, "K; one replica per temperature (canonical, sgc); pamc: the "
                              "temperature steps from highest to lowest; or give `t_min`, `t_max`, "
                              "`n_temperatures`"),
        "t_min": Param("float", None, "K; lowest temperature of a geometric ladder (with `t_max`, "
                       "`n_temperatures`; pamc: spaced by `schedule`)"),
        "t_max": Param("float", None, "K; highest temperature of a geometric ladder"),
        "n_temperatures": Param("int", None, "number of temperatures of a geometric ladder"),
        "walkers": Param("int", None, "pamc only: size R of the population (at least 2), spread over MPI "
                         "ranks"),
        "resampling": Param("str", "systematic", "pamc only: how walkers are copied in proportion to their "
                            "Boltzmann weights at each step", ("systematic", "residual", "multinomial")),
        "ladder": Param("str", "fixed", "replica exchange: `fixed` runs at `temperatures` (or the geometric "
                        "ladder of `t_min`, `t_max`, `n_temperatures`); `tuned` starts from it and moves the inner "
                        "temperatures in `tune_rounds` pilot runs of `tune_sweeps` sweeps until neighbouring exchange "
                        "acceptances are equal (the ends stay; the tuned ladder is stored and kept on --resume)",
                        ("fixed", "tuned")),
        "tune_rounds": Param("int", 4, "`ladder = \"tuned\"`: number of pilot runs, each followed by a move of the "
                             "inner temperatures"),
        "tune_sweeps": Param("int", 50, "`ladder = \"tuned\"`: sweeps per pilot run (the second half measures "
                             "the acceptances); pilot sweeps come before and on top of `sweeps`"),
        "exchange_interval": Param("int", 0, "sweeps between replica-exchange rounds (neighbouring "
                                   "temperatures, alternating even/odd pairs); 0 = independent replicas"),
        "sweeps": Param("int", REQUIRED, "sweeps per replica (pamc: per walker at each temperature step), 1 to "
                        "10**9; a sweep is one trial per swappable atom"),
        "neighbour_swaps": Param("float", 0.0, "swaps only: fraction (0 to 1) of the trials whose partner is drawn "
                                 "among the site's nearest neighbours in its swap group, not the whole group: "
                                 "local moves, for systems where distant swaps cost eV (vacancies, dopants in an "
                                 "oxide)"),
        "composite_moves": Param("float", 0.0, "swaps only: fraction (0 to 1) of the trials that are composite moves, "
                                 "for oxides with vacancies (swap groups like [[\"Ce\", \"Cu\"], [\"O\", \"X\"]]): "
                                 "two unlike cations exchange and a vacancy next to the first moves to an O site next "
                                 "to the second in the same trial (Hastings acceptance), so a dopant can move with the "
                                 "vacancies bound to it; needs a swap group with X and one without"),
        "starts": Param("starts", 1, "independent starts: a number K, or a list of kinds (`random`, "
                        "`surface-first`, `core-first`: the rarest element of each swap group on its lowest- or "
                        "highest-coordinated sites first, `file`: the occupation of [particle] `file`); each start "
                        "runs the whole ladder from its own occupation with its own random streams, and `nanomc "
                        "analyze` compares them (R̂, ESS). K gives the usual initial occupation and K − 1 random "
                        "ones. With ladder = \"tuned\" every start runs the pilots and all run on the ladder "
                        "that start 0's pilots tune. pamc: K independent populations of `walkers`, compared by a "
                        "χ² test of their estimates; a `random` population's walkers are independent random "
                        "occupations (the usual start, also for a structure file), a named kind puts every walker "
                        "of its population on that occupation (then no ln Z, F, S)"),
        "seed": Param("int", 0, "random seed, 0 to 2**64 − 1; a run is reproducible from parameters "
                      "and seed"),
        "chemical_potentials": Param("table", {}, "sgc only: μ per element in eV; a flip A→B is accepted "
                                     "with ΔE − (μ_B − μ_A); μ of a vacancy X is 0, so O→X is accepted with "
                                     "ΔE + μ_O"),
        "t_start": Param("float", None, "anneal only: first temperature (K)"),
        "t_end": Param("float", None, "anneal only: last temperature (K)"),
        "schedule": Param("str", "geometric", "anneal and pamc (with `t_min`, `t_max`): spacing of the "
                          "temperatures: geometric in T, linear in T, or `beta`: linear in β = 1/k_BT",
                          ("geometric", "linear", "beta")),
        "snapshot_interval": Param("int", 10, "sweeps between stored occupation snapshots (pamc: every walker "
                                   "after every temperature step)"),
        "checkpoint_interval": Param("int", 50, "sweeps between checkpoints (the results file is rewritten "
                                     "atomically; pamc: after every temperature step)"),
    },
    "output": {
        "directory": Param("str", "results", "where results.h5, final.extxyz and best.extxyz go; relative "
                           "to the parameter file"),
    },
}


def _line_of(text: str, section: str, key: str | None) -> int:
    """1-based line of `key` in [section] (or of the section header); 0 if not found."""
    current = None
    header = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-]+)\s*\]")
    for number, line in enumerate(text.splitlines(), 1):
        m = header.match(line)
        if m:
            current = m.group(1)
            if key is None and current == section:
                return number
            continue
        if current == section and key is not None and re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", line):
            return number
    return 0


def locate(name: str, text: str, section: str, *keys: str | None) -> str:
    """`name:line` of the first of `keys` that [section] of a parameter file's text sets (of the
    section header if none is set); just `name` when the section is not in the text either."""
    line = next((n for n in (_line_of(text, section, k) for k in keys if k) if n), 0) or _line_of(text, section, None)
    return f"{name}:{line}" if line else name


def _type_ok(kind: str, value: Any) -> bool:
    number = (int, float)
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, number) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "floats":
        return isinstance(value, list) and all(isinstance(v, number) and not isinstance(v, bool) for v in value)
    if kind == "ints":
        return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if kind == "strings":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "table":
        return isinstance(value, dict) and all(
            isinstance(v, number) and not isinstance(v, bool) for v in value.values())
    if kind == "energies":
        return isinstance(value, str) or _type_ok("table", value)
    if kind == "starts":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, list) and all(isinstance(v, str) for v in value))
    if kind == "groups":
        return isinstance(value, list) and all(
            isinstance(g, list) and all(isinstance(e, str) for e in g) for g in value)
    raise AssertionError(kind)


def _non_finite(value: Any) -> float | None:
    """The first NaN or ±inf in a number, list or table of numbers; None if there is none."""
    values = value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
    return next((v for v in values if isinstance(v, float) and not np.isfinite(v)), None)


KIND_NAMES = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
              "floats": "a list of numbers", "ints": "a list of integers", "strings": "a list of strings",
              "table": "a table of numbers, e.g. { Au = 0.5 }",
              "energies": "a table of numbers (e.g. { 111 = 0.7, 100 = 0.85 }), \"potential\" or a file of "
                          "`nanomc surfaces`",
              "starts": "a number of starts or a list of start kinds, e.g. [\"random\", \"core-first\"]",
              "groups": "a list of lists of element names"}


def load_config(path: str | Path, schema: dict[str, dict[str, Param]] | None = None,
                check: Callable | None = None) -> tuple[dict, str]:
    """Read and validate a parameter file; returns (config with defaults filled in, file text).

    schema/check default to the campaign schema and its cross-key rules.
    """
    raw, text = read_toml(path)
    return validate(raw, text, str(path), schema, check), text


def read_toml(path: str | Path) -> tuple[dict, str]:
    """A parameter file's TOML as a dict, and its text; ConfigError if unreadable or not TOML."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the parameter file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text (TOML) file; give the parameter file") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def validate(raw: dict, text: str, name: str, schema: dict[str, dict[str, Param]] | None = None,
             check: Callable | None = None) -> dict:
    """Check sections, keys, types and required keys; fill defaults; ConfigError on the first problem.

    check(config, fail) applies cross-key rules; fail(section, key, message) makes the error.
    """
    if schema is None:
        schema, check = SCHEMA, _check_semantics

    def fail(section: str, key: str | None, message: str) -> ConfigError:
        return ConfigError(f"{locate(name, text, section, key)}: {message}")

    for section, value in raw.items():
        if section not in schema:
            hint = difflib.get_close_matches(section, schema, 1)
            extra = f" (did you mean [{hint[0]}]?)" if hint else f" (sections: {', '.join(schema)})"
            raise fail(section, None, f"unknown section [{section}]{extra}")
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: `{section}` must be a [{section}] table")
    config: dict[str, dict] = {}
    for section, params in schema.items():
        given = raw.get(section, {})
        for key in given:
            if key not in params:
                hint = difflib.get_close_matches(key, params, 1)
                extra = f" (did you mean `{hint[0]}`?)" if hint else ""
                raise fail(section, key, f"unknown key `{key}` in [{section}]{extra}")
        config[section] = {}
        for key, p in params.items():
            if key not in given:
                if p.default is REQUIRED:
                    raise fail(section, None, f"missing required key `{key}` in [{section}]: {p.doc}")
                config[section][key] = p.default
                continue
            value = given[key]
            if not _type_ok(p.kind, value):
                raise fail(section, key, f"`{key}` in [{section}] must be {KIND_NAMES[p.kind]}, got {value!r}")
            bad = _non_finite(value)
            if bad is not None:
                raise fail(section, key, f"`{key}` in [{section}] must be finite, got {bad!r}")
            if p.choices and value not in p.choices:
                raise fail(section, key, f"`{key}` in [{section}] must be one of {', '.join(p.choices)}, got {value!r}")
            config[section][key] = float(value) if p.kind == "float" else value
    if check is not None:
        check(config, fail)
    return config


def _check_semantics(c: dict, fail) -> None:
    """Cross-key rules: integers that fit, what each shape and ensemble needs, positive temperatures and counts."""
    _check_integers(c, fail)
    part, mc = c["particle"], c["mc"]
    if part["shape"] == "file":
        if not part["file"]:
            raise fail("particle", "shape", "shape = \"file\" needs `file` in [particle]")
    else:
        if sum(part[k] is not None for k in ("size", "atoms", "cations")) != 1:
            raise fail("particle", None, "give exactly one of `size`, `atoms` and `cations` in [particle]")
        if not part["composition"]:
            raise fail("particle", "composition", "a built particle needs `composition` in [particle], "
                       "e.g. { Au = 0.5, Cu = 0.5 }")
    if part["shape"] == "file" and (part["oxide"] or part["cations"] is not None):
        raise fail("particle", "oxide" if part["oxide"] else "cations",
                   "`oxide` and `cations` build a particle; they do not apply to shape = \"file\"")
    if part["cations"] is not None and not part["oxide"]:
        raise fail("particle", "cations", "`cations` applies to oxides only (give `oxide`)")
    if part["oxide"] and part["host"]:
        raise fail("particle", "host", "`host` does not apply to oxides: `oxide` names the cation")
    if part["host"] is not None and part["host"] not in atomic_numbers:
        raise fail("particle", "host", f"`host` must be an element symbol, got {part['host']!r}")
    if part["surface_energies"] is not None:
        if part["shape"] != "wulff":
            raise fail("particle", "surface_energies", "`surface_energies` only applies to shape = \"wulff\"")
        energies = part["surface_energies"]
        if energies == "potential" and part["oxide"]:
            raise fail("particle", "surface_energies", "surface_energies = \"potential\" computes fcc metal surfaces; "
                       "an oxide needs a table or a file of `nanomc surfaces`")
        if energies == "":
            raise fail("particle", "surface_energies", "`surface_energies` is empty: give a table, \"potential\" or "
                       "a file of `nanomc surfaces`")
        bad = [v for v in energies.values() if v <= 0] if isinstance(energies, dict) else []
        if bad:
            raise fail("particle", "surface_energies", f"surface energies must be positive, got {bad[0]}")
    for key in ("size", "atoms", "cations"):
        if part[key] is not None and part[key] < 1:
            raise fail("particle", key, f"`{key}` in [particle] must be positive, got {part[key]}")
    a = part["lattice_constant"]
    if a is not None and not LATTICE_CONSTANT_RANGE[0] <= a <= LATTICE_CONSTANT_RANGE[1]:
        raise fail("particle", "lattice_constant", "`lattice_constant` must be between {:g} and {:g} Å, got {}"
                   .format(*LATTICE_CONSTANT_RANGE, a))
    if not c["potential"]["memory_limit_mb"] > 0:
        raise fail("potential", "memory_limit_mb", "`memory_limit_mb` must be positive (MiB), got "
                   f"{c['potential']['memory_limit_mb']}")
    if not 0 <= mc["seed"] <= SEED_MAX:
        raise fail("mc", "seed", f"`seed` in [mc] must be an integer from 0 to 2**64 - 1, got {mc['seed']}")
    if mc["sweeps"] < 1:
        raise fail("mc", "sweeps", f"`sweeps` must be at least 1, got {mc['sweeps']}")
    if mc["sweeps"] > SWEEPS_MAX:
        raise fail("mc", "sweeps", f"`sweeps` must be at most {SWEEPS_MAX} (the run keeps an energy trace per sweep "
                   f"in memory), got {mc['sweeps']}")
    if not 0.0 <= mc["neighbour_swaps"] <= 1.0:
        raise fail("mc", "neighbour_swaps", f"`neighbour_swaps` is a fraction from 0 to 1, got {mc['neighbour_swaps']}")
    if mc["neighbour_swaps"] and mc["ensemble"] == "sgc":
        raise fail("mc", "neighbour_swaps", "`neighbour_swaps` applies to swaps, not to ensemble = \"sgc\" (flips)")
    _check_composite_moves(part, mc, fail)
    for key in ("snapshot_interval", "checkpoint_interval"):
        if mc[key] < 1:
            raise fail("mc", key, f"`{key}` must be at least 1, got {mc[key]}")
    _check_starts(part, mc, fail)
    if mc["ladder"] == "tuned" and mc["ensemble"] in ("anneal", "pamc"):
        raise fail("mc", "ladder", f"ladder = \"tuned\" applies to replica exchange (canonical, sgc), not to "
                   f"ensemble = \"{mc['ensemble']}\"")
    if mc["ensemble"] == "anneal":
        for key in ("temperatures", "t_min", "t_max", "n_temperatures"):
            if mc[key] is not None:
                raise fail("mc", key, f"`{key}` does not apply to ensemble = \"anneal\" (one chain cooled from "
                           "`t_start` to `t_end`)")
        for key in ("t_start", "t_end"):
            if mc[key] is None:
                raise fail("mc", "ensemble", f"ensemble = \"anneal\" needs `{key}` (K) in [mc]")
            if mc[key] <= 0:
                raise fail("mc", key, f"`{key}` must be a positive temperature in K, got {mc[key]}")
        if mc["exchange_interval"]:
            raise fail("mc", "exchange_interval", "replica exchange does not apply to ensemble = \"anneal\"")
    else:
        for key in ("t_start", "t_end"):
            if mc[key] is not None:
                raise fail("mc", key, f"`{key}` only applies to ensemble = \"anneal\"")
        if mc["ensemble"] == "pamc":
            _check_population(mc, fail)
            return
        _fill_temperatures(mc, fail, "geometric ladder", temperature_ladder,
                           f"ensemble = \"{mc['ensemble']}\" needs `temperatures` (K) in [mc]")
        if mc["exchange_interval"] < 0:
            raise fail("mc", "exchange_interval", "`exchange_interval` must be 0 (off) or a number of sweeps")
        if mc["exchange_interval"] and len(mc["temperatures"]) < 2:
            raise fail("mc", "exchange_interval", "replica exchange needs at least two temperatures")
        _check_tuning(mc, fail)
    if mc["walkers"] is not None:
        raise fail("mc", "walkers", "`walkers` only applies to ensemble = \"pamc\"")
    if mc["chemical_potentials"] and mc["ensemble"] != "sgc":
        raise fail("mc", "chemical_potentials", "`chemical_potentials` only applies to ensemble = \"sgc\"")
    _check_vacancies(part, mc, fail)


def _check_composite_moves(part: dict, mc: dict, fail) -> None:
    """`composite_moves`: a fraction, for swaps, with a swap group that holds X and one that does not."""
    fraction = mc["composite_moves"]
    if not 0.0 <= fraction <= 1.0:
        raise fail("mc", "composite_moves", f"`composite_moves` is a fraction from 0 to 1, got {fraction}")
    if fraction and mc["ensemble"] == "sgc":
        raise fail("mc", "composite_moves", "`composite_moves` applies to swaps, not to ensemble = \"sgc\" (flips)")
    groups = part["swap_groups"] or []
    if fraction and not (any(VACANCY in g for g in groups) and any(VACANCY not in g for g in groups)):
        raise fail("mc", "composite_moves", "`composite_moves` moves vacancies with cations: it needs `swap_groups` "
                   "with a group that holds X and one that does not, e.g. [[\"Ce\", \"Cu\"], [\"O\", \"X\"]]")


def _check_integers(c: dict, fail) -> None:
    """Every integer (also in a list) fits in the int64 the results file stores; `seed` has its own range."""
    for section, values in c.items():
        for key, value in values.items():
            numbers = value if isinstance(value, list) else [value]
            big = next((v for v in numbers if type(v) is int and not -INT_MAX - 1 <= v <= INT_MAX), None)
            if big is not None and key != "seed":
                raise fail(section, key, f"`{key}` in [{section}] must be a 64-bit integer (at most 2**63 - 1), "
                           f"got {big}")


def _check_starts(part: dict, mc: dict, fail) -> None:
    """`starts`: a positive count or a non-empty list of known kinds; `file` needs a structure file kept as it is."""
    starts = mc["starts"]
    if isinstance(starts, int):
        if starts < 1:
            raise fail("mc", "starts", f"`starts` must be at least 1, got {starts}")
    else:
        if not starts:
            raise fail("mc", "starts", "`starts` must name at least one start")
        unknown = [s for s in starts if s not in START_KINDS]
        if unknown:
            raise fail("mc", "starts", f"unknown start {unknown[0]!r} in `starts`; one of {', '.join(START_KINDS)}")
        if FILE in starts and (part["shape"] != "file" or part["composition"]):
            raise fail("mc", "starts", "start \"file\" keeps the occupation of [particle] `file`: it needs "
                       "shape = \"file\" and no `composition`")


def _fill_temperatures(mc: dict, fail, name: str, spacing: Callable[[float, float, int], list[float]],
                       missing: str) -> None:
    """mc["temperatures"] as given, or spacing(t_min, t_max, n_temperatures) (K) for a `name`
    ("geometric ladder", "pamc schedule") given by its ends; ConfigError if both, part of the ends, neither
    (message `missing`) or a temperature that is not positive is given."""
    ends = [mc[k] is not None for k in ("t_min", "t_max", "n_temperatures")]
    if mc["temperatures"] and any(ends):
        raise fail("mc", "temperatures", "give `temperatures` or `t_min`/`t_max`/`n_temperatures`, not both")
    if any(ends) and not all(ends):
        raise fail("mc", None, f"a {name} needs all of `t_min`, `t_max` and `n_temperatures`")
    if all(ends):
        if mc["n_temperatures"] < 1 or not 0 < mc["t_min"] <= mc["t_max"]:
            raise fail("mc", "t_min", f"a {name} needs 0 < t_min <= t_max (K) and n_temperatures >= 1")
        mc["temperatures"] = spacing(mc["t_min"], mc["t_max"], mc["n_temperatures"])
    if not mc["temperatures"]:
        raise fail("mc", None, missing)
    bad = [t for t in mc["temperatures"] if t <= 0]
    if bad:
        raise fail("mc", "temperatures", f"temperatures must be positive (K), got {bad[0]}")


def _check_tuning(mc: dict, fail) -> None:
    """ladder = "tuned": replica exchange over at least three ascending temperatures, pilots of >= 2 sweeps."""
    if mc["ladder"] != "tuned":
        return
    if not mc["exchange_interval"]:
        raise fail("mc", "ladder", "ladder = \"tuned\" tunes a replica-exchange ladder: set `exchange_interval` "
                   "(sweeps between exchanges) in [mc]")
    if len(mc["temperatures"]) < 3:
        raise fail("mc", "ladder", "ladder = \"tuned\" moves the inner temperatures: give at least three")
    if (np.diff(mc["temperatures"]) <= 0).any():
        raise fail("mc", "temperatures", "ladder = \"tuned\" needs `temperatures` from lowest to highest")
    if mc["tune_rounds"] < 1:
        raise fail("mc", "tune_rounds", f"`tune_rounds` must be at least 1, got {mc['tune_rounds']}")
    if mc["tune_sweeps"] < 2 * mc["exchange_interval"]:
        raise fail("mc", "tune_sweeps", f"`tune_sweeps` must be at least 2 exchange intervals "
                   f"({2 * mc['exchange_interval']} sweeps), got {mc['tune_sweeps']}")


def _check_population(mc: dict, fail) -> None:
    """pamc: walkers, and temperature steps from highest to lowest (a list, or t_max → t_min by `schedule`)."""
    if mc["walkers"] is None:
        raise fail("mc", "ensemble", "ensemble = \"pamc\" needs `walkers` (the population size) in [mc]")
    if mc["walkers"] < 2:
        raise fail("mc", "walkers", f"`walkers` must be at least 2, got {mc['walkers']}")
    for key in ("exchange_interval", "chemical_potentials"):
        if mc[key]:
            raise fail("mc", key, f"`{key}` does not apply to ensemble = \"pamc\" (canonical swaps, resampling "
                       "instead of exchanges)")

    def cooling(t_min: float, t_max: float, count: int) -> list[float]:
        return [float(t) for t in temperature_schedule(t_max, t_min, count, mc["schedule"])]

    _fill_temperatures(mc, fail, "pamc schedule", cooling, "ensemble = \"pamc\" needs `temperatures` (K, highest first) "
                       "or `t_min`, `t_max` and `n_temperatures` in [mc]")
    if (np.diff(mc["temperatures"]) >= 0).any():
        raise fail("mc", "temperatures", "population annealing cools: list `temperatures` from highest to lowest, "
                   "each lower than the one before")


def _check_vacancies(part: dict, mc: dict, fail) -> None:
    """X (a vacancy) shares a swap group with exactly one element, the one it replaces; its μ is 0."""
    for group in part["swap_groups"] or []:
        problem = vacancy_group_problem(group)
        if problem:
            raise fail("particle", "swap_groups", problem)
    if VACANCY in mc["chemical_potentials"]:
        raise fail("mc", "chemical_potentials", "X (the vacancy) has μ = 0 by definition: give μ of the element "
                   "it replaces (an O → X flip is accepted with ΔE + μ_O)")


def temperature_ladder(t_min: float, t_max: float, count: int) -> list[float]:
    """Geometrically spaced temperatures (K) from t_min to t_max."""
    return [float(t) for t in np.geomspace(t_min, t_max, count)]


def reference_markdown(schema: dict[str, dict[str, Param]] | None = None) -> str:
    """The parameter reference as Markdown tables (one per section); default: the campaign schema."""
    lines = []
    for section, params in (schema or SCHEMA).items():
        lines += [f"**[{section}]**", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for key, p in params.items():
            default = "required" if p.default is REQUIRED else ("—" if p.default is None else f"`{p.default!r}`")
            choices = f" One of: {', '.join(p.choices)}." if p.choices else ""
            lines.append(f"| `{key}` | {p.kind} | {default} | {p.doc}.{choices} |")
        lines.append("")
    return "\n".join(lines)


#: the end of `nanomc template`: a [scan] section (nanomc.campaign.scan) whose lines are commented out
SCAN_TEMPLATE = """\
# A [scan] section turns this file into a scan: one campaign per point (docs/scans.md). Remove the
# "# " before the lines below to scan 3 sizes × 3 compositions.
# [scan]
# particle.atoms = [314, 586, 976]             # section.key = [values] of any [particle], [potential], [mc] key
# particle.composition.Au = [0.25, 0.5, 0.75]  # Cu follows: the others keep the sum at 1
# zip = false                                  # true: aligned lists (one point per position) instead of their product
# ranks_per_point = 1                          # MPI ranks per point
"""


def template_text() -> str:
    """An annotated parameter file with every key (defaults filled in, required keys as examples), and a
    commented-out [scan] section."""
    examples = {("particle", "composition"): "{ Au = 0.5, Cu = 0.5 }", ("particle", "atoms"): "1289",
                ("mc", "sweeps"): "1000", ("mc", "temperatures"): "[300.0, 600.0]"}
    out = []
    for section, params in SCHEMA.items():
        out.append(f"[{section}]")
        for key, p in params.items():
            out.append(f"# {p.doc}" + (f" ({' | '.join(p.choices)})" if p.choices else ""))
            if (section, key) in examples:
                out.append(f"{key} = {examples[(section, key)]}")
            elif p.default is None or p.default is REQUIRED:
                out.append(f"# {key} =")
            else:
                out.append(f"{key} = {toml_value(p.default)}")
        out.append("")
    return "\n".join(out) + "\n" + SCAN_TEMPLATE


def toml_value(value: Any) -> str:
    """A value of a parameter file (string, bool, number, list, table) as TOML text."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)   # a JSON string is a TOML basic string
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def toml_text(raw: dict, header: str = "") -> str:
    """A parameter file's text from its TOML dict (sections of tables of values), after `header` lines."""
    lines = [header] if header else []
    for section, values in raw.items():
        lines += ["", f"[{section}]"] + [f"{_toml_key(key)} = {toml_value(v)}" for key, v in values.items()]
    return "\n".join(lines).lstrip("\n") + "\n"
