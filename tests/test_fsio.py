"""Whole-file reads and writes: bytes in, the same bytes out, errors as ``open()`` raises them."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from pytest_soakwatch.fsio import read_bytes, write_bytes


@pytest.mark.parametrize(
    "data",
    [b"", b"{}\n", b"line one\r\nline two\n", b"\x00\xff" * 70_000],
    ids=["empty", "json", "crlf-kept", "larger-than-a-read"],
)
def test_round_trip_is_byte_exact(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "file.bin"
    write_bytes(path, data)
    assert path.read_bytes() == data  # no newline translation, on Windows either
    assert read_bytes(path) == data
    assert read_bytes(str(path)) == data


def test_write_replaces_a_longer_file(tmp_path: Path) -> None:
    path = tmp_path / "file.json"
    path.write_bytes(b'{"a": "a much longer old content"}\n')
    write_bytes(path, b"{}\n")
    assert path.read_bytes() == b"{}\n"


def test_errors_are_the_ones_open_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_bytes(tmp_path / "missing.json")
    with pytest.raises(FileNotFoundError):
        write_bytes(tmp_path / "no-such-dir" / "file.json", b"{}")


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_a_file_that_reports_no_size_is_read_whole() -> None:
    assert Path("/proc/self/status").stat().st_size == 0
    assert read_bytes("/proc/self/status").startswith(b"Name:")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_is_read_to_its_end_not_to_its_first_short_read(tmp_path: Path) -> None:
    fifo = tmp_path / "overrides.json"
    os.mkfifo(fifo)

    def write_in_two_parts() -> None:
        with fifo.open("wb", buffering=0) as stream:
            stream.write(b'{"tail_age_ms": ')
            time.sleep(0.2)  # the reader's first read returns before the rest is written
            stream.write(b"650}\n")

    writer = threading.Thread(target=write_in_two_parts)
    writer.start()
    try:
        assert read_bytes(fifo) == b'{"tail_age_ms": 650}\n'
    finally:
        writer.join()


def test_a_short_first_read_of_a_regular_file_is_not_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Linux returns at most about 2 GiB from one read: what came back is not all there is."""
    path = tmp_path / "TUNING_REPORT.json"
    data = bytes(range(256)) * 4
    path.write_bytes(data)
    read = os.read
    monkeypatch.setattr(os, "read", lambda fd, size: read(fd, min(size, 300)))
    assert read_bytes(path) == data
