"""Command line: `nanomc run | analyze | relax | template | surfaces | label | check-relaxer | train | select | predict |
convert | info`,
`nanomc --version`."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .errors import NanomcError

KERNELS = ("neighbors", "descriptors", "network", "local_energy", "forces")  # as in nanomc._ext


def _info(_args: argparse.Namespace) -> int:
    print(f"nanomc {__version__}")
    for name in KERNELS:
        try:
            importlib.import_module(f"nanomc._ext.{name}")
            status = "compiled"
        except ImportError as exc:
            status = f"MISSING ({exc})"
        print(f"kernel {name}: {status}")
    try:
        from mpi4py import MPI

        print(f"MPI: available ({MPI.Get_library_version().splitlines()[0].strip()})")
    except Exception as exc:  # mpi4py missing or no MPI library: report, do not fail
        print(f"MPI: not available ({exc})")
    return 0


def _run(args: argparse.Namespace) -> int:
    return _warnings_printed(_run_file, args)


def _run_file(args: argparse.Namespace) -> int:
    """`nanomc run`: a scan, or one campaign and (unless --quiet) its summary ending with where the results are."""
    from .campaign.output import results_file, results_line
    from .campaign.population import describe_population
    from .campaign.population_results import PopulationRecord
    from .campaign.replica import describe, run_campaign
    from .campaign.scan import describe_scan, is_scan, load_scan, run_scan
    from .campaign.schema import load_config

    if is_scan(args.params):
        scan = load_scan(args.params)
        outcomes = run_scan(scan, resume=args.resume, overwrite=args.overwrite, quiet=args.quiet)
        if outcomes is None:
            return 0
        if not args.quiet:
            print(describe_scan(outcomes, scan.directory))
        failed = [o for o in outcomes if o.status == "failed"]
        for o in failed:
            print(f"nanomc: error: scan point {o.name}: {o.error}", file=sys.stderr)
        return 1 if failed else 0
    record = run_campaign(args.params, resume=args.resume, overwrite=args.overwrite, quiet=args.quiet)
    if record is not None and not args.quiet:
        from .analysis.run_summary import (energy_convergence_lines, population_convergence_lines,
                                           quantity_convergence_lines)

        if isinstance(record, PopulationRecord):
            summary = [describe_population(record), *population_convergence_lines(record)]
        else:
            summary = [describe(record), *energy_convergence_lines(record)]
        results = results_file(args.params, load_config(args.params)[0])
        print(os.linesep.join([*summary, *quantity_convergence_lines(record), results_line(record, results)]))
    return 0


def _train(args: argparse.Namespace) -> int:
    from .training.trainer import train_from_file

    train_from_file(args.training_file, quiet=args.quiet)
    return 0


def _label(args: argparse.Namespace) -> int:
    from .training.calculators import CalculatorSpec, parse_calc_arg
    from .training.label import label_files

    spec = CalculatorSpec.parse(args.calculator, dict(parse_calc_arg(a) for a in args.calc_arg))
    summary = label_files(args.structures, args.output, spec, workers=args.workers, quiet=args.quiet,
                          relax=_relax_settings(args))
    if not args.quiet:
        left_out = (f"; {summary.unmapped} left out (they do not map back to their lattice, "
                    f"{summary.unmapped_now} in this run: see {summary.output}.unmapped)") if summary.unmapped else ""
        done = summary.before + summary.labelled + summary.unmapped_now
        print(f"{summary.output}: {summary.labelled} structures labelled with {spec.name} in {summary.seconds:.0f} s "
              f"({summary.before} were done before); {done} of {summary.total} done{left_out}")
    return 0


def _check_relaxer(args: argparse.Namespace) -> int:
    from .outputs import check_output_file
    from .potential import Potential
    from .training.calculators import CalculatorSpec, parse_calc_arg
    from .training.relaxer import check_relaxer, paired_references, summary_table, write_csv

    if args.csv:
        check_output_file(args.csv, args.overwrite)
    pairs = paired_references(args.inputs, args.reference)
    potential = Potential.load(args.potential)
    potential.refuse_forces("nanomc check-relaxer")
    calc = CalculatorSpec.parse(args.calculator, dict(parse_calc_arg(a) for a in args.calc_arg)).build()
    checks = check_relaxer(pairs, potential, calc, args.fmax, args.steps, args.optimizer, args.reference_points)
    if args.csv:
        write_csv(args.csv, checks)
    print(f"{args.potential} as a relaxer against {len(checks)} reference relaxations of {args.reference}: error "
          f"(E_cheap − E_ref)/N in meV/atom, share of the relaxation energy captured, reference force at the cheap "
          f"geometry (eV/Å){_points_note(args.reference_points)}")
    print(summary_table(checks))
    return 0


#: --reference-points of `nanomc label --relax` and `nanomc check-relaxer`
REFERENCE_POINTS_HELP = ("at most K reference single points per structure (default 1: relax with the potential, then "
                         "one reference point); with K > 1 the potential's surface is corrected to the reference's "
                         "energy and forces at each point and relaxed again, to the reference's own minimum "
                         "(docs: the relaxer recipe)")


def _points_note(points: int) -> str:
    return "" if points == 1 else (f"; the cheap path is corrected to the reference at up to {points} points, "
                                   f"column `points` the reference single points it took")


def _kick(text: str) -> tuple[str, float]:
    """ELEMENT=Å of --kick, as (element, distance)."""
    from .training.relaxed import RelaxedLabelError

    element, _, distance = text.partition("=")
    try:
        return element, float(distance)
    except ValueError:
        raise RelaxedLabelError(f"--kick {text}: give ELEMENT=Å, e.g. Cu=0.6") from None


def _relax_settings(args: argparse.Namespace):
    """The RelaxSettings of `nanomc label --relax ...`, None without --relax (then no relaxation option may be given)."""
    from .training.relaxed import RelaxedLabelError, RelaxSettings

    given = {name: getattr(args, name) for name in ("relax_with", "fmax", "relax_steps", "relax_cell",
                                                    "max_displacement", "relax_optimizer", "relaxed_geometry",
                                                    "reference_points", "swap_groups", "rattle", "starts",
                                                    "first_start", "screen", "kick")
             if getattr(args, name) not in (None, False)}
    if not args.relax:
        if given:
            raise RelaxedLabelError(f"--{next(iter(given)).replace('_', '-')} needs --relax")
        return None
    names = {"relax_steps": "steps", "relax_cell": "cell", "relax_optimizer": "optimizer",
             "relaxed_geometry": "keep_geometry"}
    if "kick" in given:
        given["kick"] = tuple(_kick(text) for text in given["kick"])
    if "swap_groups" in given:
        given["swap_groups"] = tuple(tuple(e for e in group.split(",") if e) for group in given["swap_groups"])
    return RelaxSettings(**{names.get(k, k): v for k, v in given.items()})


def _select(args: argparse.Namespace) -> int:
    from .outputs import check_output_file
    from .particles import write_frames
    from .potential import Potential
    from .training.select import select

    check_output_file(args.output, args.overwrite)
    chosen = select(Potential.load(args.potential), args.sources, args.number, args.pairs, args.swaps, args.discard,
                    args.seed)
    write_frames(args.output, [atoms for c in chosen for atoms in c.frames])
    if not args.quiet:
        unit = "σ(ΔE) meV" if args.pairs else "σ(E) meV/atom"
        print(f"{'rank':>4s} {unit:>14s}  origin")
        for rank, c in enumerate(chosen):
            print(f"{rank:4d} {1000 * c.sigma:14.3f}  {c.origin}")
        what = f"{len(chosen)} swap pairs ({2 * len(chosen)} structures)" if args.pairs else f"{len(chosen)} structures"
        print(f"wrote {what} to {args.output}; label them with `nanomc label {args.output} -o LABELS -c CALCULATOR`",
              file=sys.stderr)
    return 0


def _predict(args: argparse.Namespace) -> int:
    from .potential import Potential
    from .training.io import read_reference
    from .outputs import check_output_file
    from .training.predict import parity_plot, predict

    if args.plot:
        check_output_file(args.plot)
    potential = Potential.load(args.potential)
    structures, labels = [], []
    for path in args.structures:
        frames = read_reference([path], args.energy_key, require_energy=False)
        structures += frames
        labels += [f"{path}:{k}" if len(frames) > 1 else path for k in range(len(frames))]
    if args.plot and not any("energy" in a.info for a in structures):
        raise NanomcError(f"--plot: the structures have no reference energies (info key {args.energy_key!r}) to "
                          "plot against")
    result = predict(potential, structures, labels)
    print(f"{'structure':40s} {'atoms':>6s} {'E (eV)':>14s} {'E_ref (eV)':>14s} {'error (meV/atom)':>17s}")
    for label, n, e, ref, err in zip(result.labels, result.n_atoms, result.predicted, result.reference,
                                     result.error_mev):
        print(f"{label[-40:]:40s} {n:6d} {e:14.6f} {ref:14.6f} {err:17.3f}")
    stats = result.summary()
    if stats:
        print(f"RMSE {stats['rmse_meV_per_atom']:.3f} meV/atom, MAE {stats['mae_meV_per_atom']:.3f} meV/atom "
              f"over {stats['n']} structures with reference energies")
        if args.plot:
            parity_plot(result, args.plot)
            print(f"wrote {args.plot}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    from .outputs import check_output_file
    from .potential import Potential

    check_output_file(args.output, args.overwrite)
    if args.aenet:
        potential = Potential.from_aenet(args.aenet)
    else:
        potential = Potential.from_n2p2(args.n2p2, args.length_unit, args.energy_unit)
    potential.save(args.output)
    if not args.quiet:
        sizes = ", ".join(f"{e}: {potential.descriptor_sets[e].size} descriptors, layers {potential.networks[e].sizes}"
                          for e in potential.elements)
        print(f"wrote {args.output}: elements {' '.join(potential.elements)}, cutoff {potential.cutoff} Å; {sizes}")
    return 0


#: --discard of `analyze` and `select`
DISCARD_HELP = ("equilibration period: a fraction of the sweeps below 1 (0.2, the default) or a whole number of sweeps "
                "(30); a number of 1 or more with a decimal point (1.0) is refused")


def _discard(text: str) -> float | int:
    """--discard: digits only are a number of sweeps (30); anything else a fraction below 1 (0.2)."""
    if text.isdigit():
        return int(text)
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a fraction nor a number of sweeps") from None
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a fraction must be below 1; give sweeps as a whole number "
                                         "without a decimal point (30)")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a fraction in [0, 1) or a whole number of sweeps")
    return value


def _count(text: str) -> int:
    """--swaps, -n: a whole number, 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ≥ 0")
    return int(text)


