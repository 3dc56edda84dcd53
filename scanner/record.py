"""Recording raw frames with their receive times, and reading them back for replay.

A recording is JSON lines (gzip-compressed when the name ends in .gz):
``{"k":"meta", ...}`` first, then ``{"k":"connect"|"ws"|"rest", "ex":..., "m":<monotonic s>, ...}``
with the frame or REST body kept exactly as received.
"""
from __future__ import annotations

import gzip
import logging
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator

import orjson

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class Record:
    kind: str  # "connect", "ws" or "rest"
    exchange: str
    monotonic: float
    data: bytes = b""
    path: str = ""
    params: dict | None = None


def _open(path: Path, mode: str) -> IO[bytes]:
    return gzip.open(path, mode + "b") if path.suffix == ".gz" else open(path, mode + "b")


class Recorder:
    """Appends frames to a recording file; flushed by ``close``."""

    def __init__(self, path: str | Path, meta: dict[str, Any]):
        self.path = Path(path)
        self.file = _open(self.path, "w")
        self.records = 0
        self._write({"k": "meta", "version": 1, "wall": time.time(), "monotonic": time.monotonic(), **meta})

    def _write(self, record: dict[str, Any]) -> None:
        self.file.write(orjson.dumps(record) + b"\n")
        self.records += 1

    def connect(self, exchange: str, monotonic: float) -> None:
        self._write({"k": "connect", "ex": exchange, "m": monotonic})

    def frame(self, exchange: str, monotonic: float, frame: bytes) -> None:
        self._write({"k": "ws", "ex": exchange, "m": monotonic, "d": frame.decode()})

    def rest(self, exchange: str, monotonic: float, path: str, params: dict, body: bytes) -> None:
        self._write({"k": "rest", "ex": exchange, "m": monotonic, "path": path, "params": params,
                     "d": body.decode()})

    def close(self) -> None:
        self.file.close()


def read_recording(path: str | Path) -> tuple[dict[str, Any], Iterator[Record]]:
    """The recording's metadata and an iterator over its records, in order."""
    path = Path(path)
    try:
        file = _open(path, "r")
        first = file.readline()
        meta = orjson.loads(first) if first else {}
    except FileNotFoundError:
        raise ValueError(f"{path}: recording not found; make one with `arbscan record`") from None
    except (OSError, EOFError, zlib.error, orjson.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not an arbscan recording ({exc or type(exc).__name__})") from None
    if not (isinstance(meta, dict) and meta.get("k") == "meta"
            and all(isinstance(meta.get(key), (int, float)) for key in ("wall", "monotonic"))):
        file.close()
        raise ValueError(f"{path}: not an arbscan recording (no meta line); make one with `arbscan record`")
    return meta, _records(file, path)


# what reading a compressed recording cut short (a killed `arbscan record`) raises
_CUT_SHORT = (EOFError, zlib.error, gzip.BadGzipFile)


def _records(file: IO[bytes], path: Path) -> Iterator[Record]:
    number = 1
    with file:
        try:
            for number, line in enumerate(file, start=2):
                try:
                    raw = orjson.loads(line)
                    record = Record(raw["k"], raw["ex"], float(raw["m"]), raw.get("d", "").encode(),
                                    raw.get("path", ""), raw.get("params"))
                except (ValueError, KeyError, TypeError, AttributeError) as exc:  # JSON, fields, their types
                    log.warning("%s:%d: damaged record (%s); the recording ends there", path, number, exc)
                    return
                yield record
        except _CUT_SHORT as exc:
            log.warning("%s: cut short after line %d (%s); the records before it are used",
                        path, number, exc or type(exc).__name__)
