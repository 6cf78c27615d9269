"""n2p2 potentials (nanomc.potential.n2p2): n2p2's own energies, a slow reference, bad files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.cluster import Octahedron
from ase.io import read

import nanomc
from conftest import (
    assert_cache_paths_agree,
    assert_moves_match_full,
    bulk_alloy,
    make_potential,
    random_cluster,
    random_occupation,
    skewed_cell,
    structure_zoo,
)
from nanomc.errors import PotentialFileError
from nanomc.local_energy import LocalEnergyModel
from nanomc.potential import AngularFunction, CutoffFunction, DescriptorSet, RadialFunction
from reference import ref_descriptors, ref_n2p2_energy

DATA = Path(__file__).parent / "data" / "mlearn"
#: the mlearn potentials work in Bohr and Hartree (tests/data/mlearn/README.md)
BOHR, HARTREE = 1 / 1.8897261328, 1 / 0.0367493254


@pytest.fixture(scope="module")
def ni():
    return nanomc.Potential.from_n2p2(DATA / "Ni-nnp", length_unit=BOHR, energy_unit=HARTREE)


@pytest.fixture(scope="module")
def ni_test():
    return read(DATA / "Ni-test.extxyz", ":")


# --------------------------------------------------------------------------- n2p2's own numbers


def test_ni_test_set_matches_n2p2_energies(ni, ni_test):
    """Every Ni-test structure (vacancies, surfaces, AIMD snapshots, sheared cells)."""
    assert len(ni_test) == 31
    errors = [(ni.energy(a) - a.info["n2p2_energy"]) / len(a) for a in ni_test]
    assert np.max(np.abs(errors)) < 1e-6
    # and the n2p2 potential is the one the README describes: 2.25 meV/atom from DFT
    dft = [(a.info["n2p2_energy"] - a.info["dft_energy"]) / len(a) for a in ni_test]
    assert np.sqrt(np.mean(np.square(dft))) == pytest.approx(2.25e-3, abs=0.01e-3)


def test_named_units_give_the_same_energies(ni, ni_test):
    named = nanomc.Potential.from_n2p2(DATA / "Ni-nnp", length_unit="bohr", energy_unit="hartree")
    for a in ni_test[::6]:
        assert abs(named.energy(a) - a.info["n2p2_energy"]) / len(a) < 1e-6


def test_ni_potential_layout(ni):
    """27 functions (3 radial, 24 narrow angular) in n2p2's order, cutoff 7.37 Bohr in Å."""
    dset = ni.descriptor_sets["Ni"]
    assert ni.elements == ("Ni",) and dset.size == 27 and len(dset.radial) == 3
    assert ni.cutoff == pytest.approx(7.3699319 * BOHR)
    zetas = [f.zeta for f in dset.angular[:8]]
    assert zetas == [1, 1, 2, 2, 4, 4, 16, 16]  # sorted (input.nn lists 1, 16, 2, 4)
    assert [f.lam for f in dset.angular[:2]] == [-1, 1]
    assert dset.radial[0].eta == pytest.approx(0.01 / BOHR**2)
    assert ni.e0["Ni"] == pytest.approx(-0.97 * HARTREE)


def test_reference_reproduces_n2p2(ni_test):
    """The slow reference (tests/reference.py) is itself checked against n2p2's numbers."""
    for a in (ni_test[4], ni_test[5]):
        assert abs(ref_n2p2_energy(DATA / "Ni-nnp", a, BOHR, HARTREE) - a.info["n2p2_energy"]) / len(a) < 1e-9


def test_incremental_engine_on_ni_particle(ni):
    """A Ni particle: the engine's energy equals full evaluation (one element: no moves)."""
    atoms = Octahedron("Ni", 7, 2, latticeconstant=3.52)
    model = LocalEnergyModel(ni, atoms)
    assert model.energy == pytest.approx(ni.energy(atoms), rel=1e-12)
    assert model.recompute() == pytest.approx(ni.energy(atoms), rel=1e-12)


