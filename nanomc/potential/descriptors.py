"""Symmetry-function parameter sets: one parameterised family (Behler–Parrinello and Chebyshev).

Every function has its own cutoff function f_c (CutoffFunction: kind, radius R_c, inner
fraction α); distances and R_c in Å, η in 1/Å². A function counts the neighbours j of atom i
(radial) or the neighbour pairs j < k (angular, each triplet once) with a weight per neighbour
element w_e(j) (per unordered element pair w_{e(j)e(k)}): a plain function names one element
e (pair {a, b}) and has weight 1 for it and 0 for the others; a weighted function gives
`weights` for several elements (pairs), e.g. 1 for all of them or aenet's "type spins".

    radial, basis "gaussian":   Σ_j w_e(j) exp(−η (R_ij − R_s)²) f_c(R_ij)
    radial, basis "chebyshev":  Σ_j w_e(j) T_n(2 R_ij / R_c − 1) f_c(R_ij)    (η = R_s = 0)
    angular, factor "power":    2^{1−ζ} Σ_{j<k} w_{e(j)e(k)} (1 + λ cos θ_ijk)^ζ
                                · exp(−η [(R_ij − R_s)² + (R_ik − R_s)² (+ (R_jk − R_s)²)])
                                · f_c(R_ij) f_c(R_ik) (· f_c(R_jk))
    angular, factor "chebyshev": Σ_{j<k} w_{e(j)e(k)} T_n(cos θ_ijk) f_c(R_ij) f_c(R_ik)
                                (wide, η = R_s = 0, ζ = λ = 1 unused)

T_n are the Chebyshev polynomials of the first kind (T_0 = 1, T_1 = x,
T_{n+1} = 2x T_n − T_{n−1}); R_c in the radial argument is the function's cutoff radius.
"narrow" angular functions have the R_jk terms in brackets (n2p2 type 3), "wide" not (type 9).
With the defaults (plain, gaussian / power, cosine cutoff at the potential's R_c, R_s = 0,
narrow) these are DESIGN.md's G2/G4:

    f_c(R) = ½[cos(πR/R_c) + 1] for R < R_c, else 0                        (kind "cos", α = 0)
    G2_i   = Σ_{j≠i, e(j)=e} exp(−η (R_ij − R_s)²) f_c(R_ij)
    G4_i   = 2^{1−ζ} Σ_{j<k, {e(j),e(k)}={a,b}} (1 + λ cos θ_ijk)^ζ
             · exp(−η (R_ij² + R_ik² + R_jk²)) f_c(R_ij) f_c(R_ik) f_c(R_jk)

chebyshev_descriptor_set builds aenet's Chebyshev descriptor (Artrith, Urban, Ceder,
PRB 96, 014112 (2017)) from these functions. Each central element has its own DescriptorSet;
the descriptor vector of an atom lists its radial functions first, then its angular functions,
in the order given, unless the set gives explicit positions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations_with_replacement
from typing import Mapping, Sequence

import numpy as np

from ..errors import PotentialError

#: cutoff-function kinds, numbered as n2p2's `cutoff_type` (see CutoffFunction)
CUTOFF_KINDS = ("hard", "cos", "tanhu", "tanh", "exp", "poly1", "poly2", "poly3", "poly4")
#: kinds that ignore the inner radius α
CUTOFF_KINDS_WITHOUT_ALPHA = ("hard", "tanhu", "tanh")
#: angular variants: "narrow" has the R_jk terms (n2p2 type 3), "wide" not (type 9)
ANGULAR_VARIANTS = ("narrow", "wide")
#: radial bases: exp(−η (R − R_s)²), or the Chebyshev polynomial T_n(2R/R_c − 1)
RADIAL_BASES = ("gaussian", "chebyshev")
#: angular factors: 2^{1−ζ}(1 + λ cos θ)^ζ, or the Chebyshev polynomial T_n(cos θ)
ANGULAR_FACTORS = ("power", "chebyshev")


@dataclass(frozen=True)
class CutoffFunction:
    """Cutoff function f_c of a symmetry function: 1 inside, smoothly to 0 at `radius`.

    kind: "hard" (1), "cos" ½[cos(πx) + 1], "tanhu" tanh³(1 − R/R_c), "tanh" the same times
    1/tanh³(1) so f_c(0) = 1, "exp" e·exp(1/(x² − 1)), "poly1" (2x − 3)x² + 1,
    "poly2" ((15 − 6x)x − 10)x³ + 1, "poly3" (x(x(20x − 70) + 84) − 35)x⁴ + 1,
    "poly4" (x(x((315 − 70x)x − 540) + 420) − 126)x⁵ + 1.
    radius: R_c in Å; None means the potential's cutoff.
    alpha: inner radius as a fraction of R_c, 0 ≤ α < 1: f_c = 1 for R < αR_c and
    x = (R − αR_c)/(R_c − αR_c) above it (ignored by hard, tanhu and tanh).
    f_c = 0 for R ≥ R_c for every kind.
    """

    kind: str = "cos"
    radius: float | None = None
    alpha: float = 0.0

    @property
    def is_default(self) -> bool:
        """True for the cosine cutoff at the potential's R_c (DESIGN.md's f_c)."""
        return self.kind == "cos" and self.radius is None and self.alpha == 0.0

    def resolved(self, cutoff: float) -> tuple[int, float, float]:
        """(kind number, radius in Å, α) with radius None replaced by `cutoff` (Å)."""
        return CUTOFF_KINDS.index(self.kind), float(cutoff if self.radius is None else self.radius), float(self.alpha)

    def validate(self, cutoff: float | None = None) -> None:
        """Raise PotentialError unless kind, radius (≤ `cutoff` Å if given) and α are valid."""
        if self.kind not in CUTOFF_KINDS:
            raise PotentialError(f"cutoff kind {self.kind!r} is not one of {', '.join(CUTOFF_KINDS)}")
        if self.radius is not None:
            if not (np.isfinite(self.radius) and self.radius > 0):
                raise PotentialError(f"cutoff radius must be a positive number of Å, got {self.radius}")
            if cutoff is not None and self.radius > cutoff:
                raise PotentialError(f"cutoff radius {self.radius} Å exceeds the potential's cutoff {cutoff} Å")
        if not (np.isfinite(self.alpha) and 0.0 <= self.alpha < 1.0):
            raise PotentialError(f"cutoff alpha must satisfy 0 <= alpha < 1, got {self.alpha}")

    def to_row(self) -> list[float]:
        """[radius (0 = the potential's), kind number, α] as stored in the potential file."""
        return [0.0 if self.radius is None else float(self.radius), float(CUTOFF_KINDS.index(self.kind)),
                float(self.alpha)]

    @classmethod
    def from_row(cls, row: Sequence[float]) -> "CutoffFunction":
        """Inverse of to_row."""
        kind = int(row[1])
        if not 0 <= kind < len(CUTOFF_KINDS):
            raise PotentialError(f"unknown cutoff kind number {kind}")
        return cls(CUTOFF_KINDS[kind], None if row[0] == 0.0 else float(row[0]), float(row[2]))


DEFAULT_CUTOFF = CutoffFunction()


def _canonical_weights(weights, key) -> tuple:
    """Weights (a mapping or (key, weight) pairs) as sorted (key, weight) pairs without zeros."""
    items = weights.items() if isinstance(weights, Mapping) else weights
    out: dict = {}
    for k, w in items:
        k = key(k)
        if k in out:
            raise PotentialError(f"weights name {k!r} twice")
        out[k] = float(w)
    return tuple(sorted((k, w) for k, w in out.items() if w != 0.0))


def _check_weights(kind: str, weights: tuple, known: set) -> None:
    """Raise PotentialError unless every key of `weights` names known elements and every weight is finite."""
    for k, w in weights:
        for e in (k,) if isinstance(k, str) else k:
            if e not in known:
                raise PotentialError(f"{kind} function weights name element {e!r}, not in {sorted(known)}")
        if not np.isfinite(w):
            raise PotentialError(f"{kind} function weight of {k!r} is not finite: {w}")


def _check_shared(kind: str, f, selection: tuple[str, ...] | None, form: tuple[str, str, tuple], known: set) -> None:
    """Raise PotentialError unless the parameters that radial and angular functions share are
    valid: what f counts (`selection`, the element (pair) it names, or its weights), its form
    (name, value, allowed values: the basis or the factor), order, η and R_s."""
    if (selection is None) == (not f.weights):
        noun = "an element" if kind == "radial" else "an element pair"
        raise PotentialError(f"{kind} function needs either {noun} or weights, got {f}")
    for e in selection or ():
        if e not in known:
            raise PotentialError(f"{kind} function names element {e!r}, not in {sorted(known)}")
    _check_weights(kind, f.weights, known)
    name, value, allowed = form
    if value not in allowed:
        raise PotentialError(f"{kind} function {name} must be one of {allowed}, got {value!r}")
    if value == "chebyshev" and not (isinstance(f.order, (int, np.integer)) and f.order >= 0):
        raise PotentialError(f"{kind} Chebyshev function needs an integer order >= 0, got {f.order!r}")
    if value != "chebyshev" and f.order != 0:
        raise PotentialError(f"{kind} function of order {f.order!r} != 0 is only defined for Chebyshev functions")
    if not (np.isfinite(f.eta) and f.eta >= 0 and np.isfinite(f.rs) and f.rs >= 0):
        raise PotentialError(f"{kind} function needs finite eta >= 0 and rs >= 0, got {f}")


@dataclass(frozen=True)
class RadialFunction:
    """Radial function counting neighbours within its cutoff (see the module docstring).

    eta: width η (1/Å²), rs: centre R_s (Å) of the Gaussian; both 0 for basis "chebyshev".
    element: the one neighbour element counted (weight 1), or None with `weights`.
    cutoff: the cutoff function; for "chebyshev" its radius R_c also scales the argument
    2R/R_c − 1 of T_n. basis: "gaussian" or "chebyshev"; order: n of T_n (0 for "gaussian").
    weights: per neighbour element weight (mapping or (element, weight) pairs), stored sorted
    and without zeros; a single element of weight 1 is stored as `element`.
    """

    eta: float
    rs: float
    element: str | None
    cutoff: CutoffFunction = field(default=DEFAULT_CUTOFF)
    basis: str = "gaussian"
    order: int = 0
    weights: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        weights = _canonical_weights(self.weights, str)
        if self.element is None and len(weights) == 1 and weights[0][1] == 1.0:
            object.__setattr__(self, "element", weights[0][0])
            weights = ()
        object.__setattr__(self, "weights", weights)

    @property
    def element_weights(self) -> dict[str, float]:
        """Weight of every counted neighbour element (elements not listed count 0)."""
        return {self.element: 1.0} if self.element is not None else dict(self.weights)

    @property
    def in_version_2(self) -> bool:
        """True if the version-2 file columns describe this function (plain Gaussian)."""
        return self.basis == "gaussian" and not self.weights

    @property
    def is_default(self) -> bool:
        """True if this is DESIGN.md's G2 (cosine cutoff at the potential's R_c)."""
        return self.in_version_2 and self.cutoff.is_default

    def validate(self, known: set) -> None:
        """Raise PotentialError unless the parameters are consistent and name only `known` elements."""
        _check_shared("radial", self, None if self.element is None else (self.element,),
                      ("basis", self.basis, RADIAL_BASES), known)
        if self.basis == "chebyshev" and (self.eta != 0.0 or self.rs != 0.0):
            raise PotentialError(f"radial Chebyshev function needs eta = rs = 0, got {self}")

    def extra_row(self) -> list[float]:
        """Parameters beyond DESIGN.md's G2, as stored in the version-2 file: the cutoff row."""
        return self.cutoff.to_row()

    def version_3_row(self, elements: Sequence[str], position: int) -> list[float]:
        """Columns beyond version 2: basis number, order, `position` in the descriptor vector,
        then the weight of every element of `elements`."""
        w = self.element_weights
        return [float(RADIAL_BASES.index(self.basis)), float(self.order), float(position),
                *(w.get(e, 0.0) for e in elements)]


@dataclass(frozen=True)
class AngularFunction:
    """Angular function counting neighbour pairs within its cutoff (see the module docstring).

    eta (1/Å²), zeta ζ ≥ 1, lam λ = ±1, rs R_s (Å): the factor "power"; a "chebyshev" factor
    has η = R_s = 0, ζ = λ = 1 and variant "wide". elements: the one unordered element pair
    counted (weight 1), or None with `weights`. variant: "narrow" (with R_jk) or "wide".
    factor: "power" 2^{1−ζ}(1 + λ cos θ)^ζ or "chebyshev" T_n(cos θ); order: n (0 for "power").
    weights: per unordered element pair weight (mapping or (pair, weight) pairs), stored with
    sorted pairs, sorted and without zeros; a single pair of weight 1 is stored as `elements`.
    """

    eta: float
    zeta: float
    lam: float
    elements: tuple[str, str] | None
    rs: float = 0.0
    variant: str = "narrow"
    cutoff: CutoffFunction = field(default=DEFAULT_CUTOFF)
    factor: str = "power"
    order: int = 0
    weights: tuple[tuple[tuple[str, str], float], ...] = ()

    def __post_init__(self) -> None:
        weights = _canonical_weights(self.weights, lambda pair: tuple(sorted(pair)))
        if self.elements is None and len(weights) == 1 and weights[0][1] == 1.0:
            object.__setattr__(self, "elements", weights[0][0])
            weights = ()
        object.__setattr__(self, "weights", weights)
        if self.elements is not None:
            object.__setattr__(self, "elements", tuple(sorted(self.elements)))

    @property
    def pair_weights(self) -> dict[tuple[str, str], float]:
        """Weight of every counted unordered element pair (sorted; pairs not listed count 0)."""
        return {self.elements: 1.0} if self.elements is not None else dict(self.weights)

    @property
    def in_version_2(self) -> bool:
        """True if the version-2 file columns describe this function (plain power factor)."""
        return self.factor == "power" and not self.weights

    @property
    def is_default(self) -> bool:
        """True if this is DESIGN.md's G4 (narrow, R_s = 0, cosine cutoff at the potential's R_c)."""
        return self.in_version_2 and self.rs == 0.0 and self.variant == "narrow" and self.cutoff.is_default

    def validate(self, known: set) -> None:
        """Raise PotentialError unless the parameters are consistent and name only `known` elements."""
        _check_shared("angular", self, self.elements, ("factor", self.factor, ANGULAR_FACTORS), known)
        if not (np.isfinite(self.zeta) and self.zeta >= 1):
            raise PotentialError(f"angular function needs zeta >= 1, got {self}")
        if self.lam not in (-1.0, 1.0):
            raise PotentialError(f"angular function needs lambda = +1 or -1, got {self}")
        if self.variant not in ANGULAR_VARIANTS:
            raise PotentialError(f"angular function variant must be one of {ANGULAR_VARIANTS}, got {self.variant!r}")
        if self.factor == "chebyshev" and (self.eta, self.rs, self.zeta, self.lam, self.variant) != (
                0.0, 0.0, 1.0, 1.0, "wide"):
            raise PotentialError(f"angular Chebyshev function needs eta = rs = 0, zeta = lambda = 1 and "
                                 f"variant 'wide', got {self}")

    def extra_row(self) -> list[float]:
        """Parameters beyond DESIGN.md's G4, as stored in the version-2 file: R_s, variant number, cutoff row."""
        return [float(self.rs), float(ANGULAR_VARIANTS.index(self.variant)), *self.cutoff.to_row()]

    def version_3_row(self, elements: Sequence[str], position: int) -> list[float]:
        """Columns beyond version 2: factor number, order, `position` in the descriptor vector,
        then the weight of every element pair (in the order of element_pairs(elements))."""
        w = self.pair_weights
        return [float(ANGULAR_FACTORS.index(self.factor)), float(self.order), float(position),
                *(w.get(tuple(sorted(pair)), 0.0) for pair in element_pairs(elements))]


#: columns of the stored tables: DESIGN.md's parameters (version 1), the version-2 ones, and
#: the version-3 ones before the weights (basis / factor number, order, position)
RADIAL_COLUMNS, ANGULAR_COLUMNS = 3, 5
RADIAL_EXTRA, ANGULAR_EXTRA = 3, 5
VERSION_3_EXTRA = 3


@dataclass(frozen=True)
class DescriptorSet:
    """The symmetry functions of atoms of one central element: radial then angular.

    positions: where each function (radial ones, then angular ones) stands in the descriptor
    vector, a permutation of 0..size−1; empty (the default, and what the identity is stored
    as) means in the order given.
    """

    radial: tuple[RadialFunction, ...]
    angular: tuple[AngularFunction, ...]
    positions: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        positions = tuple(int(p) for p in self.positions)
        object.__setattr__(self, "positions", () if positions == tuple(range(self.size)) else positions)

    @property
    def size(self) -> int:
        """Number of descriptor values per atom."""
        return len(self.radial) + len(self.angular)

    @property
    def output_positions(self) -> tuple[int, ...]:
        """Position in the descriptor vector of each radial, then each angular function."""
        return self.positions or tuple(range(self.size))

    @property
    def in_version_2(self) -> bool:
        """True if the version-2 file tables describe this set (no weights, Chebyshev or positions)."""
        return not self.positions and all(f.in_version_2 for f in (*self.radial, *self.angular))

    @property
    def is_default(self) -> bool:
        """True if every function is DESIGN.md's G2/G4 (nothing beyond the version-1 file)."""
        return self.in_version_2 and all(f.is_default for f in (*self.radial, *self.angular))

    def validate(self, elements: Sequence[str], cutoff: float | None = None) -> None:
        """Raise PotentialError if a function is ill-defined, names an unknown element or has a
        cutoff radius beyond `cutoff` (Å, the potential's)."""
        known = set(elements)
        for kind, funcs in (("radial", self.radial), ("angular", self.angular)):
            if len(set(funcs)) != len(funcs):
                raise PotentialError(f"the {kind} functions of a descriptor set contain duplicates")
            for f in funcs:
                f.cutoff.validate(cutoff)
                f.validate(known)
        if sorted(self.output_positions) != list(range(self.size)):
            raise PotentialError(f"descriptor positions must be a permutation of 0..{self.size - 1}, "
                                 f"got {list(self.positions)}")

    def to_arrays(self, elements: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Radial and angular tables of the potential file.

        Version 2 (when in_version_2): radial (n, 6: η, R_s, element index, cutoff radius
        (0 = the potential's), cutoff kind number, α) and angular (n, 10: η, ζ, λ, a, b, R_s,
        variant number (0 narrow, 1 wide), cutoff radius, kind, α); the first 3 and 5 columns
        are the version-1 tables. Version 3 (otherwise) appends to every row the basis / factor
        number (RADIAL_BASES, ANGULAR_FACTORS), the order n, the position in the descriptor
        vector and the weight of every element (radial, in the order of `elements`) or element
        pair (angular, element_pairs(elements)); a weighted function has element index −1.
        """
        index = {e: k for k, e in enumerate(elements)}
        v3 = not self.in_version_2
        pos = self.output_positions

        def tail(f, k: int) -> list[float]:
            return f.version_3_row(elements, pos[k]) if v3 else []

        n_rad = len(self.radial)
        radial = np.array([[f.eta, f.rs, index[f.element] if f.element is not None else -1, *f.extra_row(),
                            *tail(f, k)] for k, f in enumerate(self.radial)], float)
        angular = np.array(
            [[f.eta, f.zeta, f.lam, *((index[e] for e in f.elements) if f.elements is not None else (-1, -1)),
              *f.extra_row(), *tail(f, n_rad + k)] for k, f in enumerate(self.angular)],
            float,
        )
        r_extra, a_extra = (VERSION_3_EXTRA + len(elements), VERSION_3_EXTRA + len(element_pairs(elements))) if v3 \
            else (0, 0)
        return (radial.reshape(-1, RADIAL_COLUMNS + RADIAL_EXTRA + r_extra),
                angular.reshape(-1, ANGULAR_COLUMNS + ANGULAR_EXTRA + a_extra))

    @classmethod
    def from_arrays(cls, radial: np.ndarray, angular: np.ndarray, elements: Sequence[str]) -> "DescriptorSet":
        """Inverse of to_arrays; also reads the version-1 tables (3 and 5 columns: defaults)."""
        radial, angular = (np.asarray(a, float) for a in (radial, angular))
        radial, angular = (a if a.ndim == 2 else a.reshape(len(a), -1) for a in (radial, angular))
        pairs = [tuple(sorted(p)) for p in element_pairs(elements)]
        r_v3 = RADIAL_COLUMNS + RADIAL_EXTRA + VERSION_3_EXTRA
        a_v3 = ANGULAR_COLUMNS + ANGULAR_EXTRA + VERSION_3_EXTRA
        r_widths = (RADIAL_COLUMNS, RADIAL_COLUMNS + RADIAL_EXTRA, r_v3 + len(elements))
        a_widths = (ANGULAR_COLUMNS, ANGULAR_COLUMNS + ANGULAR_EXTRA, a_v3 + len(pairs))
        v3 = radial.shape[1] == r_widths[2] and angular.shape[1] == a_widths[2]
        if not v3 and (radial.shape[1] not in r_widths[:2] or angular.shape[1] not in a_widths[:2]):
            raise PotentialError(f"descriptor tables have {radial.shape[1]} and {angular.shape[1]} columns, "
                                 f"expected {' or '.join(map(str, r_widths))} and {' or '.join(map(str, a_widths))}")

        def cutoff(row: np.ndarray, start: int) -> CutoffFunction:
            return CutoffFunction.from_row(row[start:start + 3]) if len(row) > start else DEFAULT_CUTOFF

        def name(number: float, names: tuple[str, ...], what: str) -> str:
            if number not in range(len(names)):
                raise PotentialError(f"unknown {what} number {number}")
            return names[int(number)]

        def extras(row: np.ndarray, start: int, names: tuple[str, ...], what: str, keys: list) -> dict:
            """Keyword arguments of the version-3 columns from `start` on (nothing in older tables)."""
            if len(row) <= start:
                return {}
            order = row[start + 1]
            return {what: name(row[start], names, what), "order": int(order) if order == int(order) else order,
                    "weights": tuple(zip(keys, row[start + VERSION_3_EXTRA:].tolist()))}

        def checked(f, row: np.ndarray, start: int, k: int):
            """f, after checking that a one-element row's weights are its one-hot vector."""
            if len(row) > start and not np.array_equal(f.version_3_row(elements, row[start + 2]), row[start:]):
                raise PotentialError(f"descriptor table row {k}: element index and weights disagree")
            return f

        def radial_function(k: int, r: np.ndarray) -> RadialFunction:
            kw = extras(r, r_v3 - VERSION_3_EXTRA, RADIAL_BASES, "basis", list(elements))
            element = elements[int(r[2])] if r[2] >= 0 else None
            if element is not None:
                kw.pop("weights", None)
            return checked(RadialFunction(float(r[0]), float(r[1]), element, cutoff(r, RADIAL_COLUMNS), **kw),
                           r, r_v3 - VERSION_3_EXTRA, k)

        def angular_function(k: int, a: np.ndarray) -> AngularFunction:
            kw = extras(a, a_v3 - VERSION_3_EXTRA, ANGULAR_FACTORS, "factor", pairs)
            pair = (elements[int(a[3])], elements[int(a[4])]) if a[3] >= 0 else None
            if pair is not None:
                kw.pop("weights", None)
            return checked(AngularFunction(float(a[0]), float(a[1]), float(a[2]), pair,
                                           *((float(a[5]), name(a[6], ANGULAR_VARIANTS, "angular variant"))
                                             if len(a) > ANGULAR_COLUMNS else ()),
                                           cutoff=cutoff(a, ANGULAR_COLUMNS + 2), **kw),
                           a, a_v3 - VERSION_3_EXTRA, k)

        rad = tuple(radial_function(k, r) for k, r in enumerate(radial))
        ang = tuple(angular_function(k, a) for k, a in enumerate(angular))
        positions = (*radial[:, r_v3 - 1].astype(int), *angular[:, a_v3 - 1].astype(int)) if v3 else ()
        return cls(rad, ang, positions)


def element_pairs(elements: Sequence[str]) -> list[tuple[str, str]]:
    """Unordered element pairs (a, b) with a ≤ b in the order of `elements`."""
    return list(combinations_with_replacement(elements, 2))


def default_descriptor_set(
    elements: Sequence[str],
    cutoff: float,
    n_radial: int = 8,
    angular_etas: Sequence[float] | None = None,
    zetas: Sequence[float] = (1.0, 4.0),
    lambdas: Sequence[float] = (-1.0, 1.0),
    r_min: float = 1.5,
    radial_grid: tuple[Sequence[float], Sequence[float]] | None = None,
) -> DescriptorSet:
    """A sensible general-purpose descriptor set for `elements` within `cutoff` (Å).

    Radial: `n_radial` shifted Gaussians per neighbour element, centres R_s evenly spaced
    from `r_min` to `cutoff` (Å) and widths equal to the spacing, η = 1/(2·spacing²),
    so neighbouring Gaussians overlap at about one standard deviation. With
    `radial_grid` = (etas, shifts) instead every η (1/Å²) with every R_s (Å), per neighbour
    element, as n2p2 input files list them (then `n_radial` and `r_min` are not used).
    Angular: per unordered neighbour-element pair, every combination of
    η ∈ `angular_etas` (default four values from 1/(2 R_c²) to 1/(2 (R_c/4)²)),
    ζ ∈ `zetas`, λ ∈ `lambdas` — 16 functions per pair by default.
    For two elements and the defaults this gives 16 radial + 48 angular = 64 values per atom.
    """
    if radial_grid is None:
        if cutoff <= r_min:
            raise PotentialError(f"cutoff {cutoff} Å must exceed r_min {r_min} Å")
        spacing = (cutoff - r_min) / n_radial
        radial_grid = ([1.0 / (2.0 * spacing**2)], np.linspace(r_min, cutoff, n_radial, endpoint=False))
    radial = tuple(RadialFunction(float(eta), float(rs), e) for e in elements for eta in radial_grid[0]
                   for rs in radial_grid[1])
    if angular_etas is None:
        angular_etas = [1.0 / (2.0 * (cutoff / k) ** 2) for k in (1.0, 2.0, 3.0, 4.0)]
    angular = tuple(
        AngularFunction(float(eta), float(z), float(lam), pair)
        for pair in element_pairs(elements)
        for eta in angular_etas
        for z in zetas
        for lam in lambdas
    )
    return DescriptorSet(radial, angular)


def aenet_type_spins(n_types: int) -> tuple[float, ...]:
    """aenet's default "type spins" of n_types species in order: −⌊n/2⌋ … ⌊n/2⌋, skipping 0
    when n is even (2 types: −1, 1; 3 types: −1, 0, 1; 4 types: −2, −1, 1, 2)."""
    spins, s = [], -(n_types // 2)
    for _ in range(n_types):
        if s == 0 and n_types % 2 == 0:
            s += 1
        spins.append(float(s))
        s += 1
    return tuple(spins)


def chebyshev_descriptor_set(
    elements: Sequence[str],
    radial_order: int,
    radial_cutoff: float,
    angular_order: int,
    angular_cutoff: float,
    type_spins: Sequence[float] | None = None,
) -> DescriptorSet:
    """aenet's Chebyshev descriptor (Artrith, Urban, Ceder, PRB 96, 014112 (2017)) in aenet's order.

    For neighbour elements `elements` (aenet's environment types, in its order), with the cosine
    cutoff f_c at `radial_cutoff` R_c^r and `angular_cutoff` R_c^a (Å):
        radial   c_n = Σ_j T_n(2R_ij/R_c^r − 1) f_c(R_ij; R_c^r),          n = 0..radial_order
        angular  c_n = Σ_{j<k} T_n(cos θ_ijk) f_c(R_ij; R_c^a) f_c(R_ik; R_c^a), n = 0..angular_order
    and, for more than one element, the same again with the radial terms weighted by the type
    spin s_j of neighbour j and the angular terms by s_j·s_k (`type_spins`, one per element;
    default aenet_type_spins). Descriptor vector: radial, angular, typed radial, typed angular.
    (aenet's own loop reuses a stale s_j for neighbours beyond R_c^r but within R_c^a, so with
    R_c^a > R_c^r its typed angular values are not these; aenet's set-ups have R_c^a ≤ R_c^r.)
    """
    for what, order in (("radial", radial_order), ("angular", angular_order)):
        if not (isinstance(order, (int, np.integer)) and order >= 0):
            raise PotentialError(f"Chebyshev {what} order must be an integer >= 0, got {order!r}")
    spins = aenet_type_spins(len(elements)) if type_spins is None else tuple(float(s) for s in type_spins)
    if len(spins) != len(elements):
        raise PotentialError(f"{len(spins)} type spins given for {len(elements)} elements")
    r_cut, a_cut = CutoffFunction("cos", float(radial_cutoff)), CutoffFunction("cos", float(angular_cutoff))
    r_cut.validate()
    a_cut.validate()
    spin = dict(zip(elements, spins))
    pairs = element_pairs(elements)
    weights = [({e: 1.0 for e in elements}, {p: 1.0 for p in pairs})]
    if len(elements) > 1:
        weights.append((spin, {(a, b): spin[a] * spin[b] for a, b in pairs}))
    n_rad, n_ang = radial_order + 1, angular_order + 1
    radial = tuple(RadialFunction(0.0, 0.0, None, r_cut, "chebyshev", n, w) for w, _ in weights for n in range(n_rad))
    angular = tuple(AngularFunction(0.0, 1.0, 1.0, None, 0.0, "wide", a_cut, "chebyshev", n, w)
                    for _, w in weights for n in range(n_ang))
    block = n_rad + n_ang
    positions = (*(b * block + n for b in range(len(weights)) for n in range(n_rad)),
                 *(b * block + n_rad + n for b in range(len(weights)) for n in range(n_ang)))
    dset = DescriptorSet(radial, angular, positions)
    dset.validate(elements)
    return dset
