"""Surface energies (nanomc.surfaces, `nanomc surfaces`) and wulff particles built from them."""
import json

import numpy as np
import pytest
from ase.build import bulk, fcc110
from ase.calculators.emt import EMT
from ase.cluster import wulff_construction
from ase.optimize import BFGS

from nanomc.calculator import Calculator
from nanomc.campaign.schema import ConfigError, load_config
from nanomc.campaign.setup import build_particle
from nanomc.cli import main
from nanomc.particles import WULFF_FACETS, vegard_lattice_constant
from nanomc.potential import Potential
from nanomc.surfaces import SurfaceError, read_surface_file, surface_energies

EV_PER_A2_IN_J_PER_M2 = 16.021766


@pytest.fixture(scope="module")
def emt_au():
    return surface_energies("Au", EMT())


def test_gamma_is_the_symmetric_slab_formula_by_hand():
    """γ of the function = (E_slab − N·E_bulk)/2A of the same slab relaxed by hand with ASE, and the bulk
    lattice constant is the minimum of the bulk energy."""
    result = surface_energies("Cu", EMT(), facets=("110",), min_layers=4, max_layers=5, tolerance=1.0)
    a, facet = result.lattice_constant, result.facets["110"]
    assert facet.layers == 5 and facet.thicknesses == [4, 5]   # tolerance 1 J/m²: converged at the second slab
    cell = bulk("Cu", "fcc", a=a)
    cell.calc = EMT()
    e_bulk = cell.get_potential_energy()
    for strain in (0.995, 1.005):
        other = bulk("Cu", "fcc", a=a * strain)
        other.calc = EMT()
        assert other.get_potential_energy() > e_bulk
    slab = fcc110("Cu", (1, 1, 5), a=a, vacuum=8.0)
    slab.calc = EMT()
    area = np.linalg.norm(np.cross(slab.cell[0], slab.cell[1]))
    unrelaxed = (slab.get_potential_energy() - 5 * e_bulk) / (2 * area)
    BFGS(slab, logfile=None).run(fmax=0.01, steps=500)
    gamma = (slab.get_potential_energy() - 5 * e_bulk) / (2 * area)
    assert gamma < unrelaxed - 1e-5
    assert facet.energy_ev == pytest.approx(gamma, rel=1e-9)
    assert facet.energy == pytest.approx(gamma * EV_PER_A2_IN_J_PER_M2, rel=1e-6)
    assert facet.unrelaxed == pytest.approx(unrelaxed * EV_PER_A2_IN_J_PER_M2, rel=1e-6)
    assert result.bulk_energy == pytest.approx(e_bulk, rel=1e-9)


def test_the_slab_energy_converges_with_thickness():
    """γ(n) of Cu(110) with EMT: the change from n − 1 layers shrinks; the reported change is the last one."""
    facet = surface_energies("Cu", EMT(), facets=("110",), tolerance=1e-9, max_layers=9).facets["110"]
    assert facet.thicknesses == [4, 5, 6, 7, 8, 9] and not facet.converged
    changes = np.abs(np.diff(facet.energies))
    assert changes[-1] < changes[0] / 5
    assert facet.change == pytest.approx(changes[-1])


def test_fcc_emt_order_and_convergence(emt_au):
    """EMT Au: every facet converged to the tolerance, (111) < (100) < (110), relaxation lowers γ."""
    facets = emt_au.facets
    assert list(facets) == ["111", "100", "110"]
    for f in facets.values():
        assert f.converged and f.change < emt_au.tolerance
        assert abs(f.energies[-1] - f.energies[-2]) == pytest.approx(f.change)
        assert 0 < f.energy <= f.unrelaxed
        assert f.termination == "Au1 / Au1"
    assert facets["111"].energy < facets["100"].energy < facets["110"].energy
    assert 4.0 < emt_au.lattice_constant < 4.1     # EMT's Au: 4.06 Å


def test_l12_alloy_slabs_are_stoichiometric_with_their_terminations():
    """Cu3Au: (111) faces are Cu3Au layers on both sides; (100) ends in a Cu layer and a CuAu layer."""
    result = surface_energies("Cu3Au", EMT(), facets=("111", "100"))
    assert result.facets["111"].termination == "Au1Cu3 / Au1Cu3"
    assert sorted(result.facets["100"].termination.split(" / ")) == ["Au1Cu1", "Cu2"]
    assert all(0 < f.energy < 2 and f.converged for f in result.facets.values())


@pytest.mark.parametrize("kwargs,words", [
    ({"material": "Fe"}, "not fcc"), ({"material": "CuAu"}, "L1₂ alloy"), ({"material": "Xx"}, "fcc element"),
    ({"facets": ("211",)}, "facet '211'"), ({"tolerance": 0.0}, "tolerance must be positive"),
    ({"min_layers": 5, "max_layers": 5}, "max_layers (5) must be above"),
])
def test_bad_arguments_are_one_line_errors(kwargs, words):
    with pytest.raises(SurfaceError) as info:
        surface_energies(**{"material": "Cu", "calculator": EMT(), **kwargs})
    assert words in str(info.value) and "\n" not in str(info.value)


# ---------------------------------------------------------------- the command and campaigns

WULFF = """
[particle]
shape = "wulff"
atoms = 300
composition = {{ Cu = 0.75, Au = 0.25 }}
surface_energies = {energies}

[potential]
file = "{potential}"

[mc]
temperatures = [500.0]
sweeps = 1
"""


def _particle(tmp_path, energies, potential="pot.h5"):
    path = tmp_path / "params.toml"
    path.write_text(WULFF.format(energies=energies, potential=potential))
    config, text = load_config(path)
    pot = Potential.load("AuCu-pairs" if potential == "AuCu-pairs" else tmp_path / potential)
    atoms, _ = build_particle(config, tmp_path, pot, np.random.default_rng(0), (str(path), text))
    return atoms


