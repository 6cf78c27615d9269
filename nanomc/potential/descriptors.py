"""Behler–Parrinello symmetry-function parameter sets: one parameterised family.

Every function has its own cutoff function f_c (CutoffFunction: kind, radius R_c, inner
fraction α); distances and R_c in Å, η in 1/Å². With the defaults (cosine cutoff at the
potential's R_c, R_s = 0, narrow) these are DESIGN.md's G2/G4:

    f_c(R) = ½[cos(πR/R_c) + 1] for R < R_c, else 0                        (kind "cos", α = 0)
    G2_i   = Σ_{j≠i, e(j)=e} exp(−η (R_ij − R_s)²) f_c(R_ij)
    narrow = 2^{1−ζ} Σ_{j<k, {e(j),e(k)}={a,b}} (1 + λ cos θ_ijk)^ζ
             · exp(−η [(R_ij − R_s)² + (R_ik − R_s)² + (R_jk − R_s)²]) f_c(R_ij) f_c(R_ik) f_c(R_jk)
    wide   = 2^{1−ζ} Σ_{j<k, {e(j),e(k)}={a,b}} (1 + λ cos θ_ijk)^ζ
             · exp(−η [(R_ij − R_s)² + (R_ik − R_s)²]) f_c(R_ij) f_c(R_ik)

Each triplet is counted once (j < k). "narrow" with R_s = 0 is DESIGN.md's G4 (n2p2 type 3),
"wide" is n2p2's type 9. Each central element has its own DescriptorSet; the descriptor vector
of an atom lists its radial functions first, then its angular functions, in the order given.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations_with_replacement
from typing import Sequence

import numpy as np

from ..errors import PotentialError

#: cutoff-function kinds, numbered as n2p2's `cutoff_type` (see CutoffFunction)
CUTOFF_KINDS = ("hard", "cos", "tanhu", "tanh", "exp", "poly1", "poly2", "poly3", "poly4")
#: kinds that ignore the inner radius α
CUTOFF_KINDS_WITHOUT_ALPHA = ("hard", "tanhu", "tanh")
#: angular variants: "narrow" has the R_jk terms (n2p2 type 3), "wide" not (type 9)
ANGULAR_VARIANTS = ("narrow", "wide")


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


@dataclass(frozen=True)
class RadialFunction:
    """Radial function with width η (1/Å²), centre R_s (Å), counting neighbours of one element."""

    eta: float
    rs: float
    element: str
    cutoff: CutoffFunction = field(default=DEFAULT_CUTOFF)

    @property
    def is_default(self) -> bool:
        """True if this is DESIGN.md's G2 (cosine cutoff at the potential's R_c)."""
        return self.cutoff.is_default

    def extra_row(self) -> list[float]:
        """Parameters beyond DESIGN.md's G2, as stored in the file: the cutoff row."""
        return self.cutoff.to_row()


@dataclass(frozen=True)
class AngularFunction:
    """Angular function with η (1/Å²), ζ ≥ 1, λ = ±1, counting neighbour pairs of one unordered
    element pair; R_s (Å) shifts the Gaussian, `variant` is "narrow" (with R_jk) or "wide"."""

    eta: float
    zeta: float
    lam: float
    elements: tuple[str, str]
    rs: float = 0.0
    variant: str = "narrow"
    cutoff: CutoffFunction = field(default=DEFAULT_CUTOFF)

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", tuple(sorted(self.elements)))

    @property
    def is_default(self) -> bool:
        """True if this is DESIGN.md's G4 (narrow, R_s = 0, cosine cutoff at the potential's R_c)."""
        return self.rs == 0.0 and self.variant == "narrow" and self.cutoff.is_default

    def extra_row(self) -> list[float]:
        """Parameters beyond DESIGN.md's G4, as stored in the file: R_s, variant number, cutoff row."""
        return [float(self.rs), float(ANGULAR_VARIANTS.index(self.variant)), *self.cutoff.to_row()]


#: columns of the stored tables: DESIGN.md's parameters, then the extra ones
RADIAL_COLUMNS, ANGULAR_COLUMNS = 3, 5
RADIAL_EXTRA, ANGULAR_EXTRA = 3, 5


