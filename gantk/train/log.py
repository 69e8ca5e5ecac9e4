"""log.jsonl: one line of losses and D's outputs every few steps, kept in step with checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

LOG_FILE = "log.jsonl"
LOG_EVERY = 10


class TrainingLog:
    """Appends to ``directory/log.jsonl``, first dropping lines written after ``step`` (a resumed
    run logs those steps again)."""

    def __init__(self, directory: Path, step: int):
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / LOG_FILE
        kept = []
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    if json.loads(line)["step"] <= step:
                        kept.append(line + "\n")
                except (ValueError, KeyError):
                    break  # a line cut short by a kill: everything after it is gone too
        path.write_text("".join(kept))
        self._file = open(path, "a")

    def write(self, record: dict) -> None:
        self._file.write(json.dumps(record) + "\n")

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def load_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
