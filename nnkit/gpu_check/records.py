"""The records of `make gpu-check`: OUT/results.jsonl, one JSON object a line, as each result arrives."""
from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

NOT_REACHED = "not reached in time"


class Results:
    """OUT/results.jsonl, one JSON object a line, written as each result arrives."""

    def __init__(self, path: Path, start: float):
        self.path = path
        self.start = start
        self.records: list[dict] = []
        self._lock = threading.Lock()
        self._file = open(path, "w")

    def add(self, record: dict) -> dict:
        record = {"t": round(time.monotonic() - self.start, 1), **record}
        with self._lock:
            self.records.append(record)
            self._file.write(json.dumps(record, default=str) + "\n")
            self._file.flush()
        return record

    def close(self) -> None:
        self._file.close()

    def of(self, part: str, **match) -> list[dict]:
        with self._lock:
            return [r for r in self.records if r.get("part") == part
                    and all(r.get(k) == v for k, v in match.items())]


def say(text: str) -> None:
    print(text, flush=True)


def json_number(value):
    """A float for JSON: non-finite values as their names (json has no NaN)."""
    value = float(value)
    return value if math.isfinite(value) else str(value)