def test_cu_and_mo_evaluate():
    """Cu and Mo potentials: finite, sensible energies; Mo close to its DFT training data."""
    cu = nanomc.Potential.from_n2p2(DATA / "Cu-nnp", BOHR, HARTREE)
    mo = nanomc.Potential.from_n2p2(DATA / "Mo-nnp", BOHR, HARTREE)
    assert cu.descriptor_sets["Cu"].radial[0].rs == pytest.approx(5.6691784 * BOHR)
    assert mo.descriptor_sets["Mo"].size == 39
    from ase.build import bulk

    e_cu = cu.energy(bulk("Cu", "fcc", a=3.62, cubic=True).repeat(2)) / 32
    e_mo = mo.energy(bulk("Mo", "bcc", a=3.16, cubic=True).repeat(2)) / 16
    assert -4.3 < e_cu < -3.9 and -11.1 < e_mo < -10.6  # eV/atom, PBE (VASP) cohesive scale
    frames = read(DATA / "Mo-train.extxyz", ":")
    assert len(frames) == 194
    err = np.array([(mo.energy(a) - a.info["dft_energy"]) / len(a) for a in frames])
    assert np.all(np.isfinite(err))
    assert np.sqrt(np.mean(err**2)) < 0.010  # 6.1 meV/atom


def test_save_load_round_trip(tmp_path, ni, ni_test):
    path = tmp_path / "ni.h5"
    ni.save(path)
    again = nanomc.Potential.load(path)
    assert again.content_hash() == ni.content_hash()
    for a in ni_test[::5]:
        assert again.energy(a) == ni.energy(a)
    assert again.provenance["source"] == "n2p2"


# --------------------------------------------------------------------------- synthetic potentials


