"""`nanomc relax`: off-lattice relaxation of a campaign's structures or of structure files."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from ase import Atoms
from ase.cluster import Octahedron
from ase.io import read, write

import nanomc
from nanomc.cli import main
from nanomc.potential.store import default_potential_path

PARAMS = """
[particle]
shape = "truncated_octahedron"
size = 5
composition = { Au = 0.5, Cu = 0.5 }

[potential]
file = "default"

[mc]
temperatures = [300.0, 900.0]
sweeps = 4
seed = 2

[output]
directory = "out"
"""


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """A finished two-temperature campaign with the shipped potential (its directory)."""
    from nanomc.campaign import run_campaign

    base = tmp_path_factory.mktemp("relax")
    (base / "params.toml").write_text(textwrap.dedent(PARAMS))
    run_campaign(base / "params.toml", quiet=True)
    return base


def test_relax_campaign(campaign, capsys):
    assert main(["relax", str(campaign / "params.toml")]) == 0
    out = capsys.readouterr()
    pot = nanomc.Potential.load(default_potential_path())
    final = read(campaign / "out" / "final.extxyz", ":")
    best = read(campaign / "out" / "best.extxyz", ":")
    lattice = {"final": min(final, key=lambda a: a.info["temperature_K"]),
               "best": min(best, key=lambda a: a.info["energy_eV"])}
    for name in ("final", "best"):
        relaxed = read(campaign / "out" / f"{name}-relaxed.extxyz", ":")
        assert len(relaxed) == 1
        r = relaxed[0]
        assert r.get_chemical_symbols() == lattice[name].get_chemical_symbols()
        assert r.info["energy_unrelaxed_eV"] == pytest.approx(lattice[name].info["energy_eV"], abs=1e-8)
        assert r.info["energy_eV"] == pytest.approx(pot.energy(r), abs=1e-8)
        assert np.linalg.norm(pot.forces(r), axis=1).max() < 0.05 and r.info["relax_converged"]
        # a particle of ~40 atoms on the Vegard lattice gains well over 1 meV/atom by relaxing
        assert r.info["energy_eV"] < r.info["energy_unrelaxed_eV"] - 1e-3 * len(r)
        assert f"{r.info['energy_eV']:.6f}" in out.out
        assert f"{r.info['energy_eV'] / len(r):.6f}" in out.out
    assert "best-relaxed.extxyz" in out.err and "final-relaxed.extxyz" in out.err
    assert "final (300 K)" in out.out and "best (replica" in out.out


def test_relax_structure_file_with_potential(campaign, tmp_path, capsys):
    frames = read(campaign / "out" / "final.extxyz", ":")
    write(tmp_path / "two.extxyz", frames)
    pot_file = tmp_path / "pot.h5"
    pot_file.write_bytes(default_potential_path().read_bytes())
    args = ["relax", str(tmp_path / "two.extxyz"), "--potential", str(pot_file), "--optimizer", "BFGS",
            "--fmax", "0.02", "--out", str(tmp_path / "relaxed.extxyz"), "-q"]
    assert main(args) == 0
    assert capsys.readouterr().out == ""
    relaxed = read(tmp_path / "relaxed.extxyz", ":")
    assert len(relaxed) == 2
    assert all(a.info["fmax_eV_per_A"] < 0.02 for a in relaxed)
    # the default output name, next to the input
    assert main(["relax", str(tmp_path / "two.extxyz"), "--steps", "3", "-q"]) == 0
    assert len(read(tmp_path / "two-relaxed.extxyz", ":")) == 2


def pair(element: str) -> Atoms:
    """Au and `element` 2.6 Å apart."""
    return Atoms(f"Au{element}", positions=[[0, 0, 0], [2.6, 0, 0]])


@pytest.mark.parametrize("setup, args, message", [
    ("unrun", ["params.toml"], "does not exist: run `nanomc run"),
    ("none", ["missing.extxyz"], "structure file not found"),
    ("structure", ["s.extxyz", "--potential", "nope.h5"], "nope.h5"),
    ("unrun", ["params.toml", "--potential", "x.h5"], "--potential and --out are for structure files"),
    ("structure", ["s.extxyz", "--fmax", "-1"], "fmax > 0"),
    ("pt", ["s.extxyz"], "'Pt'"),
])
def test_relax_errors_are_one_line(tmp_path, setup, args, message):
    if setup == "unrun":
        (tmp_path / "params.toml").write_text(textwrap.dedent(PARAMS))
    if setup in ("structure", "pt"):
        write(tmp_path / "s.extxyz", pair("Pt" if setup == "pt" else "Cu"))
    r = subprocess.run([sys.executable, "-m", "nanomc.cli", "relax", *args], capture_output=True, text=True,
                       cwd=tmp_path, timeout=120)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("nanomc: error: ")
    assert message in r.stderr


def test_relax_refuses_a_changed_potential(campaign, tmp_path, capsys):
    """A campaign whose parameter file now names another potential than its results were made with."""
    base = tmp_path / "copy"
    (base / "out").mkdir(parents=True)
    for name in ("results.h5", "final.extxyz", "best.extxyz"):
        (base / "out" / name).write_bytes((campaign / "out" / name).read_bytes())
    nanomc.Potential.random(["Au", "Cu"], 4.5, hidden=(3,), seed=1).save(base / "other.h5")
    (base / "params.toml").write_text(textwrap.dedent(PARAMS).replace('"default"', '"other.h5"'))
    assert main(["relax", str(base / "params.toml")]) == 1
    assert "was made with another potential" in capsys.readouterr().err


def test_a_collapsing_relaxation_is_one_line(tmp_path):
    """A potential that pulls atoms together ends the relaxation with one line naming the structure."""
    potential, dimer = _sticky_dimer()
    potential.save(tmp_path / "sticky.h5")
    write(tmp_path / "s.extxyz", dimer)
    r = subprocess.run([sys.executable, "-m", "nanomc.cli", "relax", "s.extxyz", "--potential", "sticky.h5"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert "relaxing s.extxyz stopped after" in r.stderr and "closer than 0.5 Å" in r.stderr


def _sticky_dimer():
    """A potential that pulls atoms together at every distance (E_i = −10 eV · Σ_j f_c(R_ij)) and a Cu dimer."""
    from nanomc.potential import Layer, Network

    dset = nanomc.potential.DescriptorSet((nanomc.potential.RadialFunction(0.0, 0.0, "Cu"),), ())
    net = Network([Layer(np.array([[-10.0]]), np.zeros(1), "linear")])
    potential = nanomc.Potential(["Cu"], 4.0, {"Cu": dset}, {"Cu": net})
    return potential, Atoms("Cu2", positions=[[0, 0, 0], [2.6, 0, 0]])


def test_path_frames_are_the_start_the_end_and_evenly_spaced_steps_between():
    from ase.optimize import BFGS

    from nanomc.calculator import Calculator as NanomcCalculator
    from nanomc.relax import relax

    potential = nanomc.Potential.load("default")
    atoms = Atoms(Octahedron("Au", 3, 1, latticeconstant=4.0))
    atoms.symbols[::3] = "Cu"
    atoms.info["config_type"] = "cluster"
    atoms.center(vacuum=5.0)
    trajectory = []
    by_hand = atoms.copy()
    by_hand.calc = NanomcCalculator(potential)
    optimizer = BFGS(by_hand, logfile=None)
    optimizer.attach(lambda: trajectory.append(by_hand.positions.copy()))
    optimizer.run(fmax=0.05, steps=200)
    assert len(trajectory) > 6  # enough steps for interior frames

    r = relax(atoms, potential, 0.05, 200, "BFGS", path_frames=4)
    steps = [frame.info["path_step"] for frame in r.path]
    last = len(trajectory) - 1
    assert steps == sorted({round(x) for x in np.linspace(0, last, 4)}) and steps[0] == 0 and steps[-1] == last
    for frame, step in zip(r.path, steps):
        np.testing.assert_allclose(frame.positions, trajectory[step], atol=1e-12)
        assert frame.info["config_type"] == "cluster"
        frame.calc = NanomcCalculator(potential)
        assert frame.info["energy_relaxer_eV"] == pytest.approx(frame.get_potential_energy(), abs=1e-9)
    np.testing.assert_allclose(r.path[-1].positions, r.atoms.positions, atol=1e-12)
    assert r.path[0].info["energy_relaxer_eV"] == pytest.approx(r.energy_before)
    assert r.converged and not r.failed


def test_a_collapsing_relaxation_keeps_its_path_with_path_frames(tmp_path):
    from nanomc.relax import relax, table

    potential, dimer = _sticky_dimer()
    r = relax(dimer, potential, 0.05, 100, "FIRE", "dimer", path_frames=3)
    assert "closer than 0.5 Å" in r.failed and not r.converged
    distances = [frame.get_distance(0, 1) for frame in r.path]
    assert distances[0] == pytest.approx(2.6) and distances == sorted(distances, reverse=True)
    assert distances[-1] >= 0.5 and r.atoms.get_distance(0, 1) == pytest.approx(distances[-1])
    assert "(failed: stopped after" in table([r])
    with pytest.raises(nanomc.relax.RelaxError):
        relax(dimer, potential, 0.05, 100, "FIRE", "dimer")
    potential.save(tmp_path / "sticky.h5")
    write(tmp_path / "s.extxyz", dimer)
    r = subprocess.run([sys.executable, "-m", "nanomc.cli", "relax", "s.extxyz", "--potential", "sticky.h5",
                        "--path-frames", "3", "--out", "path.extxyz"], capture_output=True, text=True, cwd=tmp_path,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert [a.info["path_step"] for a in read(tmp_path / "path.extxyz", ":")][0] == 0
    assert len(read(tmp_path / "path.extxyz", ":")) == 3
