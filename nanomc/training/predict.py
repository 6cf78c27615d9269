"""Energies of structures with a potential, errors against reference energies, parity plot."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from ase import Atoms

from ..potential import Potential


@dataclass
class Prediction:
    """Per structure: label, atom count (vacancies not counted), predicted and reference energy
    (eV; NaN if unknown)."""

    labels: list[str]
    n_atoms: np.ndarray
    predicted: np.ndarray
    reference: np.ndarray

    @property
    def error_mev(self) -> np.ndarray:
        """Per-atom error (meV/atom) predicted − reference."""
        return 1000 * (self.predicted - self.reference) / self.n_atoms

    def summary(self) -> dict[str, float]:
        """RMSE and MAE (meV/atom) over structures with a reference energy."""
        err = self.error_mev[np.isfinite(self.reference)]
        if not len(err):
            return {}
        return {"rmse_meV_per_atom": float(np.sqrt(np.mean(err**2))), "mae_meV_per_atom": float(np.mean(np.abs(err))),
                "n": len(err)}


def predict(potential: Potential, structures: Sequence[Atoms], labels: Sequence[str]) -> Prediction:
    """Energies of every structure; reference energies from info['energy'] when present."""
    return Prediction(
        list(labels), np.array([np.count_nonzero(a.numbers) for a in structures]),
        np.array([potential.energy(a) for a in structures]),
        np.array([float(a.info.get("energy", np.nan)) for a in structures]))


def parity_plot(prediction: Prediction, path: str | Path, title: str = "") -> None:
    """Predicted vs reference energy per atom (eV/atom), with the y = x line and RMSE/MAE."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = np.isfinite(prediction.reference)
    ref = prediction.reference[ok] / prediction.n_atoms[ok]
    pred = prediction.predicted[ok] / prediction.n_atoms[ok]
    stats = prediction.summary()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=120)
    lo, hi = min(ref.min(), pred.min()), max(ref.max(), pred.max())
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.5", lw=1, label="y = x")
    ax.scatter(ref, pred, s=10, alpha=0.7, label=f"{len(ref)} structures")
    ax.set_xlabel("reference energy (eV/atom)")
    ax.set_ylabel("predicted energy (eV/atom)")
    ax.set_title(title or f"RMSE {stats['rmse_meV_per_atom']:.2f} meV/atom, MAE {stats['mae_meV_per_atom']:.2f} meV/atom",
                 fontsize=10)
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