def write_n2p2(directory: Path, cutoff_type="1", scaling=("scale_symmetry_functions",), activations="t t l",
               normalisation=False, normalize_nodes=False, seed=0, hidden=(5, 4)) -> Path:
    """A random two-element (Pt, Cu) n2p2 potential in Bohr/Hartree: types 2, 3 and 9 with two
    radii, shifted and unshifted, written in shuffled order; returns the directory."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    elements = ["Pt", "Cu"]  # not in atomic-number order: nanomc must sort them
    lines = []
    for c in elements:
        for e in elements:
            for eta, rs, rc in ((0.02, 0.0, 10.5), (0.3, 4.5, 8.0), (0.05, 0.0, 8.0), (0.2, 6.0, 10.5)):
                lines.append(f"symfunction_short {c} 2 {e} {eta} {rs} {rc}")
        for a, b in (("Pt", "Pt"), ("Pt", "Cu"), ("Cu", "Cu")):
            for t, eta, lam, zeta, rc, rs in ((3, 0.005, 1, 1.0, 10.5, None), (3, 0.01, -1, 2.0, 8.0, 1.5),
                                              (9, 0.005, -1, 4.5, 10.5, None), (9, 0.02, 1, 1.0, 8.0, 2.0),
                                              (3, 0.005, -1, 1.0, 10.5, None)):
                lines.append(f"symfunction_short {c} {t} {a} {b} {eta} {lam} {zeta} {rc}" + (f" {rs}" if rs else ""))
    order = rng.permutation(len(lines))
    header = [
        "# synthetic n2p2 potential for nanomc's tests",
        "number_of_elements 2",
        "elements Pt Cu",
        "atom_energy Cu -0.75",
        "atom_energy Pt -1.25   # Hartree",
        f"cutoff_type {cutoff_type}",
        *scaling,
        "scale_min_short -1.0",
        "scale_max_short 1.0",
        f"global_hidden_layers_short {len(hidden)}",
        f"global_nodes_short {' '.join(map(str, hidden))}",
        f"global_activation_short {activations}",
        "epochs 10",
        "use_short_forces",
    ]
    if normalisation:
        header = ["mean_energy -0.5", "conv_energy 3.5", "conv_length 1.7"] + header
    if normalize_nodes:
        header.append("normalize_nodes")
    (directory / "input.nn").write_text("\n".join(header + [lines[k] for k in order]) + "\n")
    n_sf = len(lines) // 2
    rows = ["# element function min max mean sigma"]
    for k in range(2):
        for m in range(n_sf):
            lo = rng.uniform(0.0, 0.5)
            hi = lo + rng.uniform(0.5, 3.0)
            rows.append(f"{k + 1:4d} {m + 1:4d} {lo:.17e} {hi:.17e} {rng.uniform(lo, hi):.17e} {rng.uniform(0.2, 1.0):.17e}")
    (directory / "scaling.data").write_text("\n".join(rows) + "\n")
    sizes = [n_sf, *hidden, 1]
    for z in (29, 78):
        out, count = ["# weights"], 0
        for layer in range(len(sizes) - 1):
            for i in range(sizes[layer]):
                for j in range(sizes[layer + 1]):
                    count += 1
                    out.append(f"{rng.uniform(-0.4, 0.4): .17e} a {count:9d} {layer:5d} {i + 1:5d} {layer + 1:5d} {j + 1:5d}")
            for j in range(sizes[layer + 1]):
                count += 1
                out.append(f"{rng.uniform(-0.2, 0.2): .17e} b {count:9d} {layer + 1:5d} {j + 1:5d}")
        (directory / f"weights.{z:03d}.data").write_text("\n".join(out) + "\n")
    return directory


def cu_pt_structures():
    return [random_cluster(["Cu", "Pt"], 14, 3, min_dist=2.2),
            bulk_alloy(["Cu", "Pt"], 4, a=3.9, repeat=(2, 1, 1)),
            skewed_cell(["Cu", "Pt"], 5)]


CONFIGS = [  # (cutoff_type, scaling keywords, activations, normalisation, normalize_nodes)
    ("1", ("scale_symmetry_functions",), "t t l", False, False),
    ("0", ("center_symmetry_functions",), "s p l", True, False),
    ("2 0.3", ("scale_symmetry_functions", "center_symmetry_functions"), "p t l", False, True),
    ("3", ("scale_symmetry_functions_sigma",), "r g l", True, False),
    ("4 0.2", (), "c S l", False, False),
    ("5 0.1", ("scale_symmetry_functions",), "e t l", True, True),
    ("6", ("scale_symmetry_functions_sigma", "center_symmetry_functions"), "h t l", False, False),
    ("7 0.5", ("scale_symmetry_functions_sigma",), "t s l", False, False),
    ("8", ("scale_symmetry_functions", "center_symmetry_functions"), "t t l", True, False),
    ("1 0.4", ("scale_symmetry_functions",), "t t l", False, False),
]


@pytest.mark.parametrize("config", CONFIGS, ids=[f"cutoff{c[0].replace(' ', '_')}-{c[2].replace(' ', '')}" for c in CONFIGS])
def test_synthetic_potential_matches_reference(tmp_path, config):
    """Cutoff types 0–8 (with α), every scaling mode, activations, mean_energy/conv_energy,
    normalize_nodes, types 2/3/9 with r_s and two radii, two elements: against the slow reference."""
    cutoff_type, scaling, acts, norm, nodes = config
    d = write_n2p2(tmp_path / "pot", cutoff_type, scaling, acts, norm, nodes, seed=len(acts) + int(cutoff_type[0]))
    pot = nanomc.Potential.from_n2p2(d, BOHR, HARTREE)
    assert pot.elements == ("Cu", "Pt")  # by atomic number
    for atoms in cu_pt_structures():
        expected = ref_n2p2_energy(d, atoms, BOHR, HARTREE)
        assert pot.energy(atoms) == pytest.approx(expected, rel=1e-10, abs=1e-9 * len(atoms))


def test_synthetic_layout_follows_n2p2_order(tmp_path):
    """Radial before narrow before wide; within a type by r_c, η, r_s, ζ, λ, elements."""
    pot = nanomc.Potential.from_n2p2(write_n2p2(tmp_path / "pot"), BOHR, HARTREE)
    dset = pot.descriptor_sets["Cu"]
    rad_keys = [(f.cutoff.radius, f.eta, f.rs, pot.elements.index(f.element)) for f in dset.radial]
    assert rad_keys == sorted(rad_keys) and len(rad_keys) == 8
    variants = [f.variant for f in dset.angular]
    assert variants == sorted(variants)  # "narrow" < "wide"
    narrow = [(f.cutoff.radius, f.eta, f.rs, f.zeta, f.lam, tuple(sorted(pot.elements.index(e) for e in f.elements)))
              for f in dset.angular if f.variant == "narrow"]
    assert narrow == sorted(narrow) and len(narrow) == 9
    assert {f.cutoff.kind for f in dset.radial} == {"cos"}
    assert {round(f.cutoff.radius / BOHR, 6) for f in dset.angular} == {8.0, 10.5}


@pytest.mark.parametrize("cache", [True, False])
def test_incremental_engine_on_synthetic_n2p2(tmp_path, cache):
    """delta_swap / delta_flip on a two-element n2p2 potential equal full re-evaluation."""
    pot = nanomc.Potential.from_n2p2(write_n2p2(tmp_path / "pot", "6 0.2", seed=9), BOHR, HARTREE)
    atoms = random_occupation(Octahedron("Cu", 5, 1, latticeconstant=3.8), ["Cu", "Pt"], 1)
    assert_moves_match_full(pot, atoms, cache, seed=1)


def test_converted_potential_runs_a_campaign(tmp_path):
    """Load, save in nanomc's format, run a short canonical campaign from a parameter file."""
    from nanomc.campaign import run_campaign

    pot = nanomc.Potential.from_n2p2(write_n2p2(tmp_path / "pot", seed=4), BOHR, HARTREE)
    pot.save(tmp_path / "CuPt.h5")
    params = tmp_path / "params.toml"
    params.write_text(
        '[particle]\nshape = "octahedron"\nsize = 4\ncomposition = { Cu = 0.5, Pt = 0.5 }\n'
        'lattice_constant = 3.8\n\n[potential]\nfile = "CuPt.h5"\n\n'
        '[mc]\ntemperatures = [500.0]\nsweeps = 3\nseed = 1\n\n[output]\ndirectory = "out"\n'
    )
    run_campaign(params, quiet=True)
    assert (tmp_path / "out" / "results.h5").is_file()


