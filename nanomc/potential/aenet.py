"""Read potentials trained with aenet (one `.nn` file per element) into a Potential.

Written from aenet's sources (https://github.com/atomisticnet/aenet, MPL-2.0; nothing copied):
train.x stores, per element, a Fortran unformatted sequential file of three parts —

- network (feedforward.f90 save_Network): nlayers, nnodes_max, Wsize, nvalues; nnodes(1:nlayers),
  f_a(2:nlayers), iw(1:nlayers), iv(1:nlayers), W(1:Wsize). Layer l maps n_l inputs to n_{l+1}
  nodes with the column-major matrix reshape(W(iw(l)+1:iw(l+1)), [n_{l+1}, n_l + 1]) whose last
  column is the bias. Activations f_a: 0 linear, 1 tanh, 2 sigmoid 1/(1 + e^−x),
  3 "mtanh" 1.7159·tanh(2x/3), 4 "twist" 1.7159·tanh(2x/3) + 0.1·x (nanomc's twisted_tanh with
  a = 0 and a = 0.1; aenet writes 2/3 as 0.666666666666667, 5e-16 away).
- fingerprint setup (sfsetup.f90 save_Setup): description (1024 characters), atomtype, nenv,
  envtypes(1:nenv), Rc_min, Rc_max (Å), sftype ("Behler2011" or "Chebyshev"), nsf, nsfparam,
  sf(1:nsf), sfparam(1:nsfparam, 1:nsf), sfenv(1:2, 1:nsf) (1-based indices into envtypes),
  neval, sfval_min, sfval_max, sfval_avg, sfval_cov (each 1:nsf; cov is the mean of G²).
- training-set info (trainset.f90 save_TrnSet_info): file name, normalized, scale, shift, nTypes,
  typeName(1:nTypes), E_atom(1:nTypes) (eV), nAtomsTot, nStrucs, E_min, E_max, E_av.

Integers and logicals are 4 bytes (8 with -fdefault-integer-8: taken from the first record),
reals 8, strings fixed-length; record markers 4 bytes (gfortran, ifort) or 8 (old gfortran),
either byte order — all detected from the first record. The ASCII form (what aenet-PyTorch
writes, and its nnASCII2bin / aenet's load_NNPot_ASCII read) holds the same items in the same
order, read as Fortran list-directed input: every item starts a new line, arrays may continue
over lines, strings are the line's first word.

How aenet's predict.x turns coordinates into an energy (aenet.f90 aenet_atomic_energy):

    E_i = NN((G_i − avg)/σ) / scale + shift + E_atom(e_i),   σ = sqrt(cov − avg²)

with σ ≤ 1e-10 giving 0 instead of 1/σ (sfsetup.f90 stp_normalize; a variance that rounding
made negative by at most 1e-20 counts as 0, where aenet would take the root of it); predict.x's "cohesive
energy" is the total minus Σ E_atom. nanomc's Potential takes (shift, scale) = (avg, 1/σ), the
output layer's weights and bias divided by `scale`, and E0 = shift + E_atom.

Behler2011 functions (symmfunc.f90), each with its own cosine cutoff radius R_c
(f_c = ½[cos(πR/R_c) + 1]; aenet's π is 3.14159265358979, 1e-15 relative away):

    G1 = Σ_j f_c(R_ij)                                   → radial, η = 0, R_s = 0
    G2 = Σ_j exp(−η(R_ij − R_s)²) f_c(R_ij)              → radial
    G3 = Σ_j cos(κ R_ij) f_c(R_ij)                       → not expressible: error
    G4 = Σ_{j<k} 2·[½(1 + λcosθ)]^ζ exp(−η(R_ij² + R_ik² + R_jk²)) f_c(R_ij) f_c(R_ik) f_c(R_jk)
    G5 = the same without the R_jk factors

aenet sums each triplet once and doubles it, and 2·2^−ζ = 2^{1−ζ}: exactly nanomc's "narrow"
(G4) and "wide" (G5) with R_s = 0 — no conversion factor. The descriptor vector is not in the
order of the setup file: per neighbour type t2 (envtypes order) come its radial functions (G1s,
G2s, G3s), then for each t3 ≥ t2 the angular functions of the pair (t2, t3) (G4s, G5s), each
kind in file order (symmfunc.f90 sf_build_index); sfval_* and the network inputs use that
order. nanomc lists radial then angular functions and places each at its aenet position
(DescriptorSet.positions), so the network inputs and the scaling keep aenet's order.

Chebyshev basis (sfbasis.f90): sfparam(1:4, 1) = radial R_c, radial order, angular R_c, angular
order; the vector is radial T_0..T_n, angular T_0..T_m and, with more than one environment type,
the same again weighted by type spins. Spins are not stored: aenet gives envtypes(i) the i-th of
−⌊n/2⌋, …, ⌊n/2⌋ (0 left out when n is even), so the order of envtypes in the file decides them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from ..errors import PotentialError, PotentialFileError
from .descriptors import (AngularFunction, CutoffFunction, DescriptorSet, RadialFunction, aenet_type_spins,
                          chebyshev_descriptor_set)
from .network import Layer, Network

#: aenet activation codes (feedforward.f90 ff_activate) -> (nanomc activation, twist a)
ACTIVATION_CODES = {0: ("linear", 0.0), 1: ("tanh", 0.0), 2: ("sigmoid", 0.0), 3: ("twisted_tanh", 0.0),
                    4: ("twisted_tanh", 0.1)}
#: Behler2011 function kinds nanomc expresses: G -> "radial" or the angular variant
BEHLER_KINDS = {1: "radial", 2: "radial", 4: "narrow", 5: "wide"}
#: σ at or below this gives a zero input scale (sfsetup.f90 stp_normalize)
SIGMA_MIN = 1e-10


@dataclass(frozen=True)
class AenetFile:
    """The content of one aenet .nn file (file units: Å, eV), arrays in aenet's order.

    Network: `nodes` (layer widths incl. input and output), `activations` (aenet codes of layers
    2..n), `weights` (W). Setup: `sf` (function kinds), `sfparam` (nsf, nsfparam), `sfenv` (nsf, 2,
    1-based indices into `envtypes`), `sfval_*` (nsf; `sfval_cov` None in files written before
    aenet kept it). Training set: `scale`, `shift`, `type_names`, `e_atom` (eV) and statistics.
    """

    path: Path
    ascii: bool
    nodes: tuple[int, ...]
    activations: tuple[int, ...]
    weights: np.ndarray
    description: str
    atomtype: str
    envtypes: tuple[str, ...]
    rc_min: float
    rc_max: float
    sftype: str
    sf: np.ndarray
    sfparam: np.ndarray
    sfenv: np.ndarray
    neval: int
    sfval_min: np.ndarray
    sfval_max: np.ndarray
    sfval_avg: np.ndarray
    sfval_cov: np.ndarray | None
    trainset: str
    normalized: bool
    scale: float
    shift: float
    type_names: tuple[str, ...]
    e_atom: np.ndarray
    n_atoms_total: int
    n_structures: int
    e_min: float
    e_max: float
    e_avg: float

    def fail(self, reason: str) -> PotentialFileError:
        return PotentialFileError(f"{self.path}: {reason}")

    @property
    def basis(self) -> str:
        """"behler2011" or "chebyshev" (aenet compares sftype case-insensitively)."""
        return self.sftype.lower()


# ---------------------------------------------------------------------- binary records
class _Binary:
    """Typed reads of consecutive Fortran records; errors name the record and the item."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        self.records, self.order, self.int_size = self._split(data)
        self.next = 0

    def fail(self, reason: str) -> PotentialFileError:
        return PotentialFileError(f"{self.path}: {reason}")

    def _split(self, data: bytes) -> tuple[list[bytes], str, int]:
        """Records, byte order and integer size. The first layout (4-byte markers before 8,
        little-endian before big) that splits the whole file wins; a file that no layout splits
        is reported by the layout that got furthest."""
        best: tuple[list[bytes], str] | None = None
        for size, order in ((4, "<"), (4, ">"), (8, "<"), (8, ">")):
            records, error = self._records(data, size, "little" if order == "<" else "big")
            if records and len(records[0]) in (4, 8):
                if error is None:
                    return records, order, len(records[0])
                if best is None or len(records) > len(best[0]):
                    best = records, error
        if best is None:
            raise self.fail("not an aenet .nn file: no Fortran record of 4 or 8 bytes with matching "
                            "4- or 8-byte markers at the start (and not ASCII either)")
        raise self.fail(f"truncated or corrupt after record {len(best[0])} ({best[1]})")

    @staticmethod
    def _records(data: bytes, size: int, order: str) -> tuple[list[bytes], str | None]:
        """The records of `data` with `size`-byte markers, and why splitting stopped early (or None)."""
        records, p = [], 0
        while p < len(data):
            head = data[p:p + size]
            n = int.from_bytes(head, order, signed=True)
            end = p + size + n
            if len(head) < size or n < 0 or data[end:end + size] != head:
                why = ("no complete marker" if len(head) < size
                       else f"record of {n} bytes does not fit or its end marker differs")
                return records, f"byte {p}: {why}"
            records.append(data[p + size:end])
            p = end + size
        return records, None

    def _record(self, what: str) -> bytes:
        if self.next >= len(self.records):
            raise self.fail(f"truncated: ends after record {len(self.records)}, before {what}")
        self.next += 1
        return self.records[self.next - 1]

    def _array(self, what: str, code: str, size: int, count: int) -> np.ndarray:
        rec = self._record(what)
        if len(rec) != size * count:
            raise self.fail(f"record {self.next} ({what}) has {len(rec)} bytes, expected {size * count}")
        return np.frombuffer(rec, dtype=np.dtype(f"{self.order}{code}{size}")).copy()

    def ints(self, what: str, count: int = 1) -> np.ndarray:
        return self._array(what, "i", self.int_size, count).astype(np.int64)

    def int(self, what: str) -> int:
        return int(self.ints(what)[0])

    def reals(self, what: str, count: int = 1) -> np.ndarray:
        return self._array(what, "f", 8, count)

    def real(self, what: str) -> float:
        return float(self.reals(what)[0])

    def logical(self, what: str) -> bool:
        return bool(self.int(what))

    def texts(self, what: str, count: int = 1) -> list[str]:
        rec = self._record(what)
        width = len(rec) // count
        if len(rec) != width * count or width == 0:
            raise self.fail(f"record {self.next} ({what}) has {len(rec)} bytes, not {count} strings of equal length")
        return [rec[k * width:(k + 1) * width].decode("latin-1").strip() for k in range(count)]

    def text(self, what: str) -> str:
        return self.texts(what)[0]

    def remaining(self) -> int:
        return len(self.records) - self.next


