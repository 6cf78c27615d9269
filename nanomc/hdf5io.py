"""HDF5 files of nanomc: written atomically, opened with format and version checks."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Collection, Iterator

import h5py

from .errors import NanomcError


@contextmanager
def write_atomically(path: str | Path, fmt: str, version: int) -> Iterator[h5py.File]:
    """Yield a new HDF5 file stamped with format and version; it replaces `path` only when complete."""
    from . import __version__

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs.update({"format": fmt, "format_version": version, "nanomc_version": __version__})
            yield f
            f.flush()
            os.fsync(f.id.get_vfd_handle())
    except BaseException:
        tmp.unlink(missing_ok=True)  # a failed write leaves `path` as it was and nothing else
        raise
    tmp.replace(path)


@contextmanager
def open_checked(path: str | Path, fmt: str, version: int, error: type[NanomcError], what: str,
                 older: Collection[int] = ()) -> Iterator[h5py.File]:
    """Open a file for reading after checking its format and version (`version`, or one of the
    `older` versions the caller still reads; the file's version is f.attrs["format_version"]).

    Every problem — missing, not HDF5, another format, another version, missing or damaged
    content while reading (KeyError, ValueError, OSError of HDF5, also in the attributes checked
    here) — becomes `error` with a one-line message that starts with the path. The file is only read.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: {what} file not found")
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise error(f"{path}: not a readable HDF5 file (truncated, damaged or another format)") from None
    with f:
        try:
            _check_format(f, path, fmt, version, error, what, older)
            yield f
        except error:
            raise
        except NanomcError as exc:
            raise error(f"{path}: {exc}") from None
        except (KeyError, ValueError, IndexError, TypeError, OSError) as exc:
            raise error(f"{path}: incomplete or damaged {what} file ({exc})") from None


def _check_format(f: h5py.File, path: Path, fmt: str, version: int, error: type[NanomcError], what: str,
                  older: Collection[int]) -> None:
    """`error` unless f's format attribute is `fmt` and its format_version `version` or one of `older`."""
    if f.attrs.get("format") != fmt:
        raise error(f"{path}: not a nanomc {what} file (format attribute missing or different)")
    found = f.attrs.get("format_version", -1)
    if int(found) != version and int(found) not in older:
        versions = ", ".join(str(v) for v in sorted({version, *older}))
        raise error(f"{path}: {what} format version {found} is not supported (this nanomc reads {versions})")