def _positive_length(text: str) -> float:
    """--radial-width: a positive, finite length in Å."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive length in Å")
    return value


def _analyze(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .analysis import load
    from .analysis.report import markdown, write_report
    from .analysis.scan import scan_file
    from .outputs import check_output_directory

    found = scan_file(args.results)
    if found is not None:
        return _analyze_scan(args, found)
    out = check_output_directory(Path(args.out) if args.out else Path(args.results).parent / "analysis")
    committee = _committee(args) if args.swaps else None
    analysis = _warnings_printed(load, args.results, element=args.element, discard=args.discard,
                                 radial_width=args.radial_width, committee=committee, swaps=args.swaps,
                                 **{key: value for key in ("rhat_max", "ess_min")
                                    if (value := getattr(args, key)) is not None})
    _report(args, analysis, out, write_report, markdown)
    return 0


def _analyze_scan(args: argparse.Namespace, path) -> int:
    """analyze on a scan: every point's analysis gathered into scan.md, scan.csv and plots."""
    from pathlib import Path

    from .analysis.scan import analyze_scan, read_scan
    from .analysis.scan_report import markdown, write_scan_report
    from .outputs import check_output_directory

    if args.potential:
        raise NanomcError("--potential: the committee report is per results file; run `nanomc analyze` on a "
                          "point's results.h5")
    scan = read_scan(path)
    out = check_output_directory(Path(args.out) if args.out else scan.directory / "analysis")
    analysis = _warnings_printed(analyze_scan, scan, element=args.element, discard=args.discard,
                                 radial_width=args.radial_width)
    _report(args, analysis, out, write_scan_report, markdown)
    return 0


