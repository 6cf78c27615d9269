"""Pictures of particles: the whole particle and a slice through its centre, coloured by element (PNG).

Atoms are discs of radius s·r_cov (ASE covalent radii, Jmol colours), s chosen so that the
closest pair of atoms just touches (s ≤ 1), drawn back to front. A vacancy (X) is a small open
grey circle. The whole particle, darker with depth, is seen along a tilted direction (rotated 20° about x, then
−30° about y, so that three facets show); the slice is the layer of sites within half the host
nearest-neighbour distance d above the centre along z (the third cell axis),
−d/8 ≤ z − z_centre < d/2, seen along z: one atomic plane of an fcc metal, the central cation
plane and the anion plane above it in a fluorite, so that no site hides another.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import covalent_radii
from ase.data.colors import jmol_colors
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import EllipseCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..structure import build_neighbor_list
from .sublattice import VACANCY

#: vacancy marker: radius (Å) and colour
VACANCY_RADIUS = 0.45
VACANCY_COLOUR = "0.45"
#: view of the whole particle: rotations (degrees) about x, then y
TILT = (20.0, -30.0)


def _radius_scale(atoms: Atoms, radii: np.ndarray) -> float:
    """Largest s ≤ 1 with s·(r_i + r_j) ≤ d_ij for every pair of atoms."""
    if len(atoms) < 2:
        return 1.0
    nl = build_neighbor_list(atoms, 2.0 * radii.max())
    if not len(nl.indices):
        return 1.0
    centre = np.repeat(np.arange(len(atoms)), np.diff(nl.offsets))
    return float(min(1.0, np.min(nl.distances / (radii[centre] + radii[nl.indices]))))


def _rotation(x_deg: float, y_deg: float) -> np.ndarray:
    a, b = np.radians(x_deg), np.radians(y_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    return ry @ rx


def _draw(ax, xyz: np.ndarray, radius: np.ndarray, colour: np.ndarray, vacancy: np.ndarray,
          shade: bool = False) -> None:
    """Discs seen along −z (larger z in front), back to front; vacancies as open circles.

    shade: darken atoms with depth (the farthest to 55 % brightness) so that the shape reads in 3D.
    """
    order = np.argsort(xyz[:, 2])
    xyz, radius, colour, vacancy = xyz[order], radius[order], colour[order], vacancy[order]
    if shade and np.ptp(xyz[:, 2]) > 0:
        colour = colour * (0.55 + 0.45 * (xyz[:, 2] - xyz[:, 2].min()) / np.ptp(xyz[:, 2]))[:, None]
    face = np.where(vacancy[:, None], 0.0, np.c_[colour, np.ones(len(colour))])
    edge = np.where(vacancy[:, None], np.r_[np.full(3, float(VACANCY_COLOUR)), 1.0], np.r_[0.1, 0.1, 0.1, 1.0])
    width = np.where(vacancy, 1.1, 0.4)
    ax.add_collection(EllipseCollection(2 * radius, 2 * radius, np.zeros(len(radius)), units="xy",
                                        offsets=xyz[:, :2], offset_transform=ax.transData, facecolors=face,
                                        edgecolors=edge, linewidths=width))
    pad = radius.max() if len(radius) else 1.0
    ax.set_xlim(xyz[:, 0].min() - pad, xyz[:, 0].max() + pad)
    ax.set_ylim(xyz[:, 1].min() - pad, xyz[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def render(atoms: Atoms, path: str | Path, slice_width: float, title: str = "") -> Path:
    """Write a PNG of `atoms`: whole (tilted view) and the slice −w/8 ≤ z − z_centre < w/2 (w = slice_width, Å)."""
    path = Path(path)
    symbols = np.array(atoms.get_chemical_symbols())
    vacancy = symbols == VACANCY
    numbers = atoms.numbers
    radius = covalent_radii[numbers].copy()
    radius *= _radius_scale(atoms[~vacancy], radius[~vacancy])
    radius[vacancy] = VACANCY_RADIUS
    colour = jmol_colors[numbers]
    centred = atoms.positions - atoms.positions.mean(axis=0)
    fig = Figure(figsize=(10.0, 5.4), dpi=110)
    FigureCanvasAgg(fig)
    whole, cut = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    _draw(whole, centred @ _rotation(*TILT).T, radius, colour, vacancy, shade=True)
    whole.set_title("whole particle", fontsize=10)
    layer = (centred[:, 2] >= -0.125 * slice_width) & (centred[:, 2] < 0.5 * slice_width)
    _draw(cut, centred[layer], radius[layer], colour[layer], vacancy[layer])
    cut.set_title(f"slice through the centre, {-0.125 * slice_width:.2f} ≤ z < {0.5 * slice_width:.2f} Å, "
                  "seen along z", fontsize=10)
    handles = [Line2D([], [], ls="", marker="o", ms=9, mfc=jmol_colors[numbers[symbols == e][0]], mec="0.1",
                      label=f"{e} ({(symbols == e).sum()})") for e in dict.fromkeys(symbols[~vacancy])]
    if vacancy.any():
        handles.append(Line2D([], [], ls="", marker="o", ms=6, mfc="none", mec=VACANCY_COLOUR,
                              label=f"vacancy ({vacancy.sum()})"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False, fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    fig.savefig(path)
    return path


def write_renders(structures: list[Atoms], directory: str | Path, slice_width: float) -> list[Path]:
    """One PNG per structure, particle_<name>.png in `directory`; returns the paths written."""
    directory = Path(directory)
    return [render(atoms, directory / f"particle_{atoms.info['name']}.png", slice_width, atoms.info.get("title", ""))
            for atoms in structures]
