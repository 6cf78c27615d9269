"""Parameter scans: one parameter file with a [scan] section -> many ordinary campaigns ("points").

[scan] lists values for keys of the other sections, as dotted keys:

    [scan]
    particle.atoms = [309, 561, 923]
    particle.composition.Au = [0.25, 0.5, 0.75]
    mc.temperatures = [[300.0, 600.0], [400.0, 800.0]]

The points are the product of the lists (first key slowest), or with `zip = true` the aligned
lists. Scanning one element of a composition whose fractions add up to 1 rescales the others to
keep the sum (Au = 0.25 in { Au = 0.5, Cu = 0.5 } gives Cu = 0.75); a whole table can be
scanned too (`particle.composition = [{ Au = 0.3, Cu = 0.7 }, ...]`).

Each point is written as `<output directory>/<name>/params.toml` (an ordinary parameter file
whose results go next to it, so it can be run, resumed or analysed on its own) and listed in
`<output directory>/scan.json`. `nanomc run scan.toml` runs the points in turn; under
`mpirun -n K` the ranks form K / ranks_per_point groups and each group runs whole points, in
scan order (replica exchange and pamc points spread their replicas or walkers over the group's
ranks). Points are dealt to groups before the run so that their estimated costs balance: the
costliest first, each to the least loaded group. Every point's results are the same bit for
bit as running it alone.
"""
from __future__ import annotations

import copy
import difflib
import itertools
import json
import math
import os
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

from ..errors import NanomcError
from ..mc.parallel import on_every_rank, world
from ..mc.starts import start_count
from ..outputs import replace_text
from ..potential.store import SHIPPED_POTENTIALS, potential_path
from .output import CampaignError, format_duration
from .replica import run_campaign
from .schema import SCHEMA, ConfigError, locate, read_toml, toml_text, validate

SCAN_FORMAT = "nanomc-scan"
SCAN_VERSION = 1
#: keys of [scan] that are options, not scanned keys
OPTIONS = {"zip": bool, "ranks_per_point": int}
#: table-valued keys whose single entries can be scanned (particle.composition.Au)
TABLE_KINDS = ("table",)


@dataclass
class Point:
    """One campaign of a scan: its name (also its directory), the scanned values, its parameters."""

    name: str
    values: dict[str, Any]     # dotted key -> value
    config: dict               # validated
    text: str                  # its params.toml

    def chains(self) -> int:
        """Replicas (temperatures × starts), walkers (pamc: × starts) or starts (anneal): the most ranks the point
        can use."""
        mc = self.config["mc"]
        if mc["ensemble"] == "pamc":
            return mc["walkers"] * start_count(mc["starts"])
        return start_count(mc["starts"]) * (1 if mc["ensemble"] == "anneal" else len(mc["temperatures"]))

    def cost(self) -> float:
        """A relative cost for dealing points to rank groups: chains × sweeps × steps × atoms (or the
        cube of `size`)."""
        p, mc = self.config["particle"], self.config["mc"]
        size = p["atoms"] or (3 * p["cations"] if p["cations"] else None) or (p["size"] or 1) ** 3
        steps = len(mc["temperatures"]) if mc["ensemble"] == "pamc" else 1
        return float(self.chains() * mc["sweeps"] * steps * size)


@dataclass
class Scan:
    """A validated scan: its file, output directory, options and points."""

    path: Path
    directory: Path
    variables: list[str]
    points: list[Point]
    ranks_per_point: int

    def point_directory(self, point: Point) -> Path:
        return self.directory / point.name


