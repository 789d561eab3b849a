"""From a batch of request-event bytes to encoded decisions: decode → decide → amend → encode (pure).

The Faust wiring in ``streams/agents.py`` hands every batch it consumes to
:meth:`Judge.judge` and publishes what comes back; nothing here touches Kafka,
so the whole decision path is tested without a broker.

A record that cannot be judged never stops the batch: an undecodable one comes
back as an error only (it goes to the dead-letter topic); one that decodes but
cannot be decided also gets a fail-closed *block* decision, so an enforce
caller waiting for it is refused instead of left hanging.

Seam for later checks on a decision (e.g. a reviewer's override from
``streams/overrides.py``): pass ``amend``, a function from the request and its
decision to the decision to publish. It runs after the policy decided and
before the record is encoded (and so before it is signed into the ledger); an
``amend`` that raises turns that one record into a fail-closed block.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledgergate.clock import now_us
from ledgergate.schemas.codec import Codec, SchemaError
from ledgergate.streams.decide import DecideError, Decider, blocked_for_error

log = logging.getLogger("ledgergate.worker")

Amend = Callable[[Mapping[str, Any], dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Judged:
    """What to do with one consumed record.

    ``payload`` is the encoded Decision to publish (``None`` when the record
    could not even be decoded); ``error`` is set when the source record must be
    dead-lettered (``reason`` says which step failed).
    """

    request_id: str | None
    payload: bytes | None
    reply_to: str | None
    outcome: str | None
    categories: tuple[str, ...]
    error: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class BatchTiming:
    """Where a batch's time went (seconds), for the worker's metrics."""

    decode: float
    decide: float
    encode: float


class Judge:
    """Judges batches of encoded RequestEvents with a :class:`Decider` (one classifier pass a batch)."""

    def __init__(self, decider: Decider, codec: Codec, *, worker_id: str,
                 amend: Amend | None = None, clock_us: Callable[[], int] | None = None) -> None:
        self._decider = decider
        self._codec = codec
        self._worker_id = worker_id
        self._amend = amend
        self._clock_us = clock_us or now_us
        self.last_timing = BatchTiming(0.0, 0.0, 0.0)

    def judge(self, values: Sequence[bytes]) -> list[Judged]:
        """One :class:`Judged` per value, in order."""
        t0 = time.perf_counter()
        requests: list[dict[str, Any] | None] = []
        errors: list[str | None] = []
        for v in values:
            try:
                requests.append(self._codec.decode(v, expect="RequestEvent")[1])
                errors.append(None)
            except SchemaError as exc:
                requests.append(None)
                errors.append(f"undecodable request event: {exc}")
        t1 = time.perf_counter()
        decided = self._decide([r for r in requests if r is not None])
        t2 = time.perf_counter()
        out: list[Judged] = []
        it = iter(decided)
        for req, err in zip(requests, errors, strict=True):
            out.append(Judged(None, None, None, None, (), err, "undecodable") if req is None
                       else self._finish(req, next(it)))
        self.last_timing = BatchTiming(t1 - t0, t2 - t1, time.perf_counter() - t2)
        return out

    def _decide(self, requests: list[dict[str, Any]]) -> list[dict[str, Any] | DecideError]:
        """Decide the batch in one pass; if that fails, one by one so only the poison record fails."""
        if not requests:
            return []
        try:
            return self._decider.decide_batch(requests)
        except Exception as exc:  # noqa: BLE001 - isolate the bad record instead of failing the batch
            log.warning("batch of %d failed (%r); judging records one by one", len(requests), exc)
        out: list[dict[str, Any] | DecideError] = []
        for req in requests:
            try:
                out.append(self._decider.decide_batch([req])[0])
            except Exception as one_exc:  # noqa: BLE001 - becomes a fail-closed block below
                out.append(DecideError(f"{type(one_exc).__name__}: {one_exc}"))
        return out

    def _blocked(self, req: dict[str, Any], error: str) -> dict[str, Any]:
        """A fail-closed block naming the bundle the request would have been judged by."""
        try:
            ref: dict[str, Any] | None = self._decider.policy_ref_for(req)
        except Exception:  # noqa: BLE001 - the marker instead; failing closed must not fail
            ref = None
        return blocked_for_error(req, error, worker_id=self._worker_id, now_us=self._clock_us(),
                                 policy_ref=ref)

    def _finish(self, req: dict[str, Any], res: dict[str, Any] | DecideError) -> Judged:
        error = reason = None
        if not isinstance(res, DecideError) and self._amend is not None:
            try:
                res = self._amend(req, res)
            except Exception as exc:  # noqa: BLE001 - a failing check fails closed, like the policy
                res = DecideError(f"amending the decision failed: {type(exc).__name__}: {exc}")
        if isinstance(res, DecideError):
            error, reason = str(res), "undecidable"
            res = self._blocked(req, error)
        try:
            payload = self._codec.encode("Decision", res)
        except SchemaError as exc:
            error, reason = f"cannot encode the decision: {exc}", "unencodable"
            res = self._blocked(req, error)
            payload = self._codec.encode("Decision", res)
        return Judged(req["request_id"], payload, req.get("reply_to"), res["outcome"],
                      tuple(res.get("categories") or ()), error, reason)
