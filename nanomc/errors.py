"""Exception types. Every error a user can cause is a NanomcError with a one-line message."""


class NanomcError(Exception):
    """Base class: the message is one line that names the problem."""


class StructureError(NanomcError, ValueError):
    """A structure nanomc cannot evaluate (unknown element, NaN positions, overlapping atoms)."""


class PotentialError(NanomcError, ValueError):
    """An inconsistent potential definition (shapes, parameters, activations)."""


class PotentialFileError(NanomcError, OSError):
    """A potential file that is missing, truncated, foreign or of an unsupported version."""


class KernelsMissingError(NanomcError, ImportError):
    """nanomc's compiled kernels (nanomc._ext) were not built."""
