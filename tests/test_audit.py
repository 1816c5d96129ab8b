"""audit.jsonl: block reasons as percent of audited actions, streamed and strictly validated."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from pytest_soakwatch import SoakwatchError, audit, summarize_iteration
from pytest_soakwatch.audit import count_reasons

# The two origin lines of FORMATS.md, verbatim.
ORIGIN_BLOCKED = (
    '{"fields":{"allowed":0,"reason":"min_interval"},"kind":"REPLACE","prev_sha256":"GENESIS",'
    '"sha256":"9f2c...","symbol":"BTCUSDT","ts":"2025-10-13T12:00:00Z"}'
)
ORIGIN_ALLOWED = (
    '{"fields":{"allowed":1},"kind":"PLACE","prev_sha256":"9f2c...","sha256":"41ab...",'
    '"symbol":"ETHUSDT","ts":"2025-10-13T12:00:00.250Z"}'
)
# A line that is bad JSON whatever comes after it.
BAD = '{"fields": {"reason": "risk"'


def write_audit(tmp_path, data: str | bytes):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def lines(*records: str, end: str = "\n") -> str:
    return "".join(f"{record}{end}" for record in records)


@pytest.mark.parametrize(
    ("records", "counts"),
    [
        ([ORIGIN_BLOCKED, ORIGIN_ALLOWED], {"min_interval": 1, "allowed": 1}),
        (
            [
                '{"reason": "risk"}',
                '{"blocked_reason": "throttle"}',
                '{"kind": "PLACE", "allowed": 1}',
            ],
            {"risk": 1, "throttle": 1, "allowed": 1},
        ),
        (
            [ORIGIN_BLOCKED, '{"reason": "min_interval"}', '{"blocked_reason": "min_interval"}'],
            {"min_interval": 3},
        ),
        (
            ['{"fields": {"allowed": 0, "reason": "backoff"}}', '{"fields": {"allowed": true}}'],
            {"backoff": 1, "allowed": 1},
        ),
    ],
    ids=["origin-shape", "flat-shape", "mixed-shapes", "other-reasons"],
)
def test_counts_both_line_shapes(tmp_path, records, counts):
    result = count_reasons(write_audit(tmp_path, lines(*records)))

    assert result.counts == counts
    assert result.lines == len(records)
    assert result.truncated_last_line is False


@pytest.mark.parametrize(
    ("counts", "ratios"),
    [
        (
            {"min_interval": 15, "concurrency": 12, "allowed": 73},
            {"min_interval": 15.0, "concurrency": 12.0, "allowed": 73.0},
        ),
        (
            {"risk": 1, "throttle": 1, "allowed": 1},
            {"risk": 33.3, "throttle": 33.3, "allowed": 33.3},
        ),
        ({"risk": 2, "allowed": 1}, {"risk": 66.7, "allowed": 33.3}),
        ({"concurrency": 1, "allowed": 7}, {"concurrency": 12.5, "allowed": 87.5}),
        ({"min_interval": 1}, {"min_interval": 100.0}),
    ],
)
def test_ratios_are_percent_of_all_lines_one_decimal(write_artifacts, counts, ratios):
    records = []
    for reason, n in counts.items():
        record = (
            {"fields": {"allowed": 1}} if reason == "allowed" else {"fields": {"reason": reason}}
        )
        records += [record] * n

    summary = summarize_iteration(write_artifacts(audit_lines=records))

    assert summary["blocks"]["ratios"] == ratios
    assert summary["blocks"]["source"] == "audit.jsonl"
    assert summary["audit"]["lines"] == sum(counts.values())


def test_reasonless_blocked_lines_count_in_the_total(tmp_path):
    text = lines('{"fields": {"reason": "risk"}}', '{"fields": {"allowed": 0}}')

    result = count_reasons(write_audit(tmp_path, text))

    assert result.lines == 2
    assert result.ratios()["risk"] == 50.0


def test_empty_audit_file(write_artifacts):
    summary = summarize_iteration(write_artifacts(audit_lines=[]))

    assert summary["blocks"]["ratios"] == {}
    assert summary["audit"] == {"lines": 0, "truncated_lines": 0, "truncated_last_line": False}


@pytest.mark.parametrize(
    "cut",
    [
        b'{"fields":{"allowed":0,"reas',
        b'{"fields":{"allowed":1}',
        b"{",
        b'{"reason": "risk", "x": 1e',
        '{"reason": "\u00e9'.encode()[:-1],  # within a character of two bytes
        '{"symbol": "\u20ac'.encode()[:-2],  # of three
    ],
)
def test_cut_short_last_line_is_tolerated_and_reported(write_artifacts, cut):
    directory = write_artifacts(audit_lines=[ORIGIN_BLOCKED, ORIGIN_ALLOWED])
    with (directory / "audit.jsonl").open("ab") as stream:
        stream.write(cut)

    summary = summarize_iteration(directory)

    assert summary["audit"] == {"lines": 2, "truncated_lines": 1, "truncated_last_line": True}
    assert summary["blocks"]["ratios"] == {"min_interval": 50.0, "allowed": 50.0}


def test_complete_last_line_without_newline_is_counted(tmp_path):
    text = lines(ORIGIN_BLOCKED) + ORIGIN_ALLOWED

    result = count_reasons(write_audit(tmp_path, text))

    assert result.counts == {"min_interval": 1, "allowed": 1}
    assert result.truncated_last_line is False


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (lines(ORIGIN_BLOCKED, BAD, ORIGIN_ALLOWED), 2),
        (lines(BAD, ORIGIN_ALLOWED), 1),
        (lines(ORIGIN_BLOCKED, ORIGIN_ALLOWED, BAD), 3),  # bad last line WITH a newline
        (lines(ORIGIN_BLOCKED, "", BAD, ORIGIN_ALLOWED), 3),  # blank lines still count as lines
        (lines(ORIGIN_BLOCKED, BAD, end="\r\n") + ORIGIN_ALLOWED, 2),
        (lines(ORIGIN_ALLOWED, '{"reason": "risk", "x": NaN}', ORIGIN_ALLOWED), 2),
        (lines(ORIGIN_ALLOWED, '{"reason": "risk", "reason": "throttle"}', ORIGIN_ALLOWED), 2),
        (lines(ORIGIN_ALLOWED, '["risk"]', ORIGIN_ALLOWED), 2),
        (lines(ORIGIN_ALLOWED, '"risk"', ORIGIN_ALLOWED), 2),
        (lines(ORIGIN_ALLOWED, '{"fields": "risk"}', ORIGIN_ALLOWED), 2),
        (lines(ORIGIN_ALLOWED, '{"fields": {"reason": 5}}', ORIGIN_ALLOWED), 2),
        (lines(ORIGIN_ALLOWED, '{"reason": ""}', ORIGIN_ALLOWED), 2),
        (lines(ORIGIN_ALLOWED, ORIGIN_ALLOWED, "[" * 100_000, ORIGIN_ALLOWED), 3),
    ],
    ids=[
        "middle",
        "first",
        "last-with-newline",
        "after-blank-line",
        "crlf",
        "nan",
        "duplicate-key",
        "array-line",
        "string-line",
        "fields-not-object",
        "reason-not-string",
        "reason-empty",
        "deep-nesting",
    ],
)
def test_bad_line_is_an_error_naming_file_and_line(tmp_path, text, line):
    path = write_audit(tmp_path, text)

    with pytest.raises(SoakwatchError) as excinfo:
        count_reasons(path)

    message = str(excinfo.value)
    assert str(path) in message
    assert f"line {line}" in message


def test_invalid_utf8_line_names_its_line(tmp_path):
    path = write_audit(tmp_path, lines(ORIGIN_ALLOWED).encode() + b'{"reason": "\xff"}\n')

    with pytest.raises(SoakwatchError, match="line 2") as excinfo:
        count_reasons(path)

    assert str(path) in str(excinfo.value)


def test_bad_audit_line_surfaces_through_summarize(write_artifacts):
    directory = write_artifacts(audit_lines=[ORIGIN_ALLOWED, BAD, ORIGIN_ALLOWED])

    with pytest.raises(SoakwatchError, match="line 2") as excinfo:
        summarize_iteration(directory)

    assert str(directory / "audit.jsonl") in str(excinfo.value)


@pytest.mark.parametrize(
    "text",
    [
        lines(ORIGIN_BLOCKED, "", ORIGIN_ALLOWED, "", ""),
        lines("", "   ", ORIGIN_BLOCKED, "\t", ORIGIN_ALLOWED),
        lines(ORIGIN_BLOCKED, ORIGIN_ALLOWED, end="\r\n"),
        lines(ORIGIN_BLOCKED, "", ORIGIN_ALLOWED, end="\r\n"),
        "\ufeff" + lines(ORIGIN_BLOCKED, ORIGIN_ALLOWED),
        lines(ORIGIN_BLOCKED, end="\r\n") + lines(ORIGIN_ALLOWED),
    ],
    ids=["blank-lines", "whitespace-lines", "crlf", "crlf-blank", "bom", "mixed-endings"],
)
def test_blank_lines_crlf_and_bom(tmp_path, text):
    result = count_reasons(write_audit(tmp_path, text))

    assert result.counts == {"min_interval": 1, "allowed": 1}
    assert result.lines == 2
    assert result.truncated_last_line is False


# --- streaming ------------------------------------------------------------------------------------

STREAM_RECORDS = [
    ORIGIN_BLOCKED,
    ORIGIN_ALLOWED,
    json.dumps({"reason": "concurrency", "symbol": "BTC€USDT"}, ensure_ascii=False),
    "",
    json.dumps({"blocked_reason": "risk", "note": "ünïcödé " * 5}, ensure_ascii=False),
    ORIGIN_ALLOWED,
    ORIGIN_BLOCKED,
]


@pytest.mark.parametrize("block_size", [1, 2, 3, 7, 64, 100_000])
@pytest.mark.parametrize("end", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_lines_split_across_blocks_are_counted(tmp_path, monkeypatch, block_size, end):
    monkeypatch.setattr(audit, "BLOCK_SIZE", block_size)
    path = write_audit(tmp_path, lines(*STREAM_RECORDS, end=end) + '{"fields":{"allo')

    result = count_reasons(path)

    assert result.counts == {"min_interval": 2, "allowed": 2, "concurrency": 1, "risk": 1}
    assert result.lines == 6
    assert result.truncated_last_line is True


@pytest.mark.parametrize("block_size", [1, 5, 64])
def test_bad_line_number_is_right_across_blocks(tmp_path, monkeypatch, block_size):
    monkeypatch.setattr(audit, "BLOCK_SIZE", block_size)
    path = write_audit(tmp_path, lines(*STREAM_RECORDS, BAD, ORIGIN_ALLOWED))

    with pytest.raises(SoakwatchError, match=f"line {len(STREAM_RECORDS) + 1}\\b"):
        count_reasons(path)


def test_memory_does_not_grow_with_file_size(tmp_path, monkeypatch):
    block = 16 * 1024
    monkeypatch.setattr(audit, "BLOCK_SIZE", block)
    path = tmp_path / "audit.jsonl"
    chunk = lines(ORIGIN_BLOCKED, ORIGIN_ALLOWED, ORIGIN_ALLOWED, ORIGIN_ALLOWED).encode()
    repeats = 4 * 1024 * 1024 // len(chunk)
    with path.open("wb") as stream:
        for _ in range(repeats):
            stream.write(chunk)
    assert path.stat().st_size > 3 * 1024 * 1024

    tracemalloc.start()
    try:
        result = count_reasons(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.counts == {"min_interval": repeats, "allowed": 3 * repeats}
    assert peak < 32 * block  # a few blocks' worth, far below the 4 MB file


@pytest.mark.parametrize("processes", [1, 2])
def test_a_line_without_end_is_an_error_before_it_fills_the_memory(
    tmp_path, monkeypatch, processes
):
    """A file preallocated with zeros: one "line" as long as the file."""
    from pytest_soakwatch import audit

    monkeypatch.setattr(audit, "BLOCK_SIZE", 64 * 1024)
    monkeypatch.setattr(audit, "MAX_LINE", 2**20)
    monkeypatch.setattr(audit, "PARALLEL_MIN_BYTES", 0)
    path = tmp_path / "audit.jsonl"
    path.write_text(ORIGIN_ALLOWED + "\n")
    with path.open("r+b") as stream:
        stream.truncate(3 * 2**20)  # sparse: zeros after the first line
    with pytest.raises(SoakwatchError) as raised:
        audit.count_reasons(path, processes=processes)
    assert str(raised.value) == f"{path}: line 2: longer than 1 MiB"
