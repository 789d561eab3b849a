"""What was already ingested: a small SQLite file in the state directory.

SQLite (stdlib) rather than a JSON file because a long ingest marks thousands
of ids as it goes: each batch is committed atomically after the broker acked
it, so an interrupted ingest resumes where it stopped and never holds the
whole id set in one rewrite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from .errors import StateError

STATE_FILE = "mlflow-ingest.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (request_id TEXT PRIMARY KEY, sent_at_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS watermarks (
    source TEXT NOT NULL, experiment_id TEXT NOT NULL, ts_ms INTEGER NOT NULL,
    PRIMARY KEY (source, experiment_id));
"""


class IngestState:
    """Sent request ids and, per tracking server and experiment, the newest trace seen.

    The constructor does no I/O; :meth:`open` creates the directory and file.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / STATE_FILE
        self._con: sqlite3.Connection | None = None

    def open(self) -> IngestState:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # the live source asks for watermarks from a worker thread (asyncio.to_thread);
            # calls never overlap, so sharing the connection across threads is safe
            self._con = sqlite3.connect(self.path, check_same_thread=False)
            self._con.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open the ingest state {self.path}: {exc}; expected a writable "
                             "directory: pass another state_dir or fix its permissions") from exc
        return self

    @property
    def _db(self) -> sqlite3.Connection:
        if self._con is None:
            raise StateError(f"ingest state {self.path} is not open: call open() first")
        return self._con

    def already_sent(self, request_ids: Iterable[str]) -> set[str]:
        """The subset of ``request_ids`` sent by an earlier ingest."""
        ids = list(request_ids)
        found: set[str] = set()
        try:
            for i in range(0, len(ids), 500):  # SQLite caps bound parameters per statement
                chunk = ids[i:i + 500]
                q = f"SELECT request_id FROM sent WHERE request_id IN ({','.join('?' * len(chunk))})"
                found.update(r[0] for r in self._db.execute(q, chunk))
        except sqlite3.Error as exc:
            raise StateError(f"cannot read the ingest state {self.path}: {exc}; delete the file "
                             "to start over (the ledger drops re-sent duplicates)") from exc
        return found

    def mark_sent(self, request_ids: Iterable[str], at_us: int) -> None:
        try:
            with self._db:
                self._db.executemany("INSERT OR IGNORE INTO sent VALUES (?, ?)",
                                     [(r, at_us) for r in request_ids])
        except sqlite3.Error as exc:
            raise StateError(f"cannot write the ingest state {self.path}: {exc}; the events were "
                             "sent, so a rerun re-sends them and the ledger drops the duplicates") from exc

    def watermark(self, source: str, experiment_id: str) -> int | None:
        """Epoch ms of the newest trace seen in this experiment of this server, if any."""
        try:
            row = self._db.execute("SELECT ts_ms FROM watermarks WHERE source = ? AND experiment_id = ?",
                                   (source, experiment_id)).fetchone()
        except sqlite3.Error as exc:
            raise StateError(f"cannot read the ingest state {self.path}: {exc}") from exc
        return int(row[0]) if row else None

    def set_watermark(self, source: str, experiment_id: str, ts_ms: int) -> None:
        try:
            with self._db:
                self._db.execute(
                    "INSERT INTO watermarks VALUES (?, ?, ?) ON CONFLICT (source, experiment_id) "
                    "DO UPDATE SET ts_ms = max(ts_ms, excluded.ts_ms)", (source, experiment_id, ts_ms))
        except sqlite3.Error as exc:
            raise StateError(f"cannot write the ingest state {self.path}: {exc}") from exc

    def sent_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM sent").fetchone()[0])

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> IngestState:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
