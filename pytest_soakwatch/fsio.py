"""Whole-file reads and writes in the fewest system calls: a soak does several per iteration.

``open()`` adds a buffer, a terminal probe and seeks that reading or writing a
whole file never needs; on a tmpfs they are a third of the cost of a small
file. ``O_BINARY`` keeps Windows from translating newlines.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_BINARY = getattr(os, "O_BINARY", 0)
_READ = os.O_RDONLY | _BINARY
_WRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _BINARY


class TooLarge(OSError):
    """A file past the size its reader takes: a sparse or runaway file, not data."""


def read_bytes(path: Path | str, limit: int | None = None) -> bytes:
    """The file's contents (raises ``OSError`` like ``Path.read_bytes``; :class:`TooLarge`
    for a file of more than ``limit`` bytes, before reading it)."""
    fd = os.open(path, _READ)
    try:
        info = os.fstat(fd)
        found = info.st_size
        if limit is not None and found > limit:
            raise TooLarge(errno.EFBIG, f"larger than {limit // 2**20} MiB")
        size = max(found + 1, 64 * 1024)  # at least 64 KiB: /proc reports size 0
        chunk = os.read(fd, size)
        if found and len(chunk) == found and stat.S_ISREG(info.st_mode):
            return chunk  # all of a regular file that did not grow (a pipe's size is not its end)
        chunks = [chunk]
        while chunk:
            chunk = os.read(fd, size)
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_bytes(path: Path | str, data: bytes) -> None:
    """Create or truncate the file and write ``data`` (a short write is continued)."""
    fd = os.open(path, _WRITE, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
