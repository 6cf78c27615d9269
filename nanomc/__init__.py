"""nanomc: Monte Carlo chemical ordering of nanoparticles with neural-network potentials."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nanomc")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from .errors import NanomcError, PotentialError, PotentialFileError, StructureError
from .potential import Potential, chebyshev_descriptor_set, default_descriptor_set
from .calculator import Calculator

__all__ = [
    "Calculator",
    "NanomcError",
    "Potential",
    "PotentialError",
    "PotentialFileError",
    "StructureError",
    "__version__",
    "chebyshev_descriptor_set",
    "default_descriptor_set",
]