# ---------------------------------------------------------------------- ASCII (list-directed)
class _Ascii:
    """Fortran list-directed reads: each read starts on a new line; arrays may span lines."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.line = 0

    def fail(self, reason: str) -> PotentialFileError:
        return PotentialFileError(f"{self.path}:{min(self.line, len(self.lines))}: {reason}")

    def _tokens(self, count: int, what: str) -> list[str]:
        out: list[str] = []
        while len(out) < count:
            if self.line >= len(self.lines):
                raise self.fail(f"truncated: file ends while reading {what} ({len(out)} of {count} values)")
            for token in self.lines[self.line].replace(",", " ").split():
                repeat, star, value = token.partition("*")
                out += [value] * int(repeat) if star and repeat.isdigit() else [token]
            self.line += 1
        return out[:count]

    def _parse(self, what: str, count: int, parse: Callable[[str], object]) -> list:
        tokens = self._tokens(count, what)
        try:
            return [parse(t) for t in tokens]
        except ValueError:
            raise self.fail(f"{what}: cannot read {' '.join(tokens)[:60]!r}") from None

    def ints(self, what: str, count: int = 1) -> np.ndarray:
        return np.array(self._parse(what, count, int), dtype=np.int64)

    def int(self, what: str) -> int:
        return int(self.ints(what)[0])

    def reals(self, what: str, count: int = 1) -> np.ndarray:
        return np.array(self._parse(what, count, lambda t: float(t.replace("D", "E").replace("d", "e"))), float)

    def real(self, what: str) -> float:
        return float(self.reals(what)[0])

    def logical(self, what: str) -> bool:
        token = self._tokens(1, what)[0].lstrip(".").upper()
        if token[:1] not in ("T", "F"):
            raise self.fail(f"{what} must be a logical (T or F), got {token!r}")
        return token.startswith("T")

    def texts(self, what: str, count: int = 1) -> list[str]:
        return [t.strip("'\"") for t in self._tokens(count, what)]

    def text(self, what: str) -> str:
        """A whole line (a string item; Fortran would keep only its first word)."""
        if self.line >= len(self.lines):
            raise self.fail(f"truncated: file ends before {what}")
        self.line += 1
        return self.lines[self.line - 1].strip()

    def remaining(self) -> int:
        return sum(1 for line in self.lines[self.line:] if line.strip())


def _is_text(data: bytes) -> bool:
    """True if `data` looks like the ASCII form: printable text starting with an integer."""
    try:
        head = data[:4096].decode("ascii")
    except UnicodeDecodeError:
        return False
    first = head.split(None, 1)[0] if head.split() else ""
    return first.lstrip("+-").isdigit() and all(c.isprintable() or c in "\r\n\t" for c in head)


def parse_aenet_file(path: str | Path) -> AenetFile:
    """Read one aenet .nn file (binary or ASCII) without interpreting it.

    PotentialFileError "<file>: <reason>" if it is missing, truncated, has inconsistent sizes or
    record markers that are neither 4 nor 8 bytes.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PotentialFileError(f"{path}: cannot read ({exc.strerror})") from None
    ascii_form = _is_text(data)
    r = _Ascii(path, data.decode("ascii")) if ascii_form else _Binary(path, data)
    nlayers = r.int("nlayers")
    if not 2 <= nlayers <= 100:
        raise r.fail(f"network has {nlayers} layers: corrupt file")
    for what in ("nnodes_max", "Wsize", "nvalues"):
        r.int(what)
    nodes = tuple(int(x) for x in r.ints("nnodes", nlayers))
    activations = tuple(int(x) for x in r.ints("activation types f_a", nlayers - 1))
    for what in ("iw", "iv"):
        r.ints(what, nlayers)
    if min(nodes) < 1:
        raise r.fail(f"network layer widths {list(nodes)} must be positive")
    weights = r.reals("weights W", sum((nodes[k] + 1) * nodes[k + 1] for k in range(nlayers - 1)))
    description = r.text("setup description")
    atomtype = r.texts("atomtype")[0]
    nenv = r.int("nenv")
    if nenv < 1:
        raise r.fail(f"setup lists {nenv} environment types")
    envtypes = tuple(r.texts("envtypes", nenv))
    rc_min, rc_max = r.real("Rc_min"), r.real("Rc_max")
    sftype = r.texts("sftype")[0]
    nsf, nsfparam = r.int("nsf"), r.int("nsfparam")
    if nsf != nodes[0] or nsfparam < 1:
        raise r.fail(f"setup has {nsf} functions with {nsfparam} parameters, the network {nodes[0]} inputs")
    sf = r.ints("function kinds sf", nsf)
    sfparam = r.reals("function parameters sfparam", nsf * nsfparam).reshape(nsf, nsfparam)
    sfenv = r.ints("function environments sfenv", 2 * nsf).reshape(nsf, 2)
    neval = r.int("neval")
    stats = [r.reals(f"sfval_{name}", nsf) for name in ("min", "max", "avg")]
    # files of aenet before 2.0 end the setup here; from 2.0 on sfval_cov follows (nsf reals)
    legacy = not ascii_form and r.remaining() == 10
    cov = None if legacy else r.reals("sfval_cov", nsf)
    trainset = r.text("training-set file name")
    normalized = r.logical("normalized")
    scale, shift = r.real("energy scale"), r.real("energy shift")
    ntypes = r.int("number of types")
    if ntypes < 1:
        raise r.fail(f"training set lists {ntypes} types")
    type_names = tuple(r.texts("type names", ntypes))
    e_atom = r.reals("atomic energies E_atom", ntypes)
    n_atoms_total, n_structures = r.int("nAtomsTot"), r.int("nStrucs")
    e_min, e_max, e_avg = r.reals("E_min, E_max, E_av", 3)
    if r.remaining():
        raise r.fail(f"{r.remaining()} more {'lines' if ascii_form else 'records'} than an aenet potential has")
    return AenetFile(path, ascii_form, nodes, activations, weights, description, atomtype, envtypes, rc_min,
                     rc_max, sftype, sf, sfparam, sfenv, neval, *stats, cov, trainset, normalized, scale, shift,
                     type_names, e_atom, n_atoms_total, n_structures, float(e_min), float(e_max), float(e_avg))


