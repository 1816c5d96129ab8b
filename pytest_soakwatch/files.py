"""Writing report files: atomic replacement, and O(1) appends to a growing JSON list."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from .errors import SoakwatchError
from .fsio import read_bytes, write_bytes
from .strictjson import loads_strict

_LIST_TAIL = b"\n]\n"


_FIRST_PROBE = 1024  # an entry is a few hundred bytes: the first probe finds it
_BINARY = getattr(os, "O_BINARY", 0)  # no newline translation on Windows
_UPDATE = os.O_RDWR | _BINARY
_READ = os.O_RDONLY | _BINARY


class UnusableFile(SoakwatchError):
    """A file the system will not let us read or write: not damaged, so not to be set aside."""


_ENCODERS = {
    indent: json.JSONEncoder(sort_keys=True, ensure_ascii=False, indent=indent, allow_nan=False)
    for indent in (None, 2)
}


def dumps(value: Any, indent: int | None = 2) -> str:
    """The one JSON style of our files: sorted keys, UTF-8 text, no NaN."""
    encoder = _ENCODERS.get(indent)
    if encoder is None:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, indent=indent, allow_nan=False)
    return encoder.encode(value)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: a killed process leaves the old file or the new one.

    The text goes to ``.NAME.PID.tmp`` beside it first (one writer per file and
    process), then replaces it.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = text.encode("utf-8")
    try:
        try:
            write_bytes(tmp, data)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes(tmp, data)
        replace_file(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def replace_file(source: Path, target: Path, attempts: int = 5) -> None:
    """``os.replace`` with a short retry: on Windows a reader holding the file blocks it."""
    for attempt in range(attempts):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def _render_list(entries: list[Any]) -> str:
    """One entry per line: valid JSON, greppable, and appendable at the tail."""
    if not entries:
        return "[]\n"
    return "[\n" + ",\n".join(dumps(e, indent=None) for e in entries) + "\n]\n"


def read_json_list(path: Path, key: str = "iteration") -> list[dict[str, Any]]:
    """Read a list written by :func:`upsert_list_entry`: objects with a whole-number ``key``."""
    try:
        data = read_bytes(path)
    except OSError as exc:
        raise UnusableFile(f"{path}: cannot read ({exc.strerror or exc})") from None
    value = loads_strict(data, str(path))
    if not isinstance(value, list):
        raise SoakwatchError(f"{path}: expected a JSON list")
    for number, entry in enumerate(value, 1):
        if not isinstance(entry, dict) or type(entry.get(key)) is not int:
            raise SoakwatchError(f"{path}: entry {number} has no whole-number {key!r}")
    return value


def remove_list_entry(path: Path, key: str, value: int) -> None:
    """Drop the entry whose ``key`` is ``value`` from the list at ``path`` (atomically).

    A list that ends before ``value`` (kept in order, it holds no such entry) is
    not read whole: an iteration that broke has usually never been recorded.
    """
    try:
        fd = os.open(path, _READ)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UnusableFile(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        last = _last_entry_key(fd, os.lseek(fd, 0, os.SEEK_END), key)
    finally:
        os.close(fd)
    if isinstance(last, int) and last < value:
        return
    entries = read_json_list(path, key)
    kept = [entry for entry in entries if entry[key] != value]
    if len(kept) != len(entries):
        write_atomic(path, _render_list(kept))


def _last_entry_key(fd: int, size: int, key: str) -> Any:
    """The ``key`` of the list's last entry, read from the file's tail; ``None`` if unsure.

    A larger entry (a project's hook may add much) takes probes 16 times larger
    each: reading it costs at most about 16 times its size, however long the list.
    """
    probe = _FIRST_PROBE
    while True:
        start = max(0, size - probe)
        os.lseek(fd, start, os.SEEK_SET)
        tail = os.read(fd, size - start)  # short only if the file shrank: then unsure
        if not tail.endswith(_LIST_TAIL):
            return None
        lines = tail[: -len(_LIST_TAIL)].rsplit(b"\n", 1)
        if len(lines) == 2 or start == 0:
            break
        probe *= 16
    try:
        entry = json.loads(lines[-1])
    except ValueError:
        return None
    return entry.get(key) if isinstance(entry, dict) else None


def _append(fd: int, size: int, data: bytes) -> None:
    """Replace the list's closing bracket by ``data`` in one write; undo it if the write fails.

    A process killed during that one small write is the only way to leave a
    torn file (a full disk is undone here); ITER_SUMMARY_N.json files hold the
    same entries.
    """
    bracket = size - len(_LIST_TAIL)
    os.lseek(fd, bracket, os.SEEK_SET)
    try:
        view = memoryview(data)
        while view:  # a write may be short; the next one raises
            view = view[os.write(fd, view) :]
    except BaseException:
        os.lseek(fd, bracket, os.SEEK_SET)
        os.write(fd, _LIST_TAIL)
        os.ftruncate(fd, size)
        raise


def upsert_list_entry(path: Path, entry: dict[str, Any], key: str) -> None:
    """Put ``entry`` into the JSON list at ``path``, kept in order of ``entry[key]``.

    The common case, an entry after the last one, appends in one write at the
    tail, so the cost does not grow with the list; anything else (a replaced or
    out-of-order entry, a file edited by hand) rewrites the list atomically.
    """
    position = entry[key]
    try:
        fd = os.open(path, _UPDATE)
    except FileNotFoundError:
        entries = []
    except OSError as exc:  # e.g. a read-only file, or a directory by that name
        raise UnusableFile(f"{path}: cannot write ({exc.strerror or exc})") from None
    else:
        try:  # file descriptors, not a file object: a soak appends once per iteration
            size = os.lseek(fd, 0, os.SEEK_END)
            last = _last_entry_key(fd, size, key)
            if isinstance(last, int) and isinstance(position, int) and last < position:
                _append(fd, size, (",\n" + dumps(entry, indent=None)).encode() + _LIST_TAIL)
                return
        finally:
            os.close(fd)
        entries = [e for e in read_json_list(path, key) if e[key] != position]
    entries.append(entry)
    entries.sort(key=lambda e: int(e[key]))
    write_atomic(path, _render_list(entries))