def _warnings_printed(fn, *args, **kwargs):
    """fn(*args, **kwargs), each of its warnings printed when it comes as one `nanomc: warning:` line on stderr
    (by MPI rank 0 only)."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if _rank() == 0:
            print(f"nanomc: warning: {message}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        return fn(*args, **kwargs)


def _report(args: argparse.Namespace, analysis, out, write, markdown) -> None:
    """Write an analysis's files to `out` (NanomcError if not writable) and print its Markdown unless --quiet."""
    try:
        written = write(analysis, out)
    except OSError as exc:
        raise NanomcError(f"cannot write the analysis to {out} ({exc.strerror or exc})") from None
    if not args.quiet:
        print(markdown(analysis))
        print(f"wrote {', '.join(p.name for p in written)} to {out}", file=sys.stderr)


def _committee(args: argparse.Namespace):
    """analyze: the committee whose spread of swap energies is reported (--potential, else the
    campaign's potential when it is found and is a committee), or None."""
    from .analysis.population import read_record
    from .analysis.uncertainty import campaign_potential
    from .potential import Potential

    record = read_record(args.results)
    if args.potential is None:
        found = campaign_potential(record, args.results)
        return found if found is not None and found.committee_size > 1 else None
    potential = Potential.load(args.potential)
    if potential.committee_size == 1:
        print(f"nanomc: note: {args.potential} holds one network per element, not a committee: no spread to report",
              file=sys.stderr)
        return None
    if potential.content_hash() != record.potential_hash:
        print(f"nanomc: warning: {args.potential} is not the potential the campaign ran with; reporting its "
              "members' spread on the campaign's snapshots", file=sys.stderr)
    return potential


