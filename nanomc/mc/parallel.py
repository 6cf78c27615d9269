"""The communicator: MPI.COMM_WORLD under mpirun, a one-process stand-in otherwise."""
from __future__ import annotations

import os
from typing import Any, Callable

from ..errors import NanomcError

#: environment variables that MPI launchers (MPICH/hydra, Open MPI, PMIx) set in every rank
LAUNCHER_VARIABLES = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")


class ReplicaFailure(NanomcError, RuntimeError):
    """A replica or walker raised on some rank; the message names the rank, where, and the error."""


def on_every_rank(comm, where: str, work: Callable[[], Any]) -> list:
    """Run work() on every rank and allgather the results (one per rank, in rank order).

    Every rank reports success or its error in the same collective, so a rank that raises stops
    every rank with a ReplicaFailure naming it and `where` instead of leaving the others waiting.
    """
    result, error = None, None
    try:
        result = work()
    except Exception as exc:  # reported to every rank below, then raised everywhere
        error = f"{type(exc).__name__}: {exc}"
    gathered = comm.allgather((comm.rank, error, result))
    for rank, err, _ in gathered:
        if err is not None:
            raise ReplicaFailure(f"rank {rank} failed in {where}: {err}")
    return [r for _, _, r in gathered]


class SerialComm:
    """The subset of mpi4py's communicator nanomc uses, for a single process."""

    rank = 0
    size = 1

    def allgather(self, value: Any) -> list:
        return [value]

    def gather(self, value: Any, root: int = 0) -> list:
        return [value]

    def bcast(self, value: Any, root: int = 0) -> Any:
        return value

    def alltoall(self, values: list) -> list:
        return list(values)

    def Barrier(self) -> None:  # noqa: N802 (mpi4py's name)
        pass


def launched_by_mpi() -> bool:
    """True if this process was started by mpirun/mpiexec (an MPI launcher's variables are set)."""
    return any(v in os.environ for v in LAUNCHER_VARIABLES)


def world():
    """MPI.COMM_WORLD when launched by mpirun, else a SerialComm (mpi4py is not even imported)."""
    if not launched_by_mpi():
        return SerialComm()
    from mpi4py import MPI

    return MPI.COMM_WORLD


def owner_of(replica: int, n_replicas: int, size: int) -> int:
    """Rank that runs `replica` when n_replicas are spread in contiguous blocks over `size` ranks."""
    return replica * size // n_replicas
