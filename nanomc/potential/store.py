"""The potential file: HDF5, self-describing, versioned.

Layout (format "nanomc-potential", version 3):
    /                attrs: format, format_version, nanomc_version, elements, cutoff (Å)
    /provenance      attrs: free-form metadata (training-set hash, RMSE/MAE, ...)
    /<element>/      attrs: e0 (eV)
        radial       (n_rad, 6) η (1/Å²), R_s (Å), neighbour element index,
                     cutoff radius (Å; 0 = the potential's cutoff), cutoff kind number, α
        angular      (n_ang, 10) η (1/Å²), ζ, λ, element index a, element index b, R_s (Å),
                     variant number (0 narrow, 1 wide), cutoff radius, cutoff kind number, α
                     version 3 tables (n_rad, 9 + n_el), (n_ang, 13 + n_pairs) append: radial basis /
                     angular factor number (0 gaussian / power, 1 chebyshev), Chebyshev order, position
                     in the descriptor vector, weight of every element / element pair (in the order
                     of descriptors.element_pairs); weighted functions have element index −1
        scale_shift, scale_factor   (n_desc,) scaled = (G − shift) · factor
        layer_<k>/   weights (n_out, n_in), bias (n_out,); attrs activation, twist
        committee/member_<m>/layer_<k>/   a committee (nanomc.potential.committee): the layers of
                     member m; the layer_<k> above then hold the fused network (the members' mean),
                     so a nanomc without committees reads the file as the committee's mean
Cutoff kind numbers index nanomc.potential.descriptors.CUTOFF_KINDS (n2p2's numbering).
A file is written as version 2 (6- and 10-column tables, readable by older nanomc) unless a
descriptor set needs the version-3 columns (weights, Chebyshev functions, positions:
DescriptorSet.in_version_2). Version 1 (still read) had only the first 3 and 5 columns: cosine
cutoff at the potential's cutoff, R_s = 0 and narrow angular functions.
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import PotentialFileError
from ..hdf5io import open_checked, write_atomically
from .descriptors import DescriptorSet
from .network import Layer, Network

#: the potentials shipped with nanomc (files in nanomc/data), by the names a campaign's `file`, the
#: `--potential` options and nanomc.Calculator accept; `AuCu` is the Au–Cu potential trained on EMT energies,
#: `AuCu-pairs` the Au–Cu potential trained further on EMT swap energies, with wider networks
#: (runs/AuCu-potential/train-pairs.toml, then train-pairs-continue.toml, train-pairs-wide.toml and
#: train-pairs-shapes.toml), and `default` is `AuCu-pairs`, the accurate one (swap-energy RMSE 3.6 meV
#: against EMT's on 18 unseen particles of 1289–1415 atoms, against 21.5 meV for `AuCu`; docs/validation.md)
SHIPPED_POTENTIALS = {"default": "AuCu-pairs.h5", "AuCu": "AuCu.h5", "AuCu-pairs": "AuCu-pairs.h5", "CeCuO": "CeCuO.h5"}
FORMAT = "nanomc-potential"
FORMAT_VERSION = 3
#: older versions this nanomc still reads (and writes version 2 when it suffices)
READABLE_VERSIONS = (1, 2)


def save_potential(pot, path: str | Path) -> None:
    """Write `pot` to `path` (written to a temporary name, then renamed); version 2 if it suffices."""
    version = 2 if all(pot.descriptor_sets[e].in_version_2 for e in pot.elements) else FORMAT_VERSION
    with write_atomically(path, FORMAT, version) as f:
        f.attrs["elements"] = list(pot.elements)
        f.attrs["cutoff"] = pot.cutoff
        prov = f.create_group("provenance")
        for key, value in pot.provenance.items():
            prov.attrs[key] = value
        for e in pot.elements:
            g = f.create_group(e)
            g.attrs["e0"] = pot.e0[e]
            radial, angular = pot.descriptor_sets[e].to_arrays(pot.elements)
            g["radial"] = radial
            g["angular"] = angular
            g["scale_shift"], g["scale_factor"] = pot.scaling[e]
            _write_layers(g, pot.networks[e])
            for m, nets in enumerate(pot.members):
                _write_layers(g.require_group("committee").create_group(f"member_{m}"), nets[e])


def _write_layers(group, network) -> None:
    for k, lay in enumerate(network.layers):
        lg = group.create_group(f"layer_{k}")
        lg["weights"] = lay.weights
        lg["bias"] = lay.bias
        lg.attrs["activation"] = lay.activation
        lg.attrs["twist"] = lay.twist


def _read_layers(group) -> Network:
    n_layers = sum(1 for k in group if k.startswith("layer_"))
    layers = []
    for k in range(n_layers):
        lg = group[f"layer_{k}"]
        layers.append(Layer(lg["weights"][()], lg["bias"][()], str(lg.attrs["activation"]), float(lg.attrs["twist"])))
    return Network(layers)


def load_potential(path: str | Path):
    """Read and validate a potential file, or a shipped potential by name (SHIPPED_POTENTIALS);
    PotentialFileError names the file and the problem."""
    from .potential import Potential

    path = potential_path(path)
    if not path.exists() and not path.suffix:  # a bare name: perhaps a misspelt shipped one
        raise PotentialFileError(f"{path}: potential file not found (the shipped potentials are "
                                 f"{', '.join(SHIPPED_POTENTIALS)})")
    with open_checked(path, FORMAT, FORMAT_VERSION, PotentialFileError, "potential", READABLE_VERSIONS) as f:
        elements = [str(e) for e in f.attrs["elements"]]
        cutoff = float(f.attrs["cutoff"])
        dsets, nets, scaling, e0 = {}, {}, {}, {}
        n_members = len(f[elements[0]]["committee"]) if "committee" in f[elements[0]] else 0
        members: list[dict] = [{} for _ in range(n_members)]
        for e in elements:
            g = f[e]
            dsets[e] = DescriptorSet.from_arrays(g["radial"][()], g["angular"][()], elements)
            scaling[e] = (g["scale_shift"][()], g["scale_factor"][()])
            e0[e] = float(g.attrs["e0"])
            nets[e] = _read_layers(g)
            for m, member in enumerate(members):
                member[e] = _read_layers(g["committee"][f"member_{m}"])
        provenance = {k: _plain(v) for k, v in f["provenance"].attrs.items()} if "provenance" in f else {}
        if not members:
            return Potential(elements, cutoff, dsets, nets, scaling, e0, provenance)
        pot = Potential(elements, cutoff, dsets, None, scaling, e0, provenance, members=members)
        for e in elements:
            stored, fused = nets[e].layers, pot.networks[e].layers
            if len(stored) != len(fused) or not all(np.array_equal(a.weights, b.weights) and
                                                    np.array_equal(a.bias, b.bias) for a, b in zip(stored, fused)):
                raise PotentialFileError(f"{path}: the network of {e} is not the mean of its committee members")
        return pot


def _plain(value):
    """HDF5 attribute -> plain Python value."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def default_potential_path() -> Path:
    """The default potential shipped with nanomc (`AuCu-pairs`, Au–Cu, nanomc/data)."""
    return potential_path("default")


def potential_path(name: str | Path, base: Path | None = None) -> Path:
    """The file of a potential given by a shipped name (SHIPPED_POTENTIALS) or a path (relative to
    base, if given; `..` steps are folded, so that a scan point's `../../pot.h5` reads as the file's
    own path in messages)."""
    if str(name) in SHIPPED_POTENTIALS:
        return Path(str(resources.files("nanomc") / "data" / SHIPPED_POTENTIALS[str(name)]))
    return Path(name) if base is None else Path(os.path.normpath(base / name))