def is_scan(path: str | Path) -> bool:
    """True if the parameter file parses as TOML and has a [scan] section."""
    try:
        return "scan" in tomllib.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def load_scan(path: str | Path) -> Scan:
    """Read a scan parameter file, expand it and validate every point; ConfigError (file:line, key)
    on the first problem, naming the point for a problem of one point."""
    path = Path(path)
    raw, text = read_toml(path)
    name = str(path)
    scan = raw.pop("scan", None)

    def fail(key: str | None, message: str) -> ConfigError:
        return ConfigError(f"{locate(name, text, 'scan', key)}: {message}")

    if not isinstance(scan, dict):
        raise ConfigError(f"{name}: a scan needs a [scan] table of keys and their values")
    for section, value in raw.items():
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: `{section}` must be a [{section}] table")
    options = {k: scan.pop(k) for k in list(scan) if k in OPTIONS}
    for key, kind in OPTIONS.items():
        if key in options and type(options[key]) is not kind:
            raise fail(key, f"`{key}` in [scan] must be {'true or false' if kind is bool else 'an integer'}, "
                            f"got {options[key]!r}")
    ranks_per_point = options.get("ranks_per_point", 1)
    if ranks_per_point < 1:
        raise fail("ranks_per_point", f"`ranks_per_point` must be at least 1, got {ranks_per_point}")
    variables = _scanned_keys(scan, fail)
    if not variables:
        raise fail(None, "[scan] lists no keys to scan; give e.g. `particle.atoms = [309, 561]`")
    keys, lists = [k for k, _ in variables], [v for _, v in variables]
    if options.get("zip"):
        if len({len(v) for v in lists}) > 1:
            raise fail("zip", "with zip = true every scanned list must have the same length, got "
                       + ", ".join(f"{'.'.join(k)}: {len(v)}" for k, v in variables))
        combos = list(zip(*lists))
    else:
        combos = list(itertools.product(*lists))
    output = raw.get("output", {})
    output = output.get("directory", SCHEMA["output"]["directory"].default) if isinstance(output, dict) else None
    if not isinstance(output, str):
        raise ConfigError(f"{locate(name, text, 'output', 'directory')}: `directory` in [output] must be a string")
    dotted = [".".join(k) for k in keys]
    base, labels = path.parent, list(short_labels(dotted).values())
    directory = base / output
    points: dict[str, Point] = {}
    for combo in combos:
        values = dict(zip(dotted, combo))
        point_name = "_".join(f"{label}={_format(v)}" for label, v in zip(labels, combo))
        if point_name in points:
            raise fail(None, f"two points have the same name {point_name!r}: scanned values must differ")
        point_raw = copy.deepcopy(raw)
        for key, value in zip(keys, combo):
            _apply(point_raw, key, value)
        point_raw.setdefault("output", {})["directory"] = "."
        _relocate_files(point_raw, base, directory / point_name)
        try:
            config = validate(copy.deepcopy(point_raw), text, name)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (scan point {point_name})") from None
        header = f"# point {point_name} of the scan {path.resolve()}; written by `nanomc run`, which rewrites it"
        points[point_name] = Point(point_name, values, config, toml_text(point_raw, header))
    return Scan(path, directory, dotted, list(points.values()), ranks_per_point)


def _scanned_keys(scan: dict, fail) -> list[tuple[tuple[str, ...], list]]:
    """The dotted keys of [scan] with their lists of values, checked against the schema."""
    found = []

    def walk(prefix: tuple[str, ...], table: dict) -> None:
        for key, value in table.items():
            parts = prefix + tuple(key.split("."))  # a quoted "particle.size" means particle.size
            if isinstance(value, dict):
                walk(parts, value)
            else:
                found.append((parts, value))

    walk((), scan)
    seen = set()
    for key, values in found:
        dotted = ".".join(key)
        if dotted in seen:
            raise fail(dotted, f"[scan] key `{dotted}` is given twice")
        seen.add(dotted)
        section, rest = key[0], key[1:]
        if section not in SCHEMA or section == "output":
            known = ", ".join(s for s in SCHEMA if s != "output")
            raise fail(dotted, f"[scan] key `{dotted}` must be `section.key` with a section of {known} "
                               f"(or an option: {', '.join(OPTIONS)})")
        if not rest or rest[0] not in SCHEMA[section]:
            hint = difflib.get_close_matches(rest[0], SCHEMA[section], 1) if rest else []
            raise fail(dotted, f"[scan] key `{dotted}`: [{section}] has no key `{rest[0] if rest else ''}`"
                       + (f" (did you mean `{section}.{hint[0]}`?)" if hint else ""))
        kind = SCHEMA[section][rest[0]].kind
        if len(rest) > (2 if kind in TABLE_KINDS else 1):
            raise fail(dotted, f"[scan] key `{dotted}` is not a key of [{section}]")
        if not isinstance(values, list) or not values:
            raise fail(dotted, f"[scan] `{dotted}` must be a non-empty list of the values to scan, got {values!r}")
    return found