# ---------------------------------------------------------------------- conversion
def _network(f: AenetFile) -> Network:
    """nanomc Network (inputs in aenet's descriptor order), output in eV (divided by `scale`)."""
    layers, start = [], 0
    for k, code in enumerate(f.activations):
        n_in, n_out = f.nodes[k], f.nodes[k + 1]
        if code not in ACTIVATION_CODES:
            raise f.fail(f"layer {k + 2} has activation type {code}, not one of aenet's {sorted(ACTIVATION_CODES)}")
        block = f.weights[start:start + (n_in + 1) * n_out].reshape(n_out, n_in + 1, order="F")
        start += (n_in + 1) * n_out
        w, b = block[:, :n_in], block[:, n_in]
        if k == len(f.activations) - 1:
            if code != 0:
                raise f.fail(f"output layer activation type {code}: nanomc needs a linear output (type 0)")
            w, b = w / f.scale, b / f.scale
        layers.append(Layer(w, b, *ACTIVATION_CODES[code]))
    return Network(layers)


def _behler(f: AenetFile) -> DescriptorSet:
    """Descriptor set of a Behler2011 setup, its functions at their aenet vector positions."""
    env = f.envtypes
    if f.sfparam.shape[1] < 4 or not np.all((f.sfenv[:, 0] >= 1) & (f.sfenv[:, 0] <= len(env))):
        raise f.fail("Behler2011 setup with fewer than 4 parameters per function or an unknown environment type")

    def slot(i: int) -> tuple:
        """Sort key of function i in aenet's descriptor vector (sf_build_index)."""
        g, (t2, t3) = int(f.sf[i]), (int(t) for t in f.sfenv[i])
        return (t2, 0, 0, g, i) if g <= 3 else (min(t2, t3), 1, max(t2, t3), g, i)

    for i, g in enumerate(f.sf):
        if g == 3:
            raise f.fail(f"function {i + 1} is Behler's G3 (cos(kappa R) f_c): nanomc cannot express it")
        if g not in BEHLER_KINDS:
            raise f.fail(f"function {i + 1} has unknown Behler2011 type G{g}")
        if g >= 4 and not 1 <= f.sfenv[i, 1] <= len(env):
            raise f.fail(f"angular function {i + 1} names environment type {f.sfenv[i, 1]} of {len(env)}")
    radial, angular = [], []
    for position, i in enumerate(sorted(range(len(f.sf)), key=slot)):
        g, p = int(f.sf[i]), f.sfparam[i]
        cutoff = CutoffFunction("cos", float(p[0]))
        if g == 1:
            radial.append((position, RadialFunction(0.0, 0.0, env[f.sfenv[i, 0] - 1], cutoff)))
        elif g == 2:  # Rc, Rs, eta
            radial.append((position, RadialFunction(float(p[2]), float(p[1]), env[f.sfenv[i, 0] - 1], cutoff)))
        else:  # Rc, lambda, zeta, eta
            pair = (env[f.sfenv[i, 0] - 1], env[f.sfenv[i, 1] - 1])
            angular.append((position, AngularFunction(float(p[3]), float(p[2]), float(p[1]), pair, 0.0,
                                                         BEHLER_KINDS[g], cutoff)))
    return DescriptorSet(tuple(fn for _, fn in radial), tuple(fn for _, fn in angular),
                         tuple(pos for pos, _ in radial + angular))