@dataclass(frozen=True)
class DescriptorSet:
    """The symmetry functions of atoms of one central element: radial then angular."""

    radial: tuple[RadialFunction, ...]
    angular: tuple[AngularFunction, ...]

    @property
    def size(self) -> int:
        """Number of descriptor values per atom."""
        return len(self.radial) + len(self.angular)

    @property
    def is_default(self) -> bool:
        """True if every function is DESIGN.md's G2/G4 (nothing beyond the version-1 file)."""
        return all(f.is_default for f in self.radial) and all(f.is_default for f in self.angular)

    def validate(self, elements: Sequence[str], cutoff: float | None = None) -> None:
        """Raise PotentialError if a function is ill-defined, names an unknown element or has a
        cutoff radius beyond `cutoff` (Å, the potential's)."""
        known = set(elements)
        for kind, funcs in (("radial", self.radial), ("angular", self.angular)):
            if len(set(funcs)) != len(funcs):
                raise PotentialError(f"the {kind} functions of a descriptor set contain duplicates")
            for f in funcs:
                f.cutoff.validate(cutoff)
        for f in self.radial:
            if f.element not in known:
                raise PotentialError(f"radial function names element {f.element!r}, not in {list(elements)}")
            if not (np.isfinite(f.eta) and f.eta >= 0 and np.isfinite(f.rs) and f.rs >= 0):
                raise PotentialError(f"radial function needs finite eta >= 0 and rs >= 0, got {f}")
        for f in self.angular:
            for e in f.elements:
                if e not in known:
                    raise PotentialError(f"angular function names element {e!r}, not in {list(elements)}")
            if not (np.isfinite(f.eta) and f.eta >= 0 and np.isfinite(f.rs) and f.rs >= 0):
                raise PotentialError(f"angular function needs finite eta >= 0 and rs >= 0, got {f}")
            if not (np.isfinite(f.zeta) and f.zeta >= 1):
                raise PotentialError(f"angular function needs zeta >= 1, got {f}")
            if f.lam not in (-1.0, 1.0):
                raise PotentialError(f"angular function needs lambda = +1 or -1, got {f}")
            if f.variant not in ANGULAR_VARIANTS:
                raise PotentialError(f"angular function variant must be one of {ANGULAR_VARIANTS}, got {f.variant!r}")

    def to_arrays(self, elements: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Radial table (n, 6: η, R_s, element index, cutoff radius (0 = the potential's), cutoff
        kind number, α) and angular table (n, 10: η, ζ, λ, a, b, R_s, variant number (0 narrow,
        1 wide), cutoff radius, kind, α). The first 3 and 5 columns are the version-1 tables."""
        index = {e: k for k, e in enumerate(elements)}
        radial = np.array([[f.eta, f.rs, index[f.element], *f.extra_row()] for f in self.radial], float)
        angular = np.array(
            [[f.eta, f.zeta, f.lam, index[f.elements[0]], index[f.elements[1]], *f.extra_row()] for f in self.angular],
            float,
        )
        return (radial.reshape(-1, RADIAL_COLUMNS + RADIAL_EXTRA),
                angular.reshape(-1, ANGULAR_COLUMNS + ANGULAR_EXTRA))

    @classmethod
    def from_arrays(cls, radial: np.ndarray, angular: np.ndarray, elements: Sequence[str]) -> "DescriptorSet":
        """Inverse of to_arrays; also reads the version-1 tables (3 and 5 columns: defaults)."""
        radial = np.asarray(radial, float).reshape(len(radial), -1)
        angular = np.asarray(angular, float).reshape(len(angular), -1)
        if radial.shape[1] not in (RADIAL_COLUMNS, RADIAL_COLUMNS + RADIAL_EXTRA) or (
                angular.shape[1] not in (ANGULAR_COLUMNS, ANGULAR_COLUMNS + ANGULAR_EXTRA)):
            raise PotentialError(f"descriptor tables have {radial.shape[1]} and {angular.shape[1]} columns, "
                                 f"expected 3 or 6 and 5 or 10")

        def cutoff(row: np.ndarray, start: int) -> CutoffFunction:
            return CutoffFunction.from_row(row[start:start + 3]) if len(row) > start else DEFAULT_CUTOFF

        def variant(number: float) -> str:
            if number not in (0.0, 1.0):
                raise PotentialError(f"unknown angular variant number {number}")
            return ANGULAR_VARIANTS[int(number)]

        rad = tuple(RadialFunction(float(r[0]), float(r[1]), elements[int(r[2])], cutoff(r, RADIAL_COLUMNS))
                    for r in radial)
        ang = tuple(
            AngularFunction(float(a[0]), float(a[1]), float(a[2]), (elements[int(a[3])], elements[int(a[4])]),
                            *((float(a[5]), variant(a[6])) if len(a) > ANGULAR_COLUMNS else ()),
                            cutoff=cutoff(a, ANGULAR_COLUMNS + 2))
            for a in angular
        )
        return cls(rad, ang)


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
) -> DescriptorSet:
    """A sensible general-purpose descriptor set for `elements` within `cutoff` (Å).

    Radial: `n_radial` shifted Gaussians per neighbour element, centres R_s evenly spaced
    from `r_min` to `cutoff` (Å) and widths equal to the spacing, η = 1/(2·spacing²),
    so neighbouring Gaussians overlap at about one standard deviation.
    Angular: per unordered neighbour-element pair, every combination of
    η ∈ `angular_etas` (default four values from 1/(2 R_c²) to 1/(2 (R_c/4)²)),
    ζ ∈ `zetas`, λ ∈ `lambdas` — 16 functions per pair by default.
    For two elements and the defaults this gives 16 radial + 48 angular = 64 values per atom.
    """
    if cutoff <= r_min:
        raise PotentialError(f"cutoff {cutoff} Å must exceed r_min {r_min} Å")
    centres = np.linspace(r_min, cutoff, n_radial, endpoint=False)
    spacing = (cutoff - r_min) / n_radial
    eta_r = 1.0 / (2.0 * spacing**2)
    radial = tuple(RadialFunction(eta_r, float(rs), e) for e in elements for rs in centres)
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