# --------------------------------------------------------------------------- bad files


def _fails(directory, *words):
    with pytest.raises(PotentialFileError) as exc:
        nanomc.Potential.from_n2p2(directory, BOHR, HARTREE)
    message = str(exc.value)
    assert "\n" not in message
    for w in words:
        assert w in message, message
    return message


def _append(path: Path, text: str) -> int:
    """Append a line; returns its line number."""
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines + [text]) + "\n")
    return len(lines) + 1


def _replace(path: Path, old: str, new: str) -> int:
    """Replace the first line starting with `old`; returns its line number."""
    lines = path.read_text().splitlines()
    k = next(k for k, line in enumerate(lines) if line.startswith(old))
    lines[k] = new
    path.write_text("\n".join(lines) + "\n")
    return k + 1


@pytest.fixture
def good(tmp_path):
    return write_n2p2(tmp_path / "pot", seed=2)


def test_truncated_weights_file(good):
    path = good / "weights.078.data"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-3]) + "\n")
    _fails(good, "weights.078.data", "truncated", f"line {len(lines) - 3}")


def test_truncated_scaling_file(good):
    path = good / "scaling.data"
    path.write_text("\n".join(path.read_text().splitlines()[:-1]) + "\n")
    _fails(good, "scaling.data", "truncated", "Pt")


def test_scaling_line_with_wrong_indices(good):
    n = _replace(good / "scaling.data", "   1    3", "   1    4 0.1 0.9 0.5 0.3")
    _fails(good, f"scaling.data:{n}:", "expected element 1 function 3")


def test_weights_line_with_wrong_indices(good):
    path = good / "weights.029.data"
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace(" a ", " b ")
    path.write_text("\n".join(lines) + "\n")
    _fails(good, "weights.029.data:6:", "expected a")


@pytest.mark.parametrize("line, words", [
    ("symfunction_short Cu 12 0.01 0.0 8.0", ["type 12 is not supported", "2, 3, 9"]),
    ("symfunction_short Cu 21 Cu Cu 0.0 8.0 0.0 180.0", ["type 21 is not supported"]),
    ("symfunction_short Cu 2 Cu abc 0.0 8.0", ["eta must be a number", "'abc'"]),
    ("symfunction_short Cu 2 Cu 0.1 0.0", ["type 2 needs 6 fields"]),
    ("symfunction_short Cu 3 Cu Au 0.1 1 1 8.0", ["element 'Au' is not in the elements list"]),
    ("symfunction_short Cu 3 Cu Cu 0.1 0.5 1 8.0", ["lambda 0.5 is not supported"]),
    ("symfunction_short Cu 2 Pt 0.02 0.0 10.5", ["duplicate symmetry function"]),
    ("element_nodes_short Cu 3 3", ["per-element network topologies are not supported"]),
    ("nnp_type 4G-HDNNP", ["nnp_type 4G-HDNNP is not supported"]),
    ("cutoff_type 2", ["cutoff_type given twice"]),
])
def test_bad_input_lines(good, line, words):
    n = _append(good / "input.nn", line)
    _fails(good, f"input.nn:{n}:", *words)


