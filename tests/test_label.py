"""`nanomc label`: labels with their calculator's identity, content hashes, resume after a failure or a
torn write, appended inputs, workers and MPI ranks giving the same file, one-line errors."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT
from ase.io import read, write
from ase.neighborlist import neighbor_list

import ase
from nanomc.cli import main
from nanomc.training.calculators import CalculatorSpec
from nanomc.training.io import read_reference
from nanomc.training.label import LabelError, label_files
from nanomc.training.labelfile import read_labels, structure_hash

MPIRUN = Path(sys.executable).parent / "mpirun"


class PairCalculator(Calculator):
    """E = ½ Σ_(i,j) exp(−r_ij/Å) over ordered pairs within 4 Å (eV): the tests' stand-in teacher.
    Counts its calls; raises on call number `fail_at` (class attributes, set by a test)."""

    implemented_properties = ["energy", "forces"]
    calls = 0
    fail_at = None

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        PairCalculator.calls += 1
        if PairCalculator.calls == PairCalculator.fail_at:
            raise RuntimeError("planted failure")
        i, j, d, vec = neighbor_list("ijdD", self.atoms, 4.0)
        e = np.exp(-d)
        forces = np.zeros((len(self.atoms), 3))
        np.add.at(forces, j, (e / d)[:, None] * vec)
        self.results = {"energy": 0.5 * e.sum(), "forces": forces}


PAIR = CalculatorSpec.parse(f"{__name__}:PairCalculator")


@pytest.fixture(autouse=True)
def reset_pair_calculator():
    PairCalculator.calls, PairCalculator.fail_at = 0, None
    yield
    PairCalculator.calls, PairCalculator.fail_at = 0, None


def structures(n, seed=0):
    """n small distinct Cu/Au cells and clusters (rattled, some alloyed)."""
    out = []
    for k in range(n):
        atoms = bulk("Cu", "fcc", a=3.61 * (1 + 0.01 * (k % 5)), cubic=True) * (2, 1, 1)
        if k % 3 == 1:
            atoms.pbc = False
        atoms.symbols[k % len(atoms)] = "Au"
        atoms.rattle(0.05, seed=seed + k)
        atoms.info["config_type"] = f"kind{k % 2}"
        out.append(atoms)
    return out


def test_labels_carry_energy_forces_identity_and_input_tags(tmp_path):
    frames = structures(4)
    with_vacancy = frames[0].copy()
    with_vacancy += Atoms("X", positions=[[0.9, 0.9, 0.9]])
    write(tmp_path / "in.extxyz", frames + [with_vacancy])  # the X is dropped: the same structure as frame 0
    summary = label_files([tmp_path / "in.extxyz"], tmp_path / "labels.extxyz", CalculatorSpec.parse("emt"),
                          quiet=True)
    assert (summary.total, summary.before, summary.labelled) == (4, 0, 4)
    reference = read_reference([tmp_path / "labels.extxyz"])  # what `nanomc train` reads
    labels = read(tmp_path / "labels.extxyz", ":")
    for atoms, ref, lab in zip(read(tmp_path / "in.extxyz", ":4"), reference, labels):
        atoms.calc = EMT()
        assert ref.info["energy"] == pytest.approx(atoms.get_potential_energy(), abs=1e-12)
        assert np.allclose(ref.arrays["forces"], atoms.get_forces(), atol=1e-8)  # 8 decimals in the file
        assert np.allclose(ref.positions, atoms.positions, atol=1e-8)
        assert lab.info["structure_hash"] == structure_hash(atoms)
        assert lab.info["config_type"] == atoms.info["config_type"]
        assert lab.info["calculator"] == "emt"
        assert lab.info["calculator_class"] == "ase.calculators.emt:EMT"
        assert lab.info["calculator_version"] == f"ase {ase.__version__}"
        assert lab.info["calculator_model"] == "none"


def test_structure_hash_sees_content_only():
    atoms = structures(1)[0]
    twin = atoms.copy()
    twin.info["note"] = "other"
    twin.calc = EMT()
    assert structure_hash(twin) == structure_hash(atoms)
    rounded = atoms.copy()  # as a labels file stores it (8 decimals)
    rounded.positions = np.round(atoms.positions, 8)
    assert structure_hash(rounded) == structure_hash(atoms)
    for change in ("move", "element", "cell", "pbc"):
        other = atoms.copy()
        if change == "move":
            other.positions[1, 2] += 1e-4
        elif change == "element":
            other.symbols[0] = "Ag"
        elif change == "cell":
            other.cell[0, 0] += 1e-4
        else:
            other.pbc = [True, True, False]
        assert structure_hash(other) != structure_hash(atoms), change


def test_a_failed_run_resumes_and_labels_every_structure_once(tmp_path):
    write(tmp_path / "in.extxyz", structures(7))
    label_files([tmp_path / "in.extxyz"], tmp_path / "straight.extxyz", PAIR, quiet=True)
    assert PairCalculator.calls == 7
    PairCalculator.calls, PairCalculator.fail_at = 0, 4
    with pytest.raises(LabelError, match=r"frame 3: calculator .* failed \(RuntimeError: planted failure\); 3 labels"):
        label_files([tmp_path / "in.extxyz"], tmp_path / "labels.extxyz", PAIR, quiet=True)
    assert len(read_labels(tmp_path / "labels.extxyz")) == 3
    PairCalculator.calls, PairCalculator.fail_at = 0, None
    summary = label_files([tmp_path / "in.extxyz"], tmp_path / "labels.extxyz", PAIR, quiet=True)
    assert (summary.before, summary.labelled, PairCalculator.calls) == (3, 4, 4)
    assert (tmp_path / "labels.extxyz").read_bytes() == (tmp_path / "straight.extxyz").read_bytes()


def test_a_torn_last_frame_is_cut_and_relabelled(tmp_path):
    write(tmp_path / "in.extxyz", structures(5))
    label_files([tmp_path / "in.extxyz"], tmp_path / "straight.extxyz", PAIR, quiet=True)
    whole = (tmp_path / "straight.extxyz").read_bytes()
    lines = whole.splitlines(keepends=True)
    per_frame = len(lines) // 5
    head, last = b"".join(lines[:4 * per_frame]), b"".join(lines[4 * per_frame:])
    # a kill inside the count line, after it, mid-frame, before the final newline
    for cut in (1, len(lines[4 * per_frame]), len(last) // 2, len(last) - 1):
        torn = head + last[:cut]
        (tmp_path / "labels.extxyz").write_bytes(torn)
        assert len(read_labels(tmp_path / "labels.extxyz")) == 4  # readable as it is
        PairCalculator.calls = 0
        label_files([tmp_path / "in.extxyz"], tmp_path / "labels.extxyz", PAIR, quiet=True)
        assert PairCalculator.calls == 1
        assert (tmp_path / "labels.extxyz").read_bytes() == whole


def test_appended_structures_are_labelled_on_the_next_run(tmp_path):
    frames = structures(6)
    write(tmp_path / "all.extxyz", frames)
    label_files([tmp_path / "all.extxyz"], tmp_path / "straight.extxyz", PAIR, quiet=True)
    write(tmp_path / "in.extxyz", frames[:4])
    label_files([tmp_path / "in.extxyz"], tmp_path / "labels.extxyz", PAIR, quiet=True)
    write(tmp_path / "in.extxyz", frames + frames[:2])  # two new ones and two repeats
    PairCalculator.calls = 0
    summary = label_files([tmp_path / "in.extxyz"], tmp_path / "labels.extxyz", PAIR, quiet=True)
    assert (summary.total, summary.before, summary.labelled, PairCalculator.calls) == (6, 4, 2, 2)
    assert (tmp_path / "labels.extxyz").read_bytes() == (tmp_path / "straight.extxyz").read_bytes()


def test_workers_and_mpi_ranks_write_the_same_file_as_one_process(tmp_path):
    write(tmp_path / "in.extxyz", structures(9))
    label_files([tmp_path / "in.extxyz"], tmp_path / "one.extxyz", CalculatorSpec.parse("emt"), quiet=True)
    label_files([tmp_path / "in.extxyz"], tmp_path / "two.extxyz", CalculatorSpec.parse("emt"), workers=2,
                quiet=True)
    result = subprocess.run([str(MPIRUN), "-n", "2", sys.executable, "-m", "nanomc.cli", "label", "in.extxyz",
                             "-o", "mpi.extxyz", "-c", "emt", "-q"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    one = (tmp_path / "one.extxyz").read_bytes()
    assert len(read_labels(tmp_path / "one.extxyz")) == 9
    assert (tmp_path / "two.extxyz").read_bytes() == one
    assert (tmp_path / "mpi.extxyz").read_bytes() == one


def test_a_file_of_another_calculator_is_refused(tmp_path):
    write(tmp_path / "in.extxyz", structures(2))
    label_files([tmp_path / "in.extxyz"], tmp_path / "labels.extxyz", CalculatorSpec.parse("emt"), quiet=True)
    before = (tmp_path / "labels.extxyz").read_bytes()
    with pytest.raises(LabelError, match="frame 0 has another calculator: calculator 'emt'"):
        label_files([tmp_path / "in.extxyz"], tmp_path / "labels.extxyz", PAIR, quiet=True)
    (tmp_path / "plain.extxyz").write_bytes((tmp_path / "in.extxyz").read_bytes())
    with pytest.raises(LabelError, match="no structure_hash"):
        label_files([tmp_path / "labels.extxyz"], tmp_path / "plain.extxyz", PAIR, quiet=True)
    assert (tmp_path / "labels.extxyz").read_bytes() == before
    assert PairCalculator.calls == 0


def one_line_error(capsys, argv, *words):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nanomc: error: "), err
    for word in words:
        assert word in err, err


def test_cli_errors_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write("in.extxyz", structures(3))
    one_line_error(capsys, ["label", "in.extxyz", "-o", "l.extxyz", "-c", "dft"], "unknown calculator 'dft'",
                   "emt, sevennet or module:Class")
    one_line_error(capsys, ["label", "in.extxyz", "-o", "l.extxyz", "-c", "no_such_module:Calc"],
                   "cannot import module 'no_such_module'")
    one_line_error(capsys, ["label", "in.extxyz", "-o", "l.extxyz", "-c", "ase.calculators.emt:NoSuch"],
                   "has no 'NoSuch'")
    one_line_error(capsys, ["label", "missing.extxyz", "-o", "l.extxyz", "-c", "emt"],
                   "missing.extxyz: structure file not found")
    one_line_error(capsys, ["label", "in.extxyz", "-o", "l.extxyz", "-c", "emt", "--calc-arg", "model"],
                   "--calc-arg 'model': give key=value")
    monkeypatch.setitem(sys.modules, "sevenn", None)  # sevenn not installed, whatever this machine has
    one_line_error(capsys, ["label", "in.extxyz", "-o", "l.extxyz", "-c", "sevennet"],
                   "needs sevenn", "pip install torch==2.13.0", "pip install sevenn")
    assert not Path("l.extxyz").exists()
    PairCalculator.fail_at = 1
    one_line_error(capsys, ["label", "in.extxyz", "-o", "l.extxyz", "-c", f"{__name__}:PairCalculator"],
                   "in.extxyz frame 0", "planted failure", "0 labels are in l.extxyz")
    assert not Path("l.extxyz").exists()
    PairCalculator.calls, PairCalculator.fail_at = 0, 2
    one_line_error(capsys, ["label", "in.extxyz", "-o", "l.extxyz", "-c", f"{__name__}:PairCalculator"],
                   "in.extxyz frame 1", "planted failure", "1 labels are in l.extxyz")
    assert len(read_labels("l.extxyz")) == 1


def test_cli_labels_with_constructor_arguments_and_reports(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write("in.extxyz", structures(3))
    argv = ["label", "in.extxyz", "-o", "l.extxyz", "-c", "ase.calculators.lj:LennardJones",
            "--calc-arg", "sigma=2.3", "--calc-arg", "epsilon=0.4", "--calc-arg", "model=lj-test"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "3 structures labelled" in captured.out and "ETA 0:00:00" in captured.err
    labels = read("l.extxyz", ":")
    assert labels[0].info["calculator_model"] == "lj-test"
    assert labels[0].info["calculator_args"] == '{"epsilon": 0.4, "model": "lj-test", "sigma": 2.3}'
    assert main(argv) == 0
    assert "0 structures labelled" in capsys.readouterr().out
    assert len(read("l.extxyz", ":")) == 3
