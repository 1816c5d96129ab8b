"""TUNING_REPORT.json's list: appended at its tail however large an entry, read whole only when
an entry has to be replaced or removed."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pytest_soakwatch.files import remove_list_entry, upsert_list_entry


def _entries(path: Path) -> list[dict[str, object]]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_large_entries_are_appended_in_place(tmp_path: Path) -> None:
    path = tmp_path / "TUNING_REPORT.json"
    big = "x" * 40_000  # far past the first probe of the tail
    upsert_list_entry(path, {"iteration": 1, "note": big}, key="iteration")
    first = os.stat(path).st_ino
    for index in (2, 3):
        upsert_list_entry(path, {"iteration": index, "note": big}, key="iteration")
    assert os.stat(path).st_ino == first  # never replaced by a rewritten copy
    assert [e["iteration"] for e in _entries(path)] == [1, 2, 3]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert (lines[0], lines[-1], len(lines)) == ("[", "]", 5)


def test_an_entry_out_of_order_rewrites_the_list_in_order(tmp_path: Path) -> None:
    path = tmp_path / "TUNING_REPORT.json"
    for index in (1, 3, 2):
        upsert_list_entry(path, {"iteration": index}, key="iteration")
    upsert_list_entry(path, {"iteration": 3, "again": True}, key="iteration")
    assert _entries(path) == [{"iteration": 1}, {"iteration": 2}, {"iteration": 3, "again": True}]


def test_removing_an_entry_past_the_last_reads_only_the_tail(tmp_path: Path) -> None:
    path = tmp_path / "TUNING_REPORT.json"
    text = '[\n{"iteration": 1},\nDAMAGE,\n{"iteration": 2}\n]\n'  # damage the gate finds
    path.write_text(text, encoding="utf-8")
    remove_list_entry(path, "iteration", 3)
    assert path.read_text(encoding="utf-8") == text


def test_removing_a_recorded_entry_rewrites_the_list_without_it(tmp_path: Path) -> None:
    path = tmp_path / "TUNING_REPORT.json"
    for index in (1, 2, 3):
        upsert_list_entry(path, {"iteration": index}, key="iteration")
    remove_list_entry(path, "iteration", 2)
    remove_list_entry(path, "iteration", 3)
    assert path.read_text(encoding="utf-8") == '[\n{"iteration": 1}\n]\n'
    remove_list_entry(tmp_path / "missing.json", "iteration", 1)
    assert not (tmp_path / "missing.json").exists()
