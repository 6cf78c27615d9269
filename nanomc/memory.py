"""Memory: what a campaign's set-up needs, estimated before its particle is built, and what this process has.

The estimate is per site: the neighbour pairs within the potential's cutoff (the neighbour list, its
vectors and the lattice offsets at the peak of the set-up: PAIR_BYTES each, 129 measured on an
8,384-site Au–Cu particle), the particle itself (SITE_BYTES) and every replica's descriptors and state.
"""
from __future__ import annotations

import os
import resource
from pathlib import Path

import numpy as np

from .errors import NanomcError

#: bytes per neighbour pair within the cutoff at the peak of the set-up
PAIR_BYTES = 130
#: bytes per site for the particle while it is built (positions, labels, occupations, ASE's construction)
SITE_BYTES = 1024
#: per site and replica: 8 bytes per descriptor, and its energies, occupation and move scratch
REPLICA_SLOTS = 16
#: the memory (MiB) nanomc may use, given in the environment instead of what the machine has available
LIMIT_VARIABLE = "NANOMC_MEMORY_MB"


def setup_bytes(sites: int, pairs_per_site: float, descriptors: int, replicas: int) -> int:
    """Bytes (estimated) to set up `replicas` replicas of a particle of `sites` sites with `pairs_per_site`
    neighbours within the cutoff each and `descriptors` descriptors per site."""
    per_site = PAIR_BYTES * pairs_per_site + SITE_BYTES + 8 * (descriptors + REPLICA_SLOTS) * replicas
    return int(sites * per_site)


def lattice_pairs(sites_per_volume: float, cutoff: float) -> float:
    """Neighbours within `cutoff` (Å) of a site inside a lattice of this density (sites per Å³)."""
    return sites_per_volume * 4.0 / 3.0 * np.pi * cutoff**3


def sampled_pairs(positions: np.ndarray, cutoff: float, samples: int = 64) -> float:
    """Mean number of other atoms within `cutoff` (Å) of up to `samples` atoms spread over `positions` (Å;
    periodic images not counted)."""
    picked = positions[np.linspace(0, len(positions) - 1, min(samples, len(positions))).astype(int)]
    return float(np.mean([np.count_nonzero(((positions - p) ** 2).sum(axis=1) < cutoff**2) - 1 for p in picked]))


def available_memory() -> int:
    """Bytes this process can still use: NANOMC_MEMORY_MB (MiB) if set; else the least of the machine's available
    memory (MemAvailable of /proc/meminfo, or os.sysconf), what the address-space limit (ulimit -v) leaves and
    what a cgroup (v2) memory limit leaves."""
    given = os.environ.get(LIMIT_VARIABLE)
    if given is not None:
        try:
            return int(float(given) * 2**20)
        except ValueError:
            raise NanomcError(f"{LIMIT_VARIABLE}={given!r} is not a number of MiB") from None
    left = [_machine_available()]
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    if soft != resource.RLIM_INFINITY:
        left.append(soft - int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE"))
    cgroup = Path("/sys/fs/cgroup")
    if (cgroup / "memory.max").is_file() and (cgroup / "memory.max").read_text().strip() != "max":
        left.append(int((cgroup / "memory.max").read_text()) - int((cgroup / "memory.current").read_text()))
    return max(0, min(left))


def _machine_available() -> int:
    """Bytes of memory the machine has available (MemAvailable), or free where there is no /proc/meminfo."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def gib(n_bytes: int) -> str:
    """Bytes as GiB for messages: 0.0195, 21.9, 1,080."""
    value = n_bytes / 2**30
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
