"""Read potentials trained with n2p2 (input.nn, scaling.data, weights.ZZZ.data) into a Potential.

Written from n2p2's documentation and file formats (https://compphysvienna.github.io/n2p2/):

- input.nn: one keyword per line, arguments separated by blanks, "#" starts a comment.
  Elements are ordered by atomic number. Symmetry functions (`symfunction_short`):
      <ec> 2 <e1> <η> <r_s> <r_c>                          radial
      <ec> 3 <e1> <e2> <η> <λ> <ζ> <r_c> [<r_s>]            angular, narrow (with R_jk)
      <ec> 9 <e1> <e2> <η> <λ> <ζ> <r_c> [<r_s>]            angular, wide (without R_jk)
  All use the cutoff function `cutoff_type <n> [<α>]` with their own r_c. Per element they
  are sorted by (type, r_c, η, r_s, ζ, λ, e1, e2) (elements as indices in atomic-number order,
  e1 ≤ e2); that order is the order of the network inputs and of scaling.data.
- scaling.data: per element (in order) and symmetry function (in sorted order) a line
  "<element index> <function index> <G_min> <G_max> <G_mean> [<σ>]" (1-based indices).
  `scale_symmetry_functions` gives S_min + (S_max − S_min)(G − G_min)/(G_max − G_min),
  `center_symmetry_functions` G − G_mean, both S_min + (S_max − S_min)(G − G_mean)/(G_max − G_min),
  `scale_symmetry_functions_sigma` S_min + (S_max − S_min)(G − G_mean)/σ; S_min, S_max from
  `scale_min_short`, `scale_max_short` (default 0, 1).
- weights.ZZZ.data (ZZZ = atomic number): one value per line, first column, layer by layer:
  the weights a(from neuron i of layer l to neuron j of layer l+1), i outer and j inner, then
  the biases b of layer l+1. Layers from `global_hidden_layers_short`, `global_nodes_short`,
  `global_activation_short` (l linear, t tanh, s logistic, p softplus, r relu, g gaussian,
  c cos, S 1 − logistic, e exp(−x), h x²); `normalize_nodes` divides each neuron's input sum by
  the number of inputs.
- Energy: E = Σ_i [NN(G_i)/conv_energy + mean_energy + atom_energy(e_i)] when the
  normalisation keywords `mean_energy`, `conv_energy`, `conv_length` are given (conv_length
  does not change energies: n2p2 converts positions and symmetry-function parameters alike).

The result is expressed in Å and eV: η/L², r_s·L, r_c·L with L = `length_unit` (Å per file
unit); network output and reference energies times U = `energy_unit` (eV per file unit).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import units
from ase.data import atomic_numbers

from ..errors import PotentialError, PotentialFileError
from .descriptors import CUTOFF_KINDS, CUTOFF_KINDS_WITHOUT_ALPHA, AngularFunction, CutoffFunction, DescriptorSet, RadialFunction
from .network import Layer, Network

#: named length units: size in Å
LENGTH_UNITS = {"angstrom": 1.0, "bohr": units.Bohr, "nm": 10.0}
#: named energy units: size in eV
ENERGY_UNITS = {"ev": 1.0, "hartree": units.Hartree, "rydberg": units.Rydberg, "kcal/mol": units.kcal / units.mol,
                "kj/mol": units.kJ / units.mol}
#: n2p2 activation letters -> nanomc activations
ACTIVATION_LETTERS = {"l": "linear", "t": "tanh", "s": "sigmoid", "p": "softplus", "r": "relu", "g": "gaussian",
                      "c": "cos", "S": "revsigmoid", "e": "exp", "h": "harmonic"}
#: symmetry-function types this reader converts
SUPPORTED_TYPES = {2: "radial", 3: "narrow", 9: "wide"}
#: keywords that define something this reader does not convert
UNSUPPORTED_KEYWORDS = {
    "element_hidden_layers_short": "per-element network topologies are not supported",
    "element_nodes_short": "per-element network topologies are not supported",
    "element_activation_short": "per-element network topologies are not supported",
}
#: keywords that may appear several times
REPEATABLE = {"symfunction_short", "symfunction", "atom_energy"}


@dataclass(frozen=True)
class _Line:
    """One keyword line of input.nn: 1-based line number, keyword, arguments."""

    number: int
    keyword: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class _SymFunc:
    """One symmetry function as written in input.nn (file units)."""

    line: int
    central: str
    type: int
    neighbors: tuple[str, ...]
    eta: float
    rs: float
    rc: float
    lam: float = 0.0
    zeta: float = 0.0


class _Reader:
    """Reports problems as PotentialFileError("<file>:<line>: <reason>")."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, line: int | None, reason: str) -> PotentialFileError:
        where = f"{self.path}:{line}" if line else f"{self.path}"
        return PotentialFileError(f"{where}: {reason}")

    def number(self, text: str, line: int, what: str, kind: type = float):
        """Parse a float (or int) argument; error names the line and what was expected."""
        try:
            value = kind(text)
        except ValueError:
            raise self.fail(line, f"{what} must be {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if kind is float and not np.isfinite(value):
            raise self.fail(line, f"{what} must be finite, got {text!r}")
        return value

    def data_lines(self) -> list[tuple[int, list[str]]]:
        """(line number, fields) of every line that is neither blank nor a comment."""
        if not self.path.is_file():
            raise self.fail(None, "file not found")
        out = []
        with open(self.path) as f:
            for number, text in enumerate(f, start=1):
                fields = text.split("#", 1)[0].split()
                if fields:
                    out.append((number, fields))
        return out


def _unit(value: float | str, table: dict, what: str) -> float:
    """A unit given as a number or a name of `table`."""
    if isinstance(value, str):
        if value.lower() in table:
            return float(table[value.lower()])
        try:
            value = float(value)
        except ValueError:
            raise PotentialError(f"unknown {what} unit {value!r} (known: {', '.join(table)}, or a number)") from None
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise PotentialError(f"{what} unit must be a positive number, got {value}")
    return value


def _read_settings(reader: _Reader) -> dict[str, list[_Line]]:
    """input.nn as keyword -> lines; repeated single keywords and unsupported ones are errors."""
    settings: dict[str, list[_Line]] = {}
    for number, fields in reader.data_lines():
        keyword = "symfunction_short" if fields[0] == "symfunction" else fields[0]
        if keyword in UNSUPPORTED_KEYWORDS:
            raise reader.fail(number, f"{keyword}: {UNSUPPORTED_KEYWORDS[keyword]}")
        if keyword in settings and keyword not in REPEATABLE:
            raise reader.fail(number, f"keyword {keyword} given twice (first on line {settings[keyword][0].number})")
        settings.setdefault(keyword, []).append(_Line(number, keyword, tuple(fields[1:])))
    return settings


def _single(reader: _Reader, settings: dict, keyword: str, n_args: int | None = None,
            required: bool = True) -> _Line | None:
    """The line of a keyword that appears once; checks the number of arguments if given."""
    if keyword not in settings:
        if required:
            raise reader.fail(None, f"keyword {keyword} is missing")
        return None
    line = settings[keyword][0]
    if n_args is not None and len(line.args) != n_args:
        raise reader.fail(line.number, f"{keyword} needs {n_args} argument(s), got {len(line.args)}")
    return line


def _elements(reader: _Reader, settings: dict) -> list[str]:
    """Element symbols sorted by atomic number (n2p2's order)."""
    count = _single(reader, settings, "number_of_elements", 1)
    n = reader.number(count.args[0], count.number, "number_of_elements", int)
    line = _single(reader, settings, "elements")
    if len(line.args) != n or len(set(line.args)) != n:
        raise reader.fail(line.number, f"elements lists {len(set(line.args))} distinct symbols, "
                                       f"number_of_elements (line {count.number}) says {n}")
    for symbol in line.args:
        if symbol not in atomic_numbers or symbol == "X":
            raise reader.fail(line.number, f"unknown element symbol {symbol!r}")
    return sorted(line.args, key=lambda s: atomic_numbers[s])


def _check_element(reader: _Reader, symbol: str, elements: list[str], line: int) -> str:
    if symbol not in elements:
        raise reader.fail(line, f"element {symbol!r} is not in the elements list ({' '.join(elements)})")
    return symbol


def _cutoff(reader: _Reader, settings: dict) -> tuple[str, float]:
    """(cutoff kind, α) from `cutoff_type <n> [<α>]`."""
    line = _single(reader, settings, "cutoff_type")
    if len(line.args) not in (1, 2):
        raise reader.fail(line.number, f"cutoff_type needs 1 or 2 arguments, got {len(line.args)}")
    kind = reader.number(line.args[0], line.number, "cutoff_type", int)
    if not 0 <= kind < len(CUTOFF_KINDS):
        raise reader.fail(line.number, f"cutoff_type {kind} is not supported (supported: 0 to {len(CUTOFF_KINDS) - 1})")
    alpha = reader.number(line.args[1], line.number, "cutoff alpha") if len(line.args) == 2 else 0.0
    if not 0.0 <= alpha < 1.0:
        raise reader.fail(line.number, f"cutoff alpha must satisfy 0 <= alpha < 1, got {alpha}")
    name = CUTOFF_KINDS[kind]
    return name, 0.0 if name in CUTOFF_KINDS_WITHOUT_ALPHA else alpha


def _symmetry_function(reader: _Reader, line: _Line, elements: list[str]) -> _SymFunc:
    """Parse one symfunction_short line (types 2, 3, 9)."""
    args = line.args
    if len(args) < 2:
        raise reader.fail(line.number, "symfunction_short needs an element and a type")
    central = _check_element(reader, args[0], elements, line.number)
    sf_type = reader.number(args[1], line.number, "symmetry function type", int)
    if sf_type not in SUPPORTED_TYPES:
        raise reader.fail(line.number, f"symmetry function type {sf_type} is not supported "
                                       f"(supported: {', '.join(map(str, SUPPORTED_TYPES))})")
    if sf_type == 2:
        if len(args) != 6:
            raise reader.fail(line.number, f"type 2 needs 6 fields (<ec> 2 <e1> <eta> <rs> <rc>), got {len(args)}")
        nb = (_check_element(reader, args[2], elements, line.number),)
        eta, rs, rc = (reader.number(x, line.number, name) for x, name in zip(args[3:6], ("eta", "rs", "rc")))
        lam = zeta = 0.0
    else:
        if len(args) not in (8, 9):
            raise reader.fail(line.number, f"type {sf_type} needs 8 or 9 fields "
                                           f"(<ec> {sf_type} <e1> <e2> <eta> <lambda> <zeta> <rc> [<rs>]), got {len(args)}")
        nb = tuple(sorted((_check_element(reader, a, elements, line.number) for a in args[2:4]), key=elements.index))
        eta, lam, zeta, rc = (reader.number(x, line.number, name)
                              for x, name in zip(args[4:8], ("eta", "lambda", "zeta", "rc")))
        rs = reader.number(args[8], line.number, "rs") if len(args) == 9 else 0.0
        if lam not in (-1.0, 1.0):
            raise reader.fail(line.number, f"lambda {lam} is not supported (only +1 and -1)")
        if zeta < 1.0:
            raise reader.fail(line.number, f"zeta {zeta} is not supported (needs zeta >= 1)")
    if not (eta >= 0.0 and rs >= 0.0 and rc > 0.0):
        raise reader.fail(line.number, f"needs eta >= 0, rs >= 0 and rc > 0, got eta {eta}, rs {rs}, rc {rc}")
    return _SymFunc(line.number, central, sf_type, nb, eta, rs, rc, lam, zeta)


def _sort_key(f: _SymFunc, elements: list[str]) -> tuple:
    """n2p2's order of the symmetry functions of one element."""
    nb = tuple(elements.index(e) for e in f.neighbors)
    if f.type == 2:
        return (f.type, f.rc, f.eta, f.rs, nb)
    return (f.type, f.rc, f.eta, f.rs, f.zeta, f.lam, nb)


def _symmetry_functions(reader: _Reader, settings: dict, elements: list[str]) -> dict[str, list[_SymFunc]]:
    """Per element its symmetry functions in n2p2's order; duplicates are errors."""
    per: dict[str, list[_SymFunc]] = {e: [] for e in elements}
    for line in settings.get("symfunction_short", []):
        f = _symmetry_function(reader, line, elements)
        per[f.central].append(f)
    for e in elements:
        if not per[e]:
            raise reader.fail(None, f"element {e} has no symmetry functions (symfunction_short)")
        per[e].sort(key=lambda f: _sort_key(f, elements))
        for a, b in zip(per[e], per[e][1:]):
            if _sort_key(a, elements) == _sort_key(b, elements):
                raise reader.fail(b.line, f"duplicate symmetry function (same as line {a.line})")
    return per


def _descriptor_set(funcs: list[_SymFunc], kind: str, alpha: float, length: float) -> DescriptorSet:
    """The nanomc functions of one element, in Å (η/L², r_s·L, r_c·L)."""
    radial, angular = [], []
    for f in funcs:
        cutoff = CutoffFunction(kind, f.rc * length, alpha)
        eta, rs = f.eta / length**2, f.rs * length
        if f.type == 2:
            radial.append(RadialFunction(eta, rs, f.neighbors[0], cutoff))
        else:
            angular.append(AngularFunction(eta, f.zeta, f.lam, f.neighbors, rs, SUPPORTED_TYPES[f.type], cutoff))
    return DescriptorSet(tuple(radial), tuple(angular))


def _scaling_mode(settings: dict) -> str:
    """n2p2's scaling type from the keywords present (its precedence)."""
    scale, center = "scale_symmetry_functions" in settings, "center_symmetry_functions" in settings
    if scale:
        return "scalecenter" if center else "scale"
    if center:
        return "center"
    return "sigma" if "scale_symmetry_functions_sigma" in settings else "none"


def _scaling(reader: _Reader, settings: dict, path: Path, per: dict[str, list[_SymFunc]],
             elements: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per element (shift, factor) such that nanomc's (G − shift)·factor is n2p2's scaled G."""
    mode = _scaling_mode(settings)
    if mode == "none":
        return {e: (np.zeros(len(per[e])), np.ones(len(per[e]))) for e in elements}
    smin, smax = 0.0, 1.0
    for keyword in ("scale_min_short", "scale_max_short"):
        line = _single(reader, settings, keyword, 1, required=False)
        if line is not None:
            value = reader.number(line.args[0], line.number, keyword)
            smin, smax = (value, smax) if keyword == "scale_min_short" else (smin, value)
    if smax == smin and mode != "center":
        raise reader.fail(None, f"scale_min_short equals scale_max_short ({smin}): scaling is degenerate")
    data = _Reader(path)
    rows = iter(data.data_lines())
    out = {}
    for k, e in enumerate(elements):
        shift, factor = np.zeros(len(per[e])), np.ones(len(per[e]))
        for m in range(len(per[e])):
            number, fields = next(rows, (None, None))
            if number is None:
                raise data.fail(None, f"truncated: no line for symmetry function {m + 1} of {e} "
                                      f"(expected {len(per[e])} for {e})")
            shift[m], factor[m] = _scaling_row(data, number, fields, (k + 1, m + 1), mode, smin, smax)
        out[e] = (shift, factor)
    extra = next(rows, None)
    if extra is not None:
        raise data.fail(extra[0], f"more lines than symmetry functions ({sum(len(v) for v in per.values())})")
    return out


def _scaling_row(data: _Reader, number: int, fields: list[str], expect: tuple[int, int], mode: str,
                 smin: float, smax: float) -> tuple[float, float]:
    """(shift, factor) of one scaling.data line; checks its indices and its statistics."""
    if len(fields) < (6 if mode == "sigma" else 5):
        raise data.fail(number, f"needs {'6' if mode == 'sigma' else '5 or 6'} fields "
                                f"(element, function, min, max, mean[, sigma]), got {len(fields)}")
    indices = tuple(data.number(x, number, "index", int) for x in fields[:2])
    if indices != expect:
        raise data.fail(number, f"expected element {expect[0]} function {expect[1]}, found {indices[0]} {indices[1]}")
    gmin, gmax, gmean = (data.number(x, number, name) for x, name in zip(fields[2:5], ("min", "max", "mean")))
    if mode == "center":
        return gmean, 1.0
    width = data.number(fields[5], number, "sigma") if mode == "sigma" else gmax - gmin
    if not width > 0.0:
        raise data.fail(number, f"symmetry function {expect[1]} has {'sigma' if mode == 'sigma' else 'max - min'} "
                                f"{width}: cannot scale")
    factor = (smax - smin) / width
    # S_min + factor (G − G_ref) = (G − shift) · factor
    return (gmin if mode == "scale" else gmean) - smin / factor, factor


def _layers(reader: _Reader, settings: dict) -> tuple[list[int], list[str]]:
    """Hidden-layer widths and activations (hidden layers, then output)."""
    n_line = _single(reader, settings, "global_hidden_layers_short", 1)
    n_hidden = reader.number(n_line.args[0], n_line.number, "global_hidden_layers_short", int)
    nodes = _single(reader, settings, "global_nodes_short", n_hidden)
    widths = [reader.number(x, nodes.number, "number of nodes", int) for x in nodes.args]
    if any(w < 1 for w in widths):
        raise reader.fail(nodes.number, f"layer widths must be positive, got {widths}")
    act = _single(reader, settings, "global_activation_short", n_hidden + 1)
    for letter in act.args:
        if letter not in ACTIVATION_LETTERS:
            raise reader.fail(act.number, f"activation {letter!r} is not supported "
                                          f"(supported: {' '.join(ACTIVATION_LETTERS)})")
    if act.args[-1] != "l":
        raise reader.fail(act.number, f"output activation {act.args[-1]!r} is not supported (only l)")
    return widths, [ACTIVATION_LETTERS[x] for x in act.args]


def _network(path: Path, sizes: list[int], activations: list[str], normalize_nodes: bool) -> Network:
    """Read weights.ZZZ.data for layer sizes [n_in, hidden..., 1]; checks every index column."""
    data = _Reader(path)
    rows = iter(data.data_lines())
    expected = sum((sizes[k] + 1) * sizes[k + 1] for k in range(len(sizes) - 1))
    count = 0
    last = 0

    def value(ident: tuple) -> float:
        nonlocal count, last
        number, fields = next(rows, (None, None))
        if number is None:
            raise data.fail(None, f"truncated: {count} values after line {last}, the network needs {expected}")
        count, last = count + 1, number
        x = data.number(fields[0], number, "weight")
        if len(fields) > 1:
            found = (fields[1], *(data.number(f, number, "index", int) for f in fields[3:]))
            want = (ident[0], *ident[1:])
            if found != want or data.number(fields[2], number, "index", int) != count:
                raise data.fail(number, f"expected {' '.join(map(str, want))} (value {count}), "
                                        f"found {' '.join(fields[1:])}")
        return x

    layers = []
    for k in range(len(sizes) - 1):
        n_in, n_out = sizes[k], sizes[k + 1]
        w = np.empty((n_out, n_in))
        for i in range(n_in):
            for j in range(n_out):
                w[j, i] = value(("a", k, i + 1, k + 1, j + 1))
        b = np.array([value(("b", k + 1, j + 1)) for j in range(n_out)])
        if normalize_nodes:
            w, b = w / n_in, b / n_in
        layers.append(Layer(w, b, activations[k]))
    extra = next(rows, None)
    if extra is not None:
        raise data.fail(extra[0], f"more values than the network has ({expected})")
    return Network(layers)


def _energy_terms(reader: _Reader, settings: dict, elements: list[str]) -> tuple[float, float, dict[str, float]]:
    """(mean energy per atom, energy conversion factor, atom_energy per element), file units."""
    present = [k for k in ("mean_energy", "conv_energy", "conv_length") if k in settings]
    mean, conv = 0.0, 1.0
    if present and len(present) != 3:
        line = settings[present[0]][0]
        raise reader.fail(line.number, "normalisation needs all of mean_energy, conv_energy and conv_length")
    if present:
        mean_line = _single(reader, settings, "mean_energy", 1)
        conv_line = _single(reader, settings, "conv_energy", 1)
        mean = reader.number(mean_line.args[0], mean_line.number, "mean_energy")
        conv = reader.number(conv_line.args[0], conv_line.number, "conv_energy")
        if conv == 0.0:
            raise reader.fail(conv_line.number, "conv_energy must not be 0")
    offsets = {e: 0.0 for e in elements}
    for line in settings.get("atom_energy", []):
        if len(line.args) != 2:
            raise reader.fail(line.number, f"atom_energy needs 2 arguments (element, energy), got {len(line.args)}")
        offsets[_check_element(reader, line.args[0], elements, line.number)] = reader.number(
            line.args[1], line.number, "atom_energy")
    return mean, conv, offsets


def read_n2p2(directory: str | Path, length_unit: float | str = 1.0, energy_unit: float | str = 1.0):
    """Potential from an n2p2 directory (input.nn, scaling.data, weights.ZZZ.data).

    length_unit: Å per length unit of the files (a number, or "angstrom", "bohr", "nm");
    energy_unit: eV per energy unit of the files (a number, or "eV", "hartree", "rydberg",
    "kcal/mol", "kJ/mol"). Raises PotentialFileError "<file>:<line>: <reason>" for a missing or
    truncated file, an unsupported symmetry-function type, keyword or value.
    """
    from .potential import Potential

    length = _unit(length_unit, LENGTH_UNITS, "length")
    energy = _unit(energy_unit, ENERGY_UNITS, "energy")
    directory = Path(directory)
    reader = _Reader(directory / "input.nn")
    settings = _read_settings(reader)
    nnp_type = _single(reader, settings, "nnp_type", 1, required=False)
    if nnp_type is not None and nnp_type.args[0] not in ("1", "2G-HDNNP"):
        raise reader.fail(nnp_type.number, f"nnp_type {nnp_type.args[0]} is not supported (only 2G-HDNNP)")
    elements = _elements(reader, settings)
    kind, alpha = _cutoff(reader, settings)
    per = _symmetry_functions(reader, settings, elements)
    widths, activations = _layers(reader, settings)
    mean, conv, offsets = _energy_terms(reader, settings, elements)
    scaling = _scaling(reader, settings, directory / "scaling.data", per, elements)
    normalize_nodes = "normalize_nodes" in settings
    dsets, nets = {}, {}
    for e in elements:
        dsets[e] = _descriptor_set(per[e], kind, alpha, length)
        net = _network(directory / f"weights.{atomic_numbers[e]:03d}.data", [len(per[e]), *widths, 1],
                       activations, normalize_nodes)
        out = net.layers[-1]  # NN output in normalised units: E = NN/conv_energy, in eV
        net.layers[-1] = Layer(out.weights * (energy / conv), out.bias * (energy / conv), out.activation)
        nets[e] = net
    cutoff = max(f.rc for funcs in per.values() for f in funcs) * length
    provenance = {"source": "n2p2", "directory": str(directory.resolve()), "length_unit_angstrom": length,
                  "energy_unit_eV": energy}
    try:
        return Potential(elements, cutoff, dsets, nets, scaling,
                         {e: (mean + offsets[e]) * energy for e in elements}, provenance)
    except PotentialError as exc:
        raise reader.fail(None, f"does not define a usable potential: {exc}") from None