def short_labels(variables: list[str]) -> dict[str, str]:
    """Labels of scanned variables (dotted keys), in point names, tables and legends: each key's last
    part, or the whole dotted key where two keys share their last part."""
    last = [v.rsplit(".", 1)[-1] for v in variables]
    return {v: (s if last.count(s) == 1 else v) for v, s in zip(variables, last)}


def _format(value: Any) -> str:
    """A scanned value as part of a directory name."""
    if isinstance(value, dict):
        return "-".join(f"{k}{_format(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "-".join(_format(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("/", "-").replace(" ", "-")


def _apply(raw: dict, key: tuple[str, ...], value: Any) -> None:
    """Set a scanned value in a parameter dict; an element of a composition whose fractions add up
    to 1 rescales the other elements to keep the sum."""
    section = raw.setdefault(key[0], {})
    if len(key) == 2:
        section[key[1]] = value
        return
    table = dict(section.get(key[1]) or {})
    others = {e: v for e, v in table.items() if e != key[2]}
    fractions = all(isinstance(v, float) for v in table.values())
    if key[1] == "composition" and fractions and others and isinstance(value, float) and math.isclose(
            sum(table.values()), 1.0) and sum(others.values()) > 0 and value <= 1.0:
        scale = (1.0 - value) / sum(others.values())
        table = {e: (value if e == key[2] else v * scale) for e, v in {**table, key[2]: value}.items()}
    else:
        table[key[2]] = value
    section[key[1]] = table


def _relocate_files(raw: dict, base: Path, point_directory: Path) -> None:
    """Paths in a parameter file are relative to it: rewrite them for a file in point_directory."""
    for section, key in (("potential", "file"), ("particle", "file")):
        value = raw.get(section, {}).get(key)
        if isinstance(value, str) and not (section == "potential" and value in SHIPPED_POTENTIALS):
            raw[section][key] = os.path.relpath(base / value, point_directory)


def _check_files(scan: Scan, point: Point) -> None:
    """CampaignError (one line) if the potential file of a scan point, or its particle file when the
    particle is read from one, does not exist: found before any point runs, not when that point starts."""
    directory = scan.point_directory(point)
    files = [("potential file", potential_path(point.config["potential"]["file"], directory))]
    particle = point.config["particle"]
    if particle["shape"] == "file" and particle["file"]:
        files.append(("particle file", Path(os.path.normpath(directory / particle["file"]))))
    for what, path in files:
        if not path.is_file():
            raise CampaignError(f"{scan.path}: scan point {point.name}: {what} {path} not found")


def _finished(results: Path, text: str) -> bool:
    """True if a point's results file is complete and was made with exactly these parameters."""
    try:
        with h5py.File(results, "r") as f:
            return bool(f.attrs.get("complete")) and f.attrs.get("parameters") == text
    except OSError:
        return False


def _groups(points: list[Point], n_groups: int) -> list[list[int]]:
    """Point indices (ascending) per rank group: dealt costliest first, each to the least loaded group
    (ties: the lowest), by Point.cost."""
    load = [0.0] * n_groups
    assigned: list[list[int]] = [[] for _ in range(n_groups)]
    for k in sorted(range(len(points)), key=lambda k: -points[k].cost()):
        g = min(range(n_groups), key=lambda g: (load[g], g))
        assigned[g].append(k)
        load[g] += points[k].cost()
    return [sorted(a) for a in assigned]


@dataclass
class PointOutcome:
    """What happened to one point: finished before, ran (started or resumed), or failed."""

    name: str
    status: str          # "finished before", "ran", "resumed", "failed"
    seconds: float
    error: str = ""


def write_index(scan: Scan) -> None:
    """scan.json and every point's params.toml in the scan's directory (atomically replaced)."""
    scan.directory.mkdir(parents=True, exist_ok=True)
    index = {"format": SCAN_FORMAT, "version": SCAN_VERSION, "parameter_file": str(scan.path.resolve()),
             "variables": scan.variables,
             "points": [{"name": p.name, "directory": p.name, "values": p.values} for p in scan.points]}
    for point in scan.points:
        directory = scan.point_directory(point)
        directory.mkdir(exist_ok=True)
        replace_text(directory / "params.toml", point.text)
    replace_text(scan.directory / "scan.json", json.dumps(index, indent=1) + "\n")


def run_scan(path: str | Path | Scan, resume: bool = False, overwrite: bool = False, quiet: bool = False,
             comm=None) -> list[PointOutcome] | None:
    """Run (or continue) every point of a scan parameter file (or of its load_scan); the outcomes on
    rank 0, None elsewhere.

    Everything is checked before anything is written. A point with results is refused unless
    --resume (finished points are skipped, others continue from their checkpoint) or --overwrite.
    A point that fails is reported and the others go on.
    """
    comm = comm or world()
    scan = path if isinstance(path, Scan) else load_scan(path)
    if resume and overwrite:
        raise CampaignError("give --resume or --overwrite, not both")
    size, per = comm.size, scan.ranks_per_point
    if size % per:
        raise CampaignError(f"{size} MPI ranks do not split into groups of ranks_per_point = {per}; use a multiple "
                            f"of {per} ranks")
    narrow = [p for p in scan.points if p.chains() < per]
    if narrow:
        raise CampaignError(f"scan point {narrow[0].name} has {narrow[0].chains()} replicas or walkers, fewer than "
                            f"ranks_per_point = {per}")
    for point in scan.points:
        _check_files(scan, point)
    started = [p for p in scan.points if (scan.point_directory(p) / "results.h5").exists()]
    if started and not (resume or overwrite):
        raise CampaignError(f"{scan.point_directory(started[0]) / 'results.h5'} exists ({len(started)} of "
                            f"{len(scan.points)} points have results); use --resume to continue the scan (finished "
                            "points are not rerun) or --overwrite to replace them")
    if comm.rank == 0:
        write_index(scan)
    comm.Barrier()
    n_groups = size // per
    group = comm.rank // per
    sub = comm if n_groups == 1 else comm.Split(group, comm.rank)
    mine = _groups(scan.points, n_groups)[group]
    talk = not quiet and sub.rank == 0
    outcomes = []
    for k in mine:
        point = scan.points[k]
        if talk and n_groups > 1:
            print(f"scan point {k + 1}/{len(scan.points)} {point.name}: rank group {group} starts it", file=sys.stderr,
                  flush=True)
        outcomes.append(_run_point(scan, point, resume, overwrite, quiet or n_groups > 1, sub))
        if talk:
            o = outcomes[-1]
            detail = f": {o.error}" if o.error else f" in {format_duration(o.seconds)}" if o.seconds else ""
            print(f"scan point {k + 1}/{len(scan.points)} {point.name}: {o.status}{detail}", file=sys.stderr,
                  flush=True)
    gathered = on_every_rank(comm, "the scan", lambda: outcomes if sub.rank == 0 else [])
    if comm.rank != 0:
        return None
    by_name = {o.name: o for part in gathered for o in part}
    return [by_name[p.name] for p in scan.points]


def _run_point(scan: Scan, point: Point, resume: bool, overwrite: bool, quiet: bool, comm) -> PointOutcome:
    """Run one point on `comm` (all ranks of a group); a failure becomes the outcome's error."""
    params = scan.point_directory(point) / "params.toml"
    results = params.parent / "results.h5"
    t0 = time.monotonic()
    if resume and _finished(results, point.text):
        return PointOutcome(point.name, "finished before", 0.0)
    again = resume and results.exists()
    try:
        run_campaign(params, resume=again, overwrite=overwrite, quiet=quiet, comm=comm)
    except Exception as exc:  # reported with the point's name; the other points go on
        message = str(exc) if isinstance(exc, NanomcError) else f"{type(exc).__name__}: {exc}"
        return PointOutcome(point.name, "failed", time.monotonic() - t0, message)
    return PointOutcome(point.name, "resumed" if again else "ran", time.monotonic() - t0)


def describe_scan(outcomes: list[PointOutcome], directory: Path) -> str:
    """A summary: per point its status and time; where the results and the index are."""
    width = max(len(o.name) for o in outcomes)
    lines = [f"{len(outcomes)} points in {directory} (index: scan.json; `nanomc analyze {directory}`)"]
    for o in outcomes:
        lines.append(f"  {o.name:{width}s}  {o.status:15s} {format_duration(o.seconds) if o.seconds else '':>8s}"
                     + (f"  {o.error}" if o.error else ""))
    return os.linesep.join(lines)