@pytest.mark.parametrize("keyword, value, words", [
    ("cutoff_type", "cutoff_type 9", ["cutoff_type 9 is not supported"]),
    ("cutoff_type", "cutoff_type 1 1.5", ["alpha"]),
    ("global_activation_short", "global_activation_short t x l", ["activation 'x' is not supported"]),
    ("global_activation_short", "global_activation_short t t t", ["output activation 't' is not supported"]),
    ("global_nodes_short", "global_nodes_short 5", ["global_nodes_short needs 2 argument(s)"]),
    ("elements", "elements Pt Xx", ["unknown element symbol 'Xx'"]),
])
def test_unsupported_keyword_values(good, keyword, value, words):
    n = _replace(good / "input.nn", keyword, value)
    _fails(good, f"input.nn:{n}:", *words)


def test_element_count_mismatch(good):
    n = _replace(good / "input.nn", "number_of_elements", "number_of_elements 3")
    _fails(good, f"input.nn:{n + 1}:", "elements lists 2 distinct symbols", f"number_of_elements (line {n}) says 3")


def test_missing_keyword_and_partial_normalisation(good):
    _replace(good / "input.nn", "cutoff_type", "# no cutoff type")
    _fails(good, "input.nn", "keyword cutoff_type is missing")
    _replace(good / "input.nn", "# no cutoff type", "cutoff_type 1")
    n = _append(good / "input.nn", "mean_energy -1.0")
    _fails(good, f"input.nn:{n}:", "normalisation needs all of")


@pytest.mark.parametrize("name", ["input.nn", "scaling.data", "weights.029.data"])
def test_missing_file(good, name):
    (good / name).unlink()
    _fails(good, name, "file not found")


def test_extra_values_are_errors(good):
    n = _append(good / "weights.029.data", "1.0 a 99999 0 1 1 1")
    _fails(good, f"weights.029.data:{n}:", "more values")


def test_bad_units():
    with pytest.raises(nanomc.PotentialError):
        nanomc.Potential.from_n2p2(DATA / "Ni-nnp", length_unit="furlong")
    with pytest.raises(nanomc.PotentialError):
        nanomc.Potential.from_n2p2(DATA / "Ni-nnp", energy_unit=-1.0)


# --------------------------------------------------------------------------- the generalised family

KINDS = ["hard", "cos", "tanhu", "tanh", "exp", "poly1", "poly2", "poly3", "poly4"]


def mixed_sets() -> dict[str, DescriptorSet]:
    """Au/Cu sets mixing radial, narrow and wide functions, R_s shifts, several radii and
    cutoff kinds (with and without α), different per central element."""
    sets = {}
    for k, c in enumerate(("Au", "Cu")):
        radial, angular = [], []
        for m, e in enumerate(("Au", "Cu")):
            radial += [RadialFunction(0.5, 2.5, e),
                       RadialFunction(0.3, 0.0, e, CutoffFunction("poly2", 4.5, 0.3)),
                       RadialFunction(1.0 + k, 3.0, e, CutoffFunction("tanh", 5.0)),
                       RadialFunction(0.2, 1.0, e, CutoffFunction(KINDS[(3 * k + m) % 9], 5.5, 0.1 * m))]
        for pair in (("Au", "Au"), ("Au", "Cu"), ("Cu", "Cu")):
            angular += [AngularFunction(0.02, 1.0, 1.0, pair),
                        AngularFunction(0.03, 2.0, -1.0, pair, rs=1.5, cutoff=CutoffFunction("poly4", 4.8)),
                        AngularFunction(0.01, 2.5, -1.0, pair, variant="wide", cutoff=CutoffFunction("cos", 5.5, 0.2)),
                        AngularFunction(0.04, 1.0, 1.0, pair, rs=2.0, variant="wide",
                                        cutoff=CutoffFunction("tanhu", 6.0))]
            if k == 1:
                angular += [AngularFunction(0.05, 4.0, 1.0, pair, cutoff=CutoffFunction("hard", 4.0)),
                            AngularFunction(0.02, 1.0, -1.0, pair, variant="wide", cutoff=CutoffFunction("exp", 5.0, 0.4))]
        sets[c] = DescriptorSet(tuple(radial), tuple(angular))
    return sets