def chebyshev_parameters(f: AenetFile) -> dict:
    """Radial/angular order and cutoff (Å), environment types and their spins of a Chebyshev setup."""
    p = f.sfparam[0]
    if len(p) < 4:
        raise f.fail(f"Chebyshev setup needs 4 parameters, the file has {len(p)}")
    radial_order, angular_order = int(round(p[1])), int(round(p[3]))
    if len(f.envtypes) > 1 and p[2] > p[0]:
        # aenet's sfb_eval takes s_j of such neighbours from the previous neighbour in its list
        raise f.fail(f"Chebyshev angular cutoff {p[2]} Å exceeds the radial cutoff {p[0]} Å with several "
                     f"elements: aenet's own type-weighted angular values are then ill-defined")
    expected = (radial_order + angular_order + 2) * (2 if len(f.envtypes) > 1 else 1)
    if radial_order < 0 or angular_order < 0 or len(f.sf) != expected:
        raise f.fail(f"Chebyshev orders {radial_order} and {angular_order} with {len(f.envtypes)} types "
                     f"give {expected} functions, the file has {len(f.sf)}")
    return {"elements": f.envtypes, "radial_order": radial_order, "radial_cutoff": float(p[0]),
            "angular_order": angular_order, "angular_cutoff": float(p[2]),
            "type_spins": aenet_type_spins(len(f.envtypes))}


