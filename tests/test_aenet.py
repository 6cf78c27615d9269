"""aenet potentials (nanomc.potential.aenet): aenet's own energies and forces, ASCII = binary, bad files.

tests/data/aenet/ holds Au–Cu potentials we trained with aenet 5362e65 and what its predict.x
computed with them (tests/data/aenet/README.md).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nanomc
from conftest import assert_moves_match_full
from nanomc.errors import PotentialFileError
from nanomc.potential.aenet import chebyshev_parameters, parse_aenet_file, read_aenet
from nanomc.training.io import read_xsf

DATA = Path(__file__).parent / "data" / "aenet"
REFERENCE = json.loads((DATA / "reference.json").read_text())
#: E_atom given to generate.x (tests/data/aenet/make_reference.py)
E_ATOM = {"Au": -0.125, "Cu": -0.25}


def files(basis: str, suffix: str = "") -> dict[str, Path]:
    return {e: DATA / f"{e}.{basis}.nn{suffix}" for e in ("Au", "Cu")}


def predictions(basis: str) -> list[tuple[object, dict]]:
    """(structure, predict.x's numbers) for every stored test structure."""
    return [(read_xsf(DATA / "structures" / p["file"]), p) for p in REFERENCE["potentials"][basis]["predictions"]]


@pytest.fixture(scope="module")
def behler():
    return nanomc.Potential.from_aenet(files("behler"))


# --------------------------------------------------------------------------- aenet's own numbers


def assert_matches_predict_x(pot, basis: str) -> None:
    """Total and cohesive energies (eV/atom) of every stored structure within 1e-6 of predict.x."""
    cases = predictions(basis)
    assert len(cases) == 10 and REFERENCE["potentials"][basis]["full_precision"]
    for atoms, p in cases:
        energy = pot.energy(atoms)
        assert abs(energy - p["total_energy"]) / len(atoms) < 1e-6, p["file"]
        cohesive = energy - sum(E_ATOM[s] for s in atoms.get_chemical_symbols())
        assert abs(cohesive - p["cohesive_energy"]) / len(atoms) < 1e-6, p["file"]


def test_behler_energies_match_predict_x(behler):
    """Clusters of 13 and 38 atoms, cubic cells of 4 (self-images within R_c) and 32 atoms,
    non-orthogonal cells of 12: G1, G2, G4 and G5 with four cutoff radii, tanh/twist/sigmoid."""
    assert_matches_predict_x(behler, "behler")


@pytest.mark.parametrize("basis", ["behler", "chebyshev"])
def test_forces_match_predict_x(basis):
    """nanomc's analytic forces against predict.x's (printed to 16 digits) on every structure;
    one coordinate per structure also against central differences of nanomc's energy."""
    pot = read_aenet(files(basis))
    h = 1e-4  # Å: truncation h²/6·|d³E/dx³| ~ 1e-8 eV/Å, rounding ε·|E|/h ~ 1e-10 eV/Å
    for k, (atoms, p) in enumerate(predictions(basis)):
        forces = pot.forces(atoms)
        assert np.abs(forces - np.array(p["forces"])).max() < 1e-6, p["file"]
        i, c = k % len(atoms), k % 3
        moved = [atoms.copy() for _ in range(2)]
        moved[0].positions[i, c] += h
        moved[1].positions[i, c] -= h
        assert forces[i, c] == pytest.approx(-(pot.energy(moved[0]) - pot.energy(moved[1])) / (2 * h), abs=1e-6)


def test_chebyshev_energies_match_predict_x():
    """Radial order 6 (R_c 6 Å) and angular order 3 (R_c 4.5 Å) with type spins, tanh/mtanh."""
    assert_matches_predict_x(read_aenet(files("chebyshev")), "chebyshev")


def test_ascii_and_binary_forms_give_the_same_potential(behler):
    ascii_pot = read_aenet(list(files("behler", ".ascii").values()))
    assert ascii_pot.content_hash() == behler.content_hash()
    for basis in ("behler", "chebyshev"):
        for e in ("Au", "Cu"):
            binary, text = parse_aenet_file(files(basis)[e]), parse_aenet_file(files(basis, ".ascii")[e])
            assert not binary.ascii and text.ascii
            for name in ("weights", "sfparam", "sfenv", "sfval_min", "sfval_max", "sfval_avg", "sfval_cov", "e_atom"):
                assert np.array_equal(getattr(binary, name), getattr(text, name)), (basis, e, name)
            for name in ("nodes", "activations", "atomtype", "envtypes", "sftype", "scale", "shift", "type_names"):
                assert getattr(binary, name) == getattr(text, name), (basis, e, name)


def test_eight_byte_record_markers(tmp_path, behler):
    """Old gfortran wrote 8-byte record markers: same potential."""
    for e, path in files("behler").items():
        write_records(tmp_path / path.name, records(path), marker=8)
    assert read_aenet(sorted(tmp_path.iterdir())).content_hash() == behler.content_hash()


def test_behler_layout(behler):
    """Functions are listed radial first, each placed at its position in aenet's vector (per
    neighbour type: radial, then angular pairs)."""
    assert behler.elements == ("Au", "Cu") and behler.cutoff == 6.0
    for e in behler.elements:
        dset = behler.descriptor_sets[e]
        assert [(f.eta, f.rs, f.element, f.cutoff.radius) for f in dset.radial[:4]] == [
            (0.0, 0.0, "Au", 4.0), (0.5, 0.0, "Au", 6.0), (1.0, 2.5, "Au", 6.0), (0.8, 3.2, "Au", 6.0)]
        assert [f.element for f in dset.radial] == ["Au"] * 4 + ["Cu"] * 4
        assert [(f.elements, f.variant, f.cutoff.radius) for f in dset.angular] == [
            (("Au", "Au"), "narrow", 5.5), (("Au", "Au"), "narrow", 5.5),
            (("Au", "Cu"), "narrow", 5.5), (("Au", "Cu"), "narrow", 5.5), (("Au", "Cu"), "wide", 4.5),
            (("Cu", "Cu"), "narrow", 5.5), (("Cu", "Cu"), "narrow", 5.5), (("Cu", "Cu"), "wide", 4.5)]
        assert (dset.angular[1].lam, dset.angular[1].zeta, dset.angular[1].eta) == (-1.0, 2.0, 0.01)
        assert dset.output_positions == (0, 1, 2, 3, 9, 10, 11, 12, 4, 5, 6, 7, 8, 13, 14, 15)
        f = parse_aenet_file(files("behler")[e])
        assert behler.e0[e] == f.shift + E_ATOM[e]
    cu = behler.networks["Cu"].layers
    assert [(lay.activation, lay.twist) for lay in cu] == [("twisted_tanh", 0.1), ("sigmoid", 0.0), ("linear", 0.0)]
    assert behler.networks["Au"].sizes == [16, 5, 5, 1] and behler.provenance["source"] == "aenet"


def test_chebyshev_file_parameters():
    for e, acts in (("Au", (1, 1, 0)), ("Cu", (3, 0, 0))):
        f = parse_aenet_file(files("chebyshev")[e])
        assert (f.atomtype, f.sftype, f.nodes, f.activations) == (e, "Chebyshev", (22, 5, 5, 1), acts)
        assert chebyshev_parameters(f) == {"elements": ("Au", "Cu"), "radial_order": 6, "radial_cutoff": 6.0,
                                           "angular_order": 3, "angular_cutoff": 4.5, "type_spins": (-1.0, 1.0)}
        assert f.rc_max == 6.0 and f.rc_min == 1.5 and f.type_names == ("Au", "Cu")
        assert np.array_equal(f.e_atom, [E_ATOM["Au"], E_ATOM["Cu"]]) and f.n_structures == 60
        assert np.all(f.sfval_cov >= f.sfval_avg**2 - 1e-12) and np.all(f.sfval_min <= f.sfval_max)


# --------------------------------------------------------------------------- nanomc machinery


def test_incremental_engine_on_aenet_potential(behler):
    atoms, _ = predictions("behler")[1]
    assert_moves_match_full(behler, atoms, cache=True, seed=3, trials=12)


def test_save_load_round_trip(tmp_path, behler):
    behler.save(tmp_path / "aucu.h5")
    again = nanomc.Potential.load(tmp_path / "aucu.h5")
    assert again.content_hash() == behler.content_hash()
    atoms, _ = predictions("behler")[2]
    assert again.energy(atoms) == behler.energy(atoms)


# --------------------------------------------------------------------------- bad files


def records(path: Path) -> list[bytes]:
    """The records of a little-endian, 4-byte-marker Fortran file."""
    data, out, p = path.read_bytes(), [], 0
    while p < len(data):
        n = int.from_bytes(data[p:p + 4], "little")
        out.append(data[p + 4:p + 4 + n])
        p += n + 8
    return out


def write_records(path: Path, recs: list[bytes], marker: int = 4) -> Path:
    path.write_bytes(b"".join(len(r).to_bytes(marker, "little") + r + len(r).to_bytes(marker, "little")
                              for r in recs))
    return path


def patched(tmp_path: Path, index: int, values: list[int]) -> dict[str, Path]:
    """The Behler files with integer record `index` of the Au file replaced by `values`."""
    recs = records(files("behler")["Au"])
    recs[index] = np.array(values, "<i4").tobytes() + recs[index][4 * len(values):]
    return {"Au": write_records(tmp_path / "Au.nn", recs), "Cu": files("behler")["Cu"]}


def one_line_error(call, *words: str) -> str:
    with pytest.raises(PotentialFileError) as exc:
        call()
    message = str(exc.value)
    assert "\n" not in message
    for w in words:
        assert w in message, message
    return message


def test_truncated_binary(tmp_path):
    path = tmp_path / "Au.nn"
    path.write_bytes(files("behler")["Au"].read_bytes()[:-20])
    one_line_error(lambda: parse_aenet_file(path), "Au.nn", "truncated or corrupt after record 35")
    path.write_bytes(b"".join(len(r).to_bytes(4, "little") + r + len(r).to_bytes(4, "little")
                              for r in records(files("behler")["Au"])[:20]))
    one_line_error(lambda: parse_aenet_file(path), "Au.nn", "truncated: ends after record 20")


def test_truncated_ascii(tmp_path):
    path = tmp_path / "Au.nn.ascii"
    path.write_text("\n".join(files("behler", ".ascii")["Au"].read_text().splitlines()[:-3]) + "\n")
    one_line_error(lambda: parse_aenet_file(path), "Au.nn.ascii:", "truncated: file ends while reading nAtomsTot")


def test_not_an_aenet_file(tmp_path):
    path = tmp_path / "noise.nn"
    path.write_bytes(np.random.default_rng(0).bytes(300))
    one_line_error(lambda: parse_aenet_file(path), "noise.nn", "4- or 8-byte markers")
    one_line_error(lambda: parse_aenet_file(tmp_path / "absent.nn"), "absent.nn", "cannot read")


def test_wrong_record_size(tmp_path):
    recs = records(files("behler")["Au"])
    recs[8] = recs[8][:-8]  # one weight short
    path = write_records(tmp_path / "Au.nn", recs)
    one_line_error(lambda: parse_aenet_file(path), "record 9 (weights W) has", "expected")


def test_extra_records(tmp_path):
    recs = records(files("behler")["Au"])
    path = write_records(tmp_path / "Au.nn", recs + [recs[-1]])
    one_line_error(lambda: parse_aenet_file(path), "1 more records than an aenet potential has")


def test_g3_is_an_error(tmp_path):
    one_line_error(lambda: read_aenet(patched(tmp_path, 18, [3])), "Au.nn", "function 1 is Behler's G3")


def test_unknown_and_nonlinear_output_activations(tmp_path):
    one_line_error(lambda: read_aenet(patched(tmp_path, 5, [7])), "layer 2 has activation type 7")
    one_line_error(lambda: read_aenet(patched(tmp_path, 5, [1, 1, 1])), "output layer activation type 1")


def test_element_mismatch_and_missing_element_file():
    behler = files("behler")
    one_line_error(lambda: read_aenet({"Cu": behler["Au"], "Au": behler["Cu"]}),
                   "Au.behler.nn", "element mismatch: given for Cu, but it is the potential of Au")
    one_line_error(lambda: read_aenet([behler["Au"]]), "Au.behler.nn", "missing element file: environment type Cu")
    one_line_error(lambda: read_aenet([behler["Au"], behler["Au"]]), "second potential of Au")
    one_line_error(lambda: read_aenet({"Au": behler["Au"], "Cu": files("chebyshev")["Cu"]}),
                   "Cu.chebyshev.nn", "basis Chebyshev differs from Behler2011")


def test_files_without_sfval_cov(tmp_path):
    """aenet before 2.0 stored no sfval_cov: parsed, but not converted (unknown normalisation)."""
    recs = records(files("behler")["Au"])
    path = write_records(tmp_path / "Au.nn", recs[:25] + recs[26:])
    assert parse_aenet_file(path).sfval_cov is None
    one_line_error(lambda: read_aenet({"Au": path, "Cu": files("behler")["Cu"]}), "Au.nn", "before aenet 2.0")


def test_chebyshev_angular_cutoff_beyond_radial_is_an_error(tmp_path):
    """With several elements aenet's typed angular values reuse a stale type spin for
    neighbours between R_c^r and R_c^a (sfbasis.f90 sfb_eval), so such a set-up is refused."""
    recs = records(files("chebyshev")["Au"])
    params = np.frombuffer(recs[19], "<f8").copy()
    assert params[:4].tolist() == [6.0, 6.0, 4.5, 3.0]  # radial R_c, order, angular R_c, order
    params[2] = 6.5
    recs[19] = params.tobytes()
    bad = {"Au": write_records(tmp_path / "Au.nn", recs), "Cu": files("chebyshev")["Cu"]}
    one_line_error(lambda: read_aenet(bad), "Au.nn", "angular cutoff 6.5 Å exceeds the radial cutoff 6.0 Å")
