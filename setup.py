"""Build the Cython kernels in ext/ into the nanomc._ext package."""
import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

KERNELS = ["neighbors", "network", "descriptors", "local_energy", "forces"]

extensions = [
    Extension(
        f"nanomc._ext.{name}",
        [f"ext/{name}.pyx"],
        include_dirs=[numpy.get_include(), "ext"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O3", "-funroll-loops"],
    )
    for name in KERNELS
]

setup(
    ext_modules=cythonize(
        extensions,
        include_path=["ext"],
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )
)