@pytest.fixture(scope="module")
def mixed():
    return make_potential(["Au", "Cu"], cutoff=6.0, descriptor_sets=mixed_sets(), seed=12,
                          e0={"Au": -1.0, "Cu": -2.0})


ZOO = structure_zoo(["Au", "Cu"], seed=40)


@pytest.mark.parametrize("name, atoms", ZOO, ids=[n for n, _ in ZOO])
def test_mixed_descriptors_match_reference(mixed, name, atoms):
    g = mixed.descriptors(atoms)
    np.testing.assert_allclose(g, ref_descriptors(atoms, mixed), rtol=1e-12, atol=1e-14)
    assert np.count_nonzero(g) > 0
    tables = mixed.sf_tables
    assert tables["n_cut"] >= 9 and not tables["ang_simple"][:2].any()  # Au, Cu (index 2: the vacancy)


def _boundary_potential(kind: str, alpha: float) -> nanomc.Potential:
    """Functions with cutoff (kind, 4 Å, α) inside a potential of cutoff 6 Å, plus a default one."""
    cut = CutoffFunction(kind, 4.0, alpha)
    dset = DescriptorSet(
        (RadialFunction(0.3, 1.0, "Cu", cut), RadialFunction(0.2, 0.0, "Cu")),
        (AngularFunction(0.02, 2.0, 1.0, ("Au", "Cu"), cutoff=cut),
         AngularFunction(0.02, 2.0, 1.0, ("Cu", "Cu"), rs=0.5, cutoff=cut),
         AngularFunction(0.02, 1.0, -1.0, ("Cu", "Cu"), variant="wide", cutoff=cut)),
    )
    return make_potential(["Au", "Cu"], cutoff=6.0, descriptor_sets={"Au": dset, "Cu": dset}, seed=1)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("factor", [1.0, 1 + 1e-12, 1 - 1e-12, 1 - 1e-6, 0.999, 0.5])
def test_cutoff_kinds_at_the_cutoff(kind, factor):
    """A pair R_ij, and a triplet side R_jk, at / just beyond / just inside the function's radius."""
    pot = _boundary_potential(kind, 0.25)
    r = 4.0 * factor
    pair = Atoms("AuCuAu", positions=[[0, 0, 0], [r, 0, 0], [0, 2.5, 0]])
    g = pot.descriptors(pair)
    np.testing.assert_allclose(g, ref_descriptors(pair, pot), rtol=1e-12, atol=1e-14)
    if factor >= 1.0:  # the Cu neighbour is beyond the 4 Å functions of atom 0: exactly 0
        assert g[0, 0] == 0.0 and g[0, 2] == 0.0 and g[0, 1] > 0.0
    elif factor <= 0.999:  # closer to R_c the polynomials round to ±1e-16, like n2p2's
        assert g[0, 0] > 0.0
    h = 1.5  # Cu–Cu side R_jk = r, both at 2.5 Å or less from the central atom
    tri = Atoms("AuCuCu", positions=[[0, 0, 0], [-r / 2, h, 0], [r / 2, h, 0]])
    g = pot.descriptors(tri)
    np.testing.assert_allclose(g, ref_descriptors(tri, pot), rtol=1e-12, atol=1e-14)
    assert g[0, 4] > 0.0  # wide: no R_jk cutoff
    if factor >= 1.0:
        assert g[0, 3] == 0.0  # narrow: f_c(R_jk) = 0


@pytest.mark.parametrize("kind", ["cos", "exp", "poly1", "poly3"])
@pytest.mark.parametrize("factor", [1 - 1e-9, 1.0, 1 + 1e-9])
def test_cutoff_kinds_at_the_inner_radius(kind, factor):
    """Around α·R_c the cutoff function leaves 1 continuously: kernel equals reference."""
    pot = _boundary_potential(kind, 0.6)
    r = 0.6 * 4.0 * factor
    atoms = Atoms("AuCuAu", positions=[[0, 0, 0], [r, 0, 0], [0, 2.5, 0]])
    g = pot.descriptors(atoms)
    np.testing.assert_allclose(g, ref_descriptors(atoms, pot), rtol=1e-12, atol=1e-14)
    assert g[0, 0] == pytest.approx(np.exp(-0.3 * (r - 1.0) ** 2), rel=1e-8)


