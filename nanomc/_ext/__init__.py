"""Compiled Cython kernels (built from ext/ by setup.py)."""