def _chebyshev(f: AenetFile) -> DescriptorSet:
    """Descriptor set of a Chebyshev setup, in aenet's layout."""
    c = chebyshev_parameters(f)
    return chebyshev_descriptor_set(c["elements"], c["radial_order"], c["radial_cutoff"], c["angular_order"],
                                    c["angular_cutoff"], type_spins=c["type_spins"])


def _scaling(f: AenetFile) -> tuple[np.ndarray, np.ndarray]:
    """(shift, scale) of the inputs in aenet's order: (avg, 1/σ), 0 where σ ≤ 1e-10."""
    if f.sfval_cov is None:
        raise f.fail("file written before aenet 2.0 (no sfval_cov): its input normalisation is not known")
    var = f.sfval_cov - f.sfval_avg**2
    bad = np.flatnonzero(var < 0.0)
    if bad.size and np.sqrt(-var[bad]).max() > SIGMA_MIN:
        raise f.fail(f"descriptor {bad[0] + 1} has cov < avg^2: aenet's scaling would be NaN")
    sigma = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore"):
        scale = np.where(sigma > SIGMA_MIN, 1.0 / sigma, 0.0)
    return f.sfval_avg.copy(), scale


def _files(files: Mapping[str, str | Path] | Sequence[str | Path]) -> dict[str, AenetFile]:
    """Parsed files by element; a mapping's keys must match the files' central types."""
    items = files.items() if isinstance(files, Mapping) else [(None, p) for p in files]
    out: dict[str, AenetFile] = {}
    for element, path in items:
        f = parse_aenet_file(path)
        if element is not None and element != f.atomtype:
            raise f.fail(f"element mismatch: given for {element}, but it is the potential of {f.atomtype}")
        if f.atomtype in out:
            raise f.fail(f"second potential of {f.atomtype} (first: {out[f.atomtype].path})")
        out[f.atomtype] = f
    if not out:
        raise PotentialFileError("no aenet potential files given")
    return out