def test_cutoff_kind_values():
    """A few values straight from the definitions (x = 0.5 with α = 0)."""
    def value(kind):
        pot = _boundary_potential(kind, 0.0)
        atoms = Atoms("AuCu", positions=[[0, 0, 0], [2.0, 0, 0]])
        return pot.descriptors(atoms)[0, 0] / np.exp(-0.3 * 1.0**2)

    t = np.tanh(0.5) ** 3
    expected = {"hard": 1.0, "cos": 0.5, "tanhu": t, "tanh": t / np.tanh(1.0) ** 3, "exp": np.exp(1 - 1 / 0.75),
                "poly1": 0.5, "poly2": 0.5, "poly3": 0.5, "poly4": 0.5}
    for kind, v in expected.items():
        assert value(kind) == pytest.approx(v, rel=1e-14), kind


@pytest.mark.parametrize("cache", [True, False])
def test_incremental_engine_on_mixed_potential(mixed, cache):
    """delta_swap / delta_flip with radial, narrow and wide functions, R_s, nine cutoff
    functions and two elements equal full re-evaluation; committed state stays exact."""
    atoms = random_occupation(Octahedron("Cu", 6, 1, latticeconstant=3.8), ["Au", "Cu"], 3)
    assert_moves_match_full(mixed, atoms, cache, seed=3, trials=40, flip_every=4, commit_every=3)


def test_cached_and_uncached_paths_agree_exactly(mixed):
    atoms = random_occupation(Octahedron("Cu", 5, 1, latticeconstant=3.8), ["Au", "Cu"], 8)
    assert_cache_paths_agree(mixed, atoms, seed=4, trials=30)


def test_mixed_potential_round_trip(tmp_path, mixed):
    path = tmp_path / "mixed.h5"
    mixed.save(path)
    again = nanomc.Potential.load(path)
    assert again.descriptor_sets == mixed.descriptor_sets
    assert again.content_hash() == mixed.content_hash()
    atoms = ZOO[0][1]
    assert again.energy(atoms) == mixed.energy(atoms)


def test_version_1_files_are_read(tmp_path):
    """A version-1 file (the first shipped demo potential) is read; its hash is what it always was."""
    import h5py

    demo = Path(__file__).parent / "data" / "potential-v1.h5"
    with h5py.File(demo, "r") as f:
        assert f.attrs["format_version"] == 1 and f["Au"]["radial"].shape[1] == 3
    pot = nanomc.Potential.load(demo)
    assert pot.content_hash() == "683affd64bf72802b550cbfb07d040063848af7eae4a24e400e4904b655139c1"
    assert all(d.is_default for d in pot.descriptor_sets.values())
    pot.save(tmp_path / "v2.h5")
    with h5py.File(tmp_path / "v2.h5", "r") as f:
        assert f.attrs["format_version"] == 2 and f["Au"]["radial"].shape[1] == 6
    again = nanomc.Potential.load(tmp_path / "v2.h5")
    assert again.content_hash() == pot.content_hash()
    atoms = ZOO[1][1]
    assert again.energy(atoms) == pot.energy(atoms)


def test_bad_generalised_definitions():
    with pytest.raises(nanomc.PotentialError, match="exceeds the potential's cutoff"):
        make_potential(["Au", "Cu"], cutoff=4.0, descriptor_sets=mixed_sets())
    bad = DescriptorSet((RadialFunction(0.1, 0.0, "Au", CutoffFunction("poly9")),), ())
    with pytest.raises(nanomc.PotentialError, match="cutoff kind 'poly9'"):
        make_potential(["Au"], descriptor_sets={"Au": bad})
    bad = DescriptorSet((), (AngularFunction(0.1, 1.0, 1.0, ("Au", "Au"), variant="wider"),))
    with pytest.raises(nanomc.PotentialError, match="variant"):
        make_potential(["Au"], descriptor_sets={"Au": bad})
    bad = DescriptorSet((RadialFunction(0.1, 0.0, "Au", CutoffFunction("cos", 3.0, 1.0)),), ())
    with pytest.raises(nanomc.PotentialError, match="alpha"):
        make_potential(["Au"], descriptor_sets={"Au": bad})