def _relax(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .outputs import check_output_file
    from .particles import read_frames, write_frames
    from .potential import Potential
    from .relax import RelaxError, campaign_structures, relax, table

    target = Path(args.target)
    if target.suffix == ".toml":
        if args.potential or args.out:
            raise RelaxError("--potential and --out are for structure files; a campaign relaxes with its own "
                             "potential and writes next to its results")
        potential, directory, picked = campaign_structures(target, args.structure)
        jobs = [(directory / f"{name}-relaxed.extxyz", [(label, atoms)]) for name, label, atoms in picked]
    else:
        potential = Potential.load(args.potential or "default")
        frames = read_frames(target)
        labels = [f"{target.name}:{k}" if len(frames) > 1 else target.name for k in range(len(frames))]
        jobs = [(Path(args.out) if args.out else target.with_name(f"{target.stem}-relaxed.extxyz"),
                 list(zip(labels, frames)))]
    for path, _ in jobs:
        check_output_file(path, args.overwrite)
    if args.path_frames and target.suffix == ".toml":
        raise RelaxError("--path-frames is for structure files")
    done = []
    for path, structures in jobs:
        relaxed = [relax(atoms, potential, args.fmax, args.steps, args.optimizer, label, args.path_frames)
                   for label, atoms in structures]
        write_frames(path, [frame for r in relaxed for frame in r.path] if args.path_frames else
                     [r.atoms for r in relaxed])
        done += relaxed
        if not args.quiet:
            print(f"wrote {path}", file=sys.stderr)
    if not args.quiet:
        print(table(done))
    return 0


def _surfaces(args: argparse.Namespace) -> int:
    from .outputs import check_output_file
    from .potential import Potential
    from .surfaces import format_table, potential_calculator, surface_energies, write_surface_file
    from .training.calculators import CalculatorSpec, parse_calc_arg

    output = args.output or f"{args.material}-surfaces.json"
    check_output_file(output, args.overwrite)
    if args.calculator:
        spec = CalculatorSpec.parse(args.calculator, dict(parse_calc_arg(a) for a in args.calc_arg))
        calculator, name = spec.build(), spec.name
    else:
        if args.calc_arg:
            raise NanomcError("--calc-arg needs -c/--calculator")
        name = args.potential or "default"
        calculator = potential_calculator(Potential.load(name), args.material)
    result = surface_energies(args.material, calculator, args.facets, args.tolerance, args.min_layers,
                              args.max_layers, args.size, args.vacuum, args.fmax, calculator_name=name)
    write_surface_file(output, result)
    if not args.quiet:
        print(format_table(result))
        print(f"wrote {output}; use it with shape = \"wulff\", surface_energies = \"{output}\"", file=sys.stderr)
    return 0


def _template(_args: argparse.Namespace) -> int:
    from .campaign.schema import template_text

    print(template_text(), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nanomc", description=__doc__)
    parser.add_argument("--version", action="version", version=f"nanomc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="version, compiled kernels, MPI").set_defaults(func=_info)
    run = sub.add_parser("run", help="run (or resume) the Monte Carlo campaign of a parameter file, or every "
                                     "point of a scan (a file with [scan])")
    run.add_argument("params", help="TOML parameter file")
    run.add_argument("--resume", action="store_true", help="continue from the results file's last checkpoint")
    run.add_argument("--overwrite", action="store_true", help="replace an existing results file")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress lines or summary")
    run.set_defaults(func=_run)
    analyze = sub.add_parser("analyze", help="segregation, site compositions, pair and dopant statistics and particle "
                                                  "renders of a results file; one table and plots of a scan")
    analyze.add_argument("results", help="results.h5 of a campaign, or a scan directory (or its scan.json): one row "
                                         "per point and temperature in scan.csv and scan.md, plots against the "
                                         "scanned variables")
    analyze.add_argument("--element", help="pair element X, for an oxide the dopant whose measures are reported "
                                           "(default: the minority element of the swappable sites)")
    analyze.add_argument("--discard", type=_discard, default=0.2,
                         help=DISCARD_HELP + "; not used for population annealing")
    analyze.add_argument("--rhat-max", type=float,
                         help="a quantity is converged when its R̂ across the starts (one start: the halves of the "
                              "chain) is at most this (default 1.01) ...")
    analyze.add_argument("--ess-min", type=float,
                         help="... and its bulk and tail effective sample sizes are at least this (default 400)")
    analyze.add_argument("--radial-width", type=_positive_length, default=None,
                         help="radial shell width in Å (default: the nearest-neighbour distance)")
    analyze.add_argument("--out", help="output directory (default: analysis/ next to the results file, or in the "
                                       "scan directory)")
    analyze.add_argument("--potential", help="a committee potential whose spread of swap energies on the snapshots "
                                             "is reported (default: the campaign's potential, if it is a committee "
                                             "and is found where the parameter file names it)")
    analyze.add_argument("--swaps", type=_count, default=8,
                         help="committee: random swaps per kept snapshot (default 8; 0: no committee report)")
    analyze.add_argument("-q", "--quiet", action="store_true", help="write the files, print nothing")
    analyze.set_defaults(func=_analyze)
    relax = sub.add_parser("relax", help="relax structures off-lattice (FIRE/BFGS with analytic forces)",
                           description="Relax the final and/or lowest-energy structure of a finished campaign "
                                       "(give its parameter file) with the campaign's potential, or every frame of "
                                       "a structure file with --potential; print energies before and after and "
                                       "write the relaxed structures (extxyz).")
    relax.add_argument("target", help="a campaign's parameter file (.toml), or a structure file")
    relax.add_argument("--structure", choices=("final", "best", "both"), default="both",
                       help="campaign: the final structure at the lowest temperature, the lowest-energy one seen, "
                            "or both (default); written as final-relaxed.extxyz / best-relaxed.extxyz next to "
                            "results.h5")
    relax.add_argument("--potential", help="structure file: potential file or shipped name (default: the shipped "
                       "Au-Cu potential)")
    relax.add_argument("--out", help="structure file: output extxyz (default: <name>-relaxed.extxyz next to it)")
    relax.add_argument("--fmax", type=float, default=0.05, help="stop when every force is below this (eV/Å; 0.05)")
    relax.add_argument("--steps", type=int, default=1000, help="at most this many optimiser steps (default 1000)")
    relax.add_argument("--optimizer", choices=("FIRE", "BFGS"), default="FIRE", help="ASE optimiser (default FIRE)")
    relax.add_argument("--path-frames", type=int, default=0, metavar="K",
                       help="structure file: write K structures evenly spaced along each relaxation path (its start "
                            "and last step among them) instead of the relaxed ones, for `nanomc label`: active "
                            "learning of a relaxer (docs: the relaxer recipe); a relaxation that drives atoms "
                            "together ends there instead of stopping the run")
    relax.add_argument("--overwrite", action="store_true", help="replace existing relaxed-structure files")
    relax.add_argument("-q", "--quiet", action="store_true", help="write the files, print nothing")
    relax.set_defaults(func=_relax)
    sub.add_parser("template", help="print an annotated parameter file").set_defaults(func=_template)
    surf = sub.add_parser("surfaces", help="relaxed surface energies of the (111), (100), (110) slabs of an fcc "
                                           "element or L1₂ alloy, converged in slab thickness, for shape = \"wulff\"",
                          description="Fit the bulk lattice constant, then relax slabs (every atom free) of growing "
                                      "thickness until γ = (E_slab − n·E_bulk)/2A changes by less than --tolerance; "
                                      "print γ in J/m² and eV/Å² and write them as JSON, which a campaign's "
                                      "surface_energies reads. An L1₂ alloy's (100) and (110) slabs end in its two "
                                      "terminations: their mean (docs: Surface energies).")
    surf.add_argument("material", help="an fcc element (Au) or an L1₂ alloy A3B (Cu3Au)")
    calc = surf.add_mutually_exclusive_group()
    calc.add_argument("--potential", help="nanomc potential file or shipped name (default: the default potential)")
    calc.add_argument("-c", "--calculator", help="an ASE calculator instead: emt, sevennet or module:Class")
    surf.add_argument("--calc-arg", action="append", default=[], metavar="KEY=VALUE",
                      help="constructor argument of the calculator; repeatable")
    surf.add_argument("--facets", nargs="+", choices=("111", "100", "110"), default=["111", "100", "110"],
                      help="facets to compute (default all three)")
    surf.add_argument("--tolerance", type=float, default=0.005,
                      help="converged when γ changes by less than this from one slab to the next (J/m²; 0.005)")
    surf.add_argument("--min-layers", type=int, default=4, help="thinnest slab, atomic layers (default 4)")
    surf.add_argument("--max-layers", type=int, default=12, help="thickest slab, atomic layers (default 12)")
    surf.add_argument("--size", type=int, default=1, help="surface cells along each in-plane axis (default 1)")
    surf.add_argument("--vacuum", type=float, default=8.0, help="vacuum on each side of the slab (Å; default 8)")
    surf.add_argument("--fmax", type=float, default=0.01, help="relax until every force is below this (eV/Å; 0.01)")
    surf.add_argument("-o", "--output", help="JSON file to write (default MATERIAL-surfaces.json)")
    surf.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    surf.add_argument("-q", "--quiet", action="store_true", help="write the file, print nothing")
    surf.set_defaults(func=_surfaces)
    label = sub.add_parser("label", help="label structures with energies and forces from a calculator (resumable)",
                           description="Append to the labels file (extxyz) the energy and forces of every input "
                                       "structure it does not hold yet, with the calculator's identity. Rerun after "
                                       "a kill or after adding structures: nothing is labelled twice.")
    label.add_argument("structures", nargs="+", help="structure files (extxyz or anything ASE reads)")
    label.add_argument("-o", "--output", required=True, help="labels file (extxyz; created or appended to)")
    label.add_argument("-c", "--calculator", required=True,
                       help="emt, sevennet (SevenNet-0, needs the teacher extra) or module:Class of an ASE calculator")
    label.add_argument("--calc-arg", action="append", default=[], metavar="KEY=VALUE",
                       help="constructor argument of the calculator (a TOML value or a string); repeatable")
    label.add_argument("-j", "--workers", type=int, default=1,
                       help="processes labelling in parallel, one calculator each (default 1; under mpirun use "
                            "ranks instead)")
    label.add_argument("-q", "--quiet", action="store_true", help="no progress lines or summary")
    relaxed = label.add_argument_group(
        "relaxed-lattice labels", "relax every structure and label it with the reference energy after relaxation, "
        "stored on its ideal (input) positions without forces; structures that do not map back to their lattice "
        "are left out and listed in LABELS.unmapped")
    relaxed.add_argument("--relax", action="store_true", help="relaxed-lattice labels")
    relaxed.add_argument("--relax-with", metavar="reference|POTENTIAL.h5",
                         help="relax with the reference calculator (default) or with a nanomc potential file "
                              "followed by one reference single point at the relaxed geometry")
    relaxed.add_argument("--fmax", type=float, help="relax until every force is below this (eV/Å; default 0.05)")
    relaxed.add_argument("--relax-steps", type=int, help="at most this many optimiser steps (default 500)")
    relaxed.add_argument("--relax-cell", action="store_true",
                         help="relax the cell too, for structures periodic in all three directions")
    relaxed.add_argument("--max-displacement", type=float,
                         help="leave out structures in which an atom moved more than this (Å; default 0.8)")
    relaxed.add_argument("--relax-optimizer", choices=("FIRE", "BFGS"), help="ASE optimiser (default FIRE)")
    relaxed.add_argument("--relaxed-geometry", action="store_true",
                         help="label the relaxed structure itself (relaxed positions, the reference's energy and "
                              "forces there, its unrelaxed energy and whether it maps in the frame's info), mapped "
                              "or not: reference relaxations to validate a relaxer against")
    relaxed.add_argument("--reference-points", type=int, metavar="K",
                         help=REFERENCE_POINTS_HELP + "; needs --relax-with POTENTIAL.h5, and --fmax is then the "
                              "reference's force")
    relaxed.add_argument("--swap-groups", nargs="+", metavar="A,B",
                         help="elements whose atoms may relax onto each other's sites, X for vacant sites (the "
                              "campaign's swap_groups, e.g. Ce,Cu O,X): such structures are labelled with the "
                              "occupation they relaxed to instead of left out")
    relaxed.add_argument("--rattle", type=float, metavar="Å",
                         help="start every relaxation from positions displaced by this much (standard deviation, "
                              "seeded by the structure), so that it cannot stop at a symmetric saddle point of the "
                              "ideal lattice (default 0: start on the lattice)")
    relaxed.add_argument("--starts", type=int, metavar="N",
                         help="relax every structure from N rattled starts and label it with the lowest relaxed "
                              "energy that maps (the info keeps every start's energy); needs --rattle or --kick "
                              "(default 1)")
    relaxed.add_argument("--first-start", type=int, metavar="K",
                         help="number the starts from K: other numbers give independent starts of the same "
                              "structures, to measure how reproducible the labels are (default 0)")
    relaxed.add_argument("--kick", nargs="+", metavar="EL=Å",
                         help="displace every atom of element EL by this distance in a random direction before "
                              "relaxing (seeded like --rattle, other directions per start), so that it can leave a "
                              "high-symmetry site for an off-centre minimum (e.g. Cu=0.6 for Cu in ceria)")
    relaxed.add_argument("--screen", action="store_true",
                         help="with --starts N and --reference-points K: relax every start with the relaxer alone, "
                              "compute the reference once at each end, and make the corrected relaxation from the "
                              "lowest only (N + K reference points instead of N × K)")
    label.set_defaults(func=_label, interrupted="rerun the same `nanomc label` command to continue")
    check = sub.add_parser("check-relaxer", help="a potential as a relaxer against reference relaxations of held-out "
                                                 "structures (the cheap path of relaxed-lattice labels)",
                           description="Relax each input structure with the potential, compute one reference single "
                                       "point at the geometry reached, and compare with the reference's own "
                                       "relaxation (`nanomc label --relax --relaxed-geometry`): energy error per "
                                       "atom, share of the relaxation energy captured, reference force left. With "
                                       "--reference-points K, the corrected relaxation (up to K reference points) "
                                       "instead of one.")
    check.add_argument("inputs", nargs="+", help="the structure files the reference relaxations were made from")
    check.add_argument("--reference", required=True, help="labels file of `nanomc label --relax --relaxed-geometry`")
    check.add_argument("--potential", required=True, help="potential file or shipped name (the relaxer)")
    check.add_argument("-c", "--calculator", required=True, help="the reference calculator (as for `nanomc label`)")
    check.add_argument("--calc-arg", action="append", default=[], metavar="KEY=VALUE",
                       help="constructor argument of the calculator; repeatable")
    check.add_argument("--fmax", type=float, default=0.05, help="relax until every force is below this (eV/Å; 0.05)")
    check.add_argument("--steps", type=int, default=500, help="at most this many optimiser steps (default 500)")
    check.add_argument("--optimizer", choices=("FIRE", "BFGS"), default="BFGS", help="ASE optimiser (default BFGS)")
    check.add_argument("--reference-points", type=int, default=1, metavar="K", help=REFERENCE_POINTS_HELP)
    check.add_argument("--csv", help="write one row per structure here")
    check.add_argument("--overwrite", action="store_true", help="replace an existing --csv file")
    check.set_defaults(func=_check_relaxer)
    train = sub.add_parser("train", help="train a potential from a TOML training file")
    train.add_argument("training_file")
    train.add_argument("-q", "--quiet", action="store_true", help="no progress table")
    train.set_defaults(func=_train, interrupted="nothing was written (Ctrl-C while a single network trains keeps its best "
                       "parameters; a committee stops as a whole)")
    sel = sub.add_parser("select", help="active learning: the snapshots (or swap pairs) a committee potential "
                                        "disagrees on most, as extxyz for `nanomc label`",
                         description="Score every kept snapshot of results files (or every frame of structure "
                                     "files) by the spread over the committee's members of its energy per atom "
                                     "or, with --pairs, of the ΔE of random swaps on it, and write the highest-"
                                     "scoring structures (with --pairs: before and after each swap) as extxyz.")
    sel.add_argument("potential", help="committee potential file (.h5, trained with [network] committee = N)")
    sel.add_argument("sources", nargs="+", help="results files (.h5) or structure files (extxyz, ...)")
    sel.add_argument("-o", "--output", required=True, help="extxyz file to write")
    sel.add_argument("-n", "--number", type=_count, default=20, help="structures or pairs to pick (default 20)")
    sel.add_argument("--pairs", action="store_true", help="pick swap pairs by the spread of their ΔE")
    sel.add_argument("--swaps", type=_count, default=8, help="--pairs: random swaps per snapshot (default 8)")
    sel.add_argument("--discard", type=_discard, default=0.2, help="results files: " + DISCARD_HELP)
    sel.add_argument("--seed", type=_count, default=0, help="seed of the random swaps (default 0)")
    sel.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    sel.add_argument("-q", "--quiet", action="store_true", help="write the file, print nothing")
    sel.set_defaults(func=_select)
    pred = sub.add_parser("predict", help="energies of structures with a potential (errors vs reference energies)")
    pred.add_argument("potential", help="potential file (.h5) or shipped name (AuCu, AuCu-pairs, CeCuO)")
    pred.add_argument("structures", nargs="+", help="structure files (extxyz, aenet XSF, ASE .db, ...)")
    pred.add_argument("--energy-key", default="energy", help="info key of reference energies (eV)")
    pred.add_argument("--plot", help="write a parity plot to this PNG file")
    pred.set_defaults(func=_predict)
    convert = sub.add_parser("convert", help="turn an aenet or n2p2 potential into a nanomc potential file",
                             description="Read a potential trained with aenet (one .nn file per element, binary "
                                         "or ASCII) or n2p2 (a directory with input.nn, scaling.data and "
                                         "weights.ZZZ.data) and write it as a nanomc potential file (.h5) that "
                                         "`nanomc run`, `predict` and `relax` accept.")
    source = convert.add_mutually_exclusive_group(required=True)
    source.add_argument("--aenet", nargs="+", metavar="FILE.nn", help="aenet potential files, one per element")
    source.add_argument("--n2p2", metavar="DIR", help="n2p2 potential directory")
    convert.add_argument("--length-unit", default="angstrom",
                         help="n2p2: the files' length unit (angstrom, bohr, nm or Å per unit; default angstrom)")
    convert.add_argument("--energy-unit", default="eV",
                         help="n2p2: the files' energy unit (eV, hartree, rydberg, kcal/mol, kJ/mol or eV per "
                              "unit; default eV)")
    convert.add_argument("-o", "--output", required=True, help="nanomc potential file to write (.h5)")
    convert.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    convert.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    convert.set_defaults(func=_convert)
    return parser


def _rank() -> int:
    try:
        from .mc.parallel import world
    except ImportError:  # the kernels are missing (nanomc.mc imports them): nothing ran, on any rank
        return 0
    return world().rank


def main(argv: list[str] | None = None) -> int:
    """Entry point; a NanomcError becomes one line on stderr and exit status 1."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except NanomcError as exc:
        # under MPI every rank raises the same error; one line from rank 0 is enough
        if _rank() == 0:
            print(f"nanomc: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        hint = getattr(args, "interrupted", "`nanomc run --resume` continues from the last checkpoint")
        print(f"nanomc: interrupted; {hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