def read_aenet(files: Mapping[str, str | Path] | Sequence[str | Path]):
    """Potential from aenet .nn files, one per element (binary or ASCII, see the module notes).

    files: {element: path} or a list of paths (elements from the files). Elements are ordered
    as in the training set (aenet's type order). Raises PotentialFileError "<file>: <reason>"
    for a missing, truncated or corrupt file, an element mismatch, an environment type without
    its own file, mixed basis types, a G3 function or an unsupported activation.
    """
    from .potential import Potential

    parsed = _files(files)
    first = next(iter(parsed.values()))
    for f in parsed.values():
        if f.basis != first.basis:
            raise f.fail(f"basis {f.sftype} differs from {first.sftype} in {first.path}")
        if f.basis not in ("behler2011", "chebyshev"):
            raise f.fail(f"unknown basis type {f.sftype!r} (aenet knows Behler2011 and Chebyshev)")
        for e in f.envtypes:
            if e not in parsed:
                raise f.fail(f"missing element file: environment type {e} has no potential among the files given")
        if f.atomtype not in f.type_names:
            raise f.fail(f"central type {f.atomtype} is not among the training-set types {list(f.type_names)}")
    order_of = {t: k for k, t in enumerate(first.type_names)}
    elements = sorted(parsed, key=lambda e: (order_of.get(e, len(order_of)), e))
    dsets, nets, scaling, e0 = {}, {}, {}, {}
    for e in elements:
        f = parsed[e]
        dsets[e] = (_chebyshev if f.basis == "chebyshev" else _behler)(f)
        nets[e] = _network(f)
        scaling[e] = _scaling(f)
        e0[e] = f.shift + float(f.e_atom[f.type_names.index(e)])
    provenance = {"source": "aenet", "basis": first.sftype, "training_set": first.trainset,
                  "rc_min_angstrom": min(f.rc_min for f in parsed.values()),
                  **{f"file_{e}": str(parsed[e].path.resolve()) for e in elements}}
    try:
        return Potential(elements, max(f.rc_max for f in parsed.values()), dsets, nets, scaling, e0, provenance)
    except PotentialError as exc:
        raise PotentialFileError(f"{first.path}: does not define a usable potential: {exc}") from None