def _wulff(energies):
    a = vegard_lattice_constant({"Cu": 0.75, "Au": 0.25})
    return wulff_construction("Cu", [WULFF_FACETS[f] for f in energies], list(energies.values()), 300, "fcc",
                              rounding="closest", latticeconstant=a)


def test_the_command_writes_a_file_a_wulff_campaign_builds_from(tmp_path, capsys, campaign_potential_file):
    (tmp_path / "pot.h5").write_bytes(campaign_potential_file.read_bytes())
    out = tmp_path / "cu.json"
    assert main(["surfaces", "Cu", "-c", "emt", "-o", str(out), "--facets", "111", "100"]) == 0
    printed = capsys.readouterr()
    assert "γ (J/m²)" in printed.out and "   111 " in printed.out and "wrote" in printed.err
    table = read_surface_file(out)
    data = json.loads(out.read_text())
    assert list(table) == ["111", "100"] and data["calculator"] == "emt"
    assert table["111"] == pytest.approx(data["facets"]["111"]["energy"])
    assert table["111"] == pytest.approx(data["facets"]["111"]["energy_ev"] * EV_PER_A2_IN_J_PER_M2, rel=1e-6)
    atoms = _particle(tmp_path, '"cu.json"')
    expected = _wulff(table)
    assert len(atoms) == len(expected) and np.allclose(atoms.positions, expected.positions)
    assert main(["surfaces", "Cu", "-c", "emt", "-o", str(out)]) == 1      # exists, no --overwrite
    assert "exists" in capsys.readouterr().err


def test_surface_energies_from_the_campaign_potential(tmp_path, monkeypatch):
    """"potential": the host's surface energies with the campaign's potential shape the particle."""
    import nanomc.campaign.setup as setup

    calls = []

    def spy(material, calculator, *args, **kwargs):
        calls.append((material, calculator.potential.content_hash()))
        return surface_energies(material, calculator, *args, **kwargs)

    monkeypatch.setattr(setup, "surface_energies", spy)
    atoms = _particle(tmp_path, '"potential"', potential="AuCu-pairs")
    assert calls == [("Cu", Potential.load("AuCu-pairs").content_hash())]
    table = surface_energies("Cu", Calculator("AuCu-pairs")).table()
    assert np.allclose(atoms.positions, _wulff(table).positions)


def test_an_unconverged_potential_surface_energy_warns(tmp_path, monkeypatch):
    import functools

    import nanomc.campaign.setup as setup
    from nanomc.particles import ParticleWarning

    monkeypatch.setattr(setup, "surface_energies", functools.partial(surface_energies, tolerance=1e-9, max_layers=6))
    with pytest.warns(ParticleWarning, match=r"Cu\(111\) changed by 0\.\d+ J/m² from 5 to 6 layers"):
        _particle(tmp_path, '"potential"', potential="AuCu-pairs")


def test_a_potential_without_a_bulk_minimum_is_one_line(tmp_path, campaign_potential_file):
    """The random test potential has no Cu bulk minimum near ASE's lattice constant: an error at the key."""
    (tmp_path / "pot.h5").write_bytes(campaign_potential_file.read_bytes())
    with pytest.raises(ConfigError, match=r"params.toml:6: `surface_energies = \"potential\"`: the bulk energy of Cu "
                                          r"has no minimum"):
        _particle(tmp_path, '"potential"')


@pytest.mark.parametrize("content,words", [
    (None, "file not found"), ("{", "not a surface-energy file"), ('{"format": "x"}', "no format"),
    ('{"format": "nanomc-surfaces", "version": 1, "surface_energies": {"211": 1.0}}', "unknown facet '211'"),
    ('{"format": "nanomc-surfaces", "version": 1, "surface_energies": {"111": -1.0}}', "positive number"),
])
def test_a_bad_surface_file_names_the_key_and_the_file(tmp_path, capsys, campaign_potential_file, content, words):
    (tmp_path / "pot.h5").write_bytes(campaign_potential_file.read_bytes())
    if content is not None:
        (tmp_path / "bad.json").write_text(content)
    with pytest.raises(ConfigError) as info:
        _particle(tmp_path, '"bad.json"')
    message = str(info.value)
    assert "params.toml:6:" in message and "surface_energies" in message and "bad.json" in message, message
    assert words in message and "\n" not in message


@pytest.mark.parametrize("energies,extra,words", [
    ("5", "", "must be a table of numbers"), ('""', "", "is empty"),
    ('"potential"', 'oxide = "CeO2"\n', "an oxide needs a table"),
])
def test_bad_surface_energies_values(tmp_path, energies, extra, words):
    path = tmp_path / "params.toml"
    path.write_text(WULFF.format(energies=energies, potential="pot.h5").replace("[particle]\n", "[particle]\n" + extra))
    with pytest.raises(ConfigError, match="surface_energies") as info:
        load_config(path)
    assert words in str(info.value)


def test_the_command_refuses_bad_input_in_one_line(tmp_path, capsys):
    for args, words in [(["Fe"], "not fcc"), (["Au", "--potential", "CeCuO"], "the potential has no Au"),
                        (["Cu", "--calc-arg", "x=1"], "--calc-arg needs -c"), (["Cu", "-c", "nope"], "unknown calculator")]:
        assert main(["surfaces", *args, "-o", str(tmp_path / "s.json")]) == 1
        err = capsys.readouterr().err
        assert err.startswith("nanomc: error: ") and err.count("\n") == 1 and words in err, err
    assert not (tmp_path / "s.json").exists()
