"""Behler–Parrinello symmetry-function parameter sets (radial G2, angular G4).

Definitions (DESIGN.md), distances in Å, cutoff R_c in Å:

    f_c(R) = ½[cos(πR/R_c) + 1] for R < R_c, else 0
    G2_i   = Σ_{j≠i, e(j)=e} exp(−η (R_ij − R_s)²) f_c(R_ij)
    G4_i   = 2^{1−ζ} Σ_{j<k, {e(j),e(k)}={a,b}} (1 + λ cos θ_ijk)^ζ
             · exp(−η (R_ij² + R_ik² + R_jk²)) f_c(R_ij) f_c(R_ik) f_c(R_jk)

Each central element has its own DescriptorSet; the descriptor vector of an atom lists its
radial functions first, then its angular functions, in the order given.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations_with_replacement
from typing import Sequence

import numpy as np

from ..errors import PotentialError


@dataclass(frozen=True)
class RadialFunction:
    """G2 with width η (1/Å²), centre R_s (Å), counting neighbours of one element."""

    eta: float
    rs: float
    element: str


@dataclass(frozen=True)
class AngularFunction:
    """G4 with η (1/Å²), ζ ≥ 1, λ = ±1, counting neighbour pairs of one unordered element pair."""

    eta: float
    zeta: float
    lam: float
    elements: tuple[str, str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", tuple(sorted(self.elements)))


@dataclass(frozen=True)
class DescriptorSet:
    """The symmetry functions of atoms of one central element: radial then angular."""

    radial: tuple[RadialFunction, ...]
    angular: tuple[AngularFunction, ...]

    @property
    def size(self) -> int:
        """Number of descriptor values per atom."""
        return len(self.radial) + len(self.angular)

    def validate(self, elements: Sequence[str]) -> None:
        """Raise PotentialError if a function is ill-defined or names an unknown element."""
        known = set(elements)
        for kind, funcs in (("radial", self.radial), ("angular", self.angular)):
            if len(set(funcs)) != len(funcs):
                raise PotentialError(f"the {kind} functions of a descriptor set contain duplicates")
        for f in self.radial:
            if f.element not in known:
                raise PotentialError(f"radial function names element {f.element!r}, not in {list(elements)}")
            if not (np.isfinite(f.eta) and f.eta >= 0 and np.isfinite(f.rs) and f.rs >= 0):
                raise PotentialError(f"radial function needs finite eta >= 0 and rs >= 0, got {f}")
        for f in self.angular:
            for e in f.elements:
                if e not in known:
                    raise PotentialError(f"angular function names element {e!r}, not in {list(elements)}")
            if not (np.isfinite(f.eta) and f.eta >= 0):
                raise PotentialError(f"angular function needs finite eta >= 0, got {f}")
            if not (np.isfinite(f.zeta) and f.zeta >= 1):
                raise PotentialError(f"angular function needs zeta >= 1, got {f}")
            if f.lam not in (-1.0, 1.0):
                raise PotentialError(f"angular function needs lambda = +1 or -1, got {f}")

    def to_arrays(self, elements: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Radial table (n, 3: η, R_s, element index) and angular table (n, 5: η, ζ, λ, a, b)."""
        index = {e: k for k, e in enumerate(elements)}
        radial = np.array([[f.eta, f.rs, index[f.element]] for f in self.radial], float).reshape(-1, 3)
        angular = np.array(
            [[f.eta, f.zeta, f.lam, index[f.elements[0]], index[f.elements[1]]] for f in self.angular],
            float,
        ).reshape(-1, 5)
        return radial, angular

    @classmethod
    def from_arrays(cls, radial: np.ndarray, angular: np.ndarray, elements: Sequence[str]) -> "DescriptorSet":
        """Inverse of to_arrays."""
        rad = tuple(RadialFunction(float(r[0]), float(r[1]), elements[int(r[2])]) for r in radial)
        ang = tuple(
            AngularFunction(float(a[0]), float(a[1]), float(a[2]), (elements[int(a[3])], elements[int(a[4])]))
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
