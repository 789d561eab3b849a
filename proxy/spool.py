"""A local durable spool of encoded events for when the broker cannot take them.

Append-only segment files ``seg-<n>.log`` in ``spool_dir``; one record is::

    4-byte big-endian length L | 4-byte big-endian CRC-32 of the payload | payload (L bytes)
    payload = 2-byte topic length | topic (UTF-8) | 2-byte key length | key | value

Each append batch is written and fsync'd before its callers are told it is
durable (group commit: concurrent appends share one fsync). The replay cursor
``cursor`` (segment number, byte offset) is fsync'd after each replayed batch, so
a restart replays from there: at-least-once, a crash can re-send the last batch
(consumers dedupe by request_id). A torn record at the tail (crash mid-write) is
detected by its length/CRC and cut off.

Every file operation runs on one dedicated thread, in submission order, so the
event loop never blocks on the disk and appends, reads and truncation never race.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import zlib
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

from ledgergate.errors import LedgergateError

log = logging.getLogger("ledgergate.proxy.spool")

_HEAD = struct.Struct(">II")
_SEGMENT_BYTES = 64 * 1024 * 1024


class SpoolError(LedgergateError):
    """The spool directory cannot be written or read."""


class Record(NamedTuple):
    topic: str
    key: bytes
    value: bytes


def _pack(r: Record) -> bytes:
    t = r.topic.encode("utf-8")
    payload = struct.pack(">H", len(t)) + t + struct.pack(">H", len(r.key)) + r.key + r.value
    return _HEAD.pack(len(payload), zlib.crc32(payload)) + payload


def _unpack(payload: bytes) -> Record:
    tl = struct.unpack_from(">H", payload, 0)[0]
    topic = payload[2:2 + tl].decode("utf-8")
    kl = struct.unpack_from(">H", payload, 2 + tl)[0]
    key = payload[4 + tl:4 + tl + kl]
    return Record(topic, key, payload[4 + tl + kl:])


class Spool:
    """The spool of one proxy instance. Constructing it does no I/O; call :meth:`open`."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self._exec = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool")
        self._pending = 0  # records appended (or being appended) and not yet replayed
        self._write_seg = 0
        self._write_fh: object | None = None
        self._cursor = (0, 0)
        self._opened = False
        self.appending = 0  # appends submitted and not finished

    # ------------------------------------------------------------- event loop side
    @property
    def pending(self) -> int:
        """Records waiting for replay (counted from the moment an append is requested)."""
        return self._pending

    async def open(self) -> int:
        """Create the directory, recover the cursor and count what is left to replay."""
        loop = asyncio.get_running_loop()
        self._pending = await loop.run_in_executor(self._exec, self._open_sync)
        self._opened = True
        return self._pending

    async def append(self, records: list[Record]) -> None:
        """Write and fsync ``records``; returns once they are durable."""
        self._pending += len(records)
        self.appending += 1
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._exec, self._append_sync, [_pack(r) for r in records])
        except OSError as exc:
            self._pending -= len(records)
            raise SpoolError(f"cannot write the spool in {self.dir}: {exc.strerror or exc}; "
                             "check proxy.spool_dir exists, is writable and the disk is not full") from exc
        finally:
            self.appending -= 1

    def resync_empty(self) -> None:
        """After a read found nothing and no append is running: nothing is pending."""
        if self.appending == 0:
            self._pending = 0

    async def read(self, max_records: int = 500) -> tuple[list[Record], tuple[int, int]]:
        """The next records to replay and the cursor to commit once they are sent."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._exec, self._read_sync, max_records)

    async def commit(self, cursor: tuple[int, int], count: int) -> None:
        """Mark records up to ``cursor`` as replayed (fsync'd); drops fully replayed segments."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._exec, self._commit_sync, cursor)
        self._pending = max(0, self._pending - count)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._exec, self._close_sync)
        self._exec.shutdown(wait=True)

    # ------------------------------------------------------------- spool thread side
    def _seg_path(self, n: int) -> Path:
        return self.dir / f"seg-{n:08d}.log"

    def _segments(self) -> list[int]:
        return sorted(int(p.stem[4:]) for p in self.dir.glob("seg-*.log"))

    def _open_sync(self) -> int:
        self.dir.mkdir(parents=True, exist_ok=True)
        cur = self.dir / "cursor"
        if cur.exists():
            try:
                seg, off = (int(x) for x in cur.read_text().split())
                self._cursor = (seg, off)
            except ValueError:
                log.warning("spool cursor %s is unreadable; replaying the spool from its start", cur)
                self._cursor = (0, 0)
        for s in self._segments():
            if s < self._cursor[0]:  # fully replayed before a crash, not yet deleted
                self._seg_path(s).unlink(missing_ok=True)
        segs = self._segments()
        if segs and self._cursor[0] < segs[0]:
            self._cursor = (segs[0], 0)
        self._write_seg = max(segs[-1] if segs else 1, self._cursor[0], 1)
        if not segs:
            self._cursor = (self._write_seg, 0)
        count = 0
        for s in segs:
            start = self._cursor[1] if s == self._cursor[0] else 0
            if s < self._cursor[0]:
                continue
            n, valid_end = self._scan(s, start)
            count += n
            size = self._seg_path(s).stat().st_size
            if valid_end < size:
                log.warning("spool segment %s has a torn tail at byte %d (crash mid-write); cutting it off",
                            self._seg_path(s), valid_end)
                with open(self._seg_path(s), "r+b") as fh:
                    fh.truncate(valid_end)
                    os.fsync(fh.fileno())
        return count

    def _frames(self, seg: int, start: int) -> Generator[tuple[bytes, int], None, None]:
        """Valid records of a segment from ``start``: (payload, offset just past it).

        Stops at the first torn or corrupt frame (a crash mid-append leaves one
        at the tail; everything before it is intact).
        """
        with open(self._seg_path(seg), "rb") as fh:
            fh.seek(start)
            pos = start
            while True:
                head = fh.read(_HEAD.size)
                if len(head) < _HEAD.size:
                    return
                length, crc = _HEAD.unpack(head)
                payload = fh.read(length)
                if len(payload) < length or zlib.crc32(payload) != crc:
                    return
                pos += _HEAD.size + length
                yield payload, pos

    def _scan(self, seg: int, start: int) -> tuple[int, int]:
        """Count valid records of a segment from ``start``; returns (count, end of the last valid one)."""
        n, pos = 0, start
        for _, pos in self._frames(seg, start):  # noqa: B007 - the last frame's end is the answer
            n += 1
        return n, pos

    def _writer(self):  # type: ignore[no-untyped-def]
        if self._write_fh is None:
            self._write_fh = open(self._seg_path(self._write_seg), "ab")
        return self._write_fh

    def _append_sync(self, packed: list[bytes]) -> None:
        fh = self._writer()
        if fh.tell() > _SEGMENT_BYTES:  # type: ignore[attr-defined]
            fh.close()  # type: ignore[attr-defined]
            self._write_seg += 1
            self._write_fh = None
            fh = self._writer()
            _fsync_dir(self.dir)
        fh.write(b"".join(packed))  # type: ignore[attr-defined]
        fh.flush()  # type: ignore[attr-defined]
        os.fsync(fh.fileno())  # type: ignore[attr-defined]

    def _read_sync(self, max_records: int) -> tuple[list[Record], tuple[int, int]]:
        seg, off = self._cursor
        out: list[Record] = []
        for s in self._segments():
            if s < seg:
                continue
            pos = off if s == seg else 0
            frames = self._frames(s, pos)
            for payload, pos in frames:  # noqa: B007 - pos is the cursor after the loop
                out.append(_unpack(payload))
                if len(out) >= max_records:
                    break
            frames.close()
            seg, off = s, pos
            if len(out) >= max_records:
                break
        return out, (seg, off)

    def _commit_sync(self, cursor: tuple[int, int]) -> None:
        self._cursor = cursor
        tmp = self.dir / "cursor.tmp"
        with open(tmp, "w") as fh:
            fh.write(f"{cursor[0]} {cursor[1]}")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.dir / "cursor")
        # segments before the cursor's are fully replayed
        for s in self._segments():
            if s < cursor[0]:
                self._seg_path(s).unlink(missing_ok=True)
        # the active segment fully replayed: start a fresh one so the spool stays small
        if cursor[0] == self._write_seg and self._write_fh is not None \
                and cursor[1] >= self._write_fh.tell():  # type: ignore[attr-defined]
            self._write_fh.close()  # type: ignore[attr-defined]
            self._write_fh = None
            old = self._write_seg
            self._write_seg += 1
            self._cursor = (self._write_seg, 0)
            with open(tmp, "w") as fh:
                fh.write(f"{self._write_seg} 0")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.dir / "cursor")
            self._seg_path(old).unlink(missing_ok=True)
        _fsync_dir(self.dir)

    def _close_sync(self) -> None:
        if self._write_fh is not None:
            self._write_fh.close()  # type: ignore[attr-defined]
            self._write_fh = None


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
