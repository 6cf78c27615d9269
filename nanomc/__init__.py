"""nanomc: Monte Carlo chemical ordering of nanoparticles with neural-network potentials."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("nanomc")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from .errors import KernelsMissingError, NanomcError, PotentialError, PotentialFileError, StructureError

# imported on first use, so that `import nanomc` (and `nanomc info`) work before the kernels are built
_LAZY = {"Potential": ".potential", "chebyshev_descriptor_set": ".potential", "default_descriptor_set": ".potential",
         "Calculator": ".calculator"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Calculator",
    "KernelsMissingError",
    "NanomcError",
    "Potential",
    "PotentialError",
    "PotentialFileError",
    "StructureError",
    "__version__",
    "chebyshev_descriptor_set",
    "default_descriptor_set",
]
