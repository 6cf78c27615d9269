"""The Mo potential of runs/Mo-dft/, trained on the mlearn PBE energies and forces, against the
mlearn authors' n2p2 potential on the structures the training held out (runs/Mo-dft/compare.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import nanomc

RUN = Path(__file__).parents[1] / "runs" / "Mo-dft"


def _compare_module():
    spec = importlib.util.spec_from_file_location("mo_dft_compare", RUN / "compare.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_mo_potential_is_no_further_from_dft_than_n2p2_on_the_held_out_structures():
    """Energy and force RMSE against DFT on the 19 held-out structures: nanomc's are recomputed
    here and must be what the training recorded, and no larger than n2p2's on the same structures."""
    n_structures, n_atoms, table = _compare_module().compare(RUN / "train.toml")
    (e_rmse, _, f_rmse, _), (n2p2_e_rmse, _, n2p2_f_rmse, _) = table.values()
    provenance = nanomc.Potential.load(RUN / "Mo.h5").provenance
    assert n_structures == provenance["n_test"] == 19 and n_atoms == 973
    assert e_rmse == pytest.approx(provenance["test_rmse_meV_per_atom"], rel=1e-6)
    assert f_rmse == pytest.approx(provenance["test_force_rmse_meV_per_A"], rel=1e-6)
    assert e_rmse <= n2p2_e_rmse and f_rmse <= n2p2_f_rmse
