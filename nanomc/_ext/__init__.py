"""The compiled kernels (built from ext/*.pyx); importing one that was not built says how to build it."""
from importlib.util import find_spec

from ..errors import KernelsMissingError

KERNELS = ("neighbors", "descriptors", "network", "local_energy", "forces")

if any(find_spec(f"{__name__}.{name}") is None for name in KERNELS):
    raise KernelsMissingError("the compiled kernels are missing: run `pip install -e .` "
                              "(or `python setup.py build_ext --inplace`)")
