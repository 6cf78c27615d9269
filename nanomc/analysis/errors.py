"""Error and warning types of the analysis."""
from ..errors import NanomcError


class AnalysisError(NanomcError, ValueError):
    """Input the analysis cannot use (unknown element, nothing left after discarding, no neighbour shells)."""


class AnalysisWarning(UserWarning):
    """Results that can be computed but deserve caution (incomplete run, few snapshots, annealing)."""


class DriftWarning(AnalysisWarning):
    """A Monte Carlo series that still drifts after the discarded equilibration period."""
