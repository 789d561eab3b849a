"""Human overrides in the worker: stamp each decision with its request's keyed hash, and let an
active override window turn a block of the same caller's identical request into an allow.

:class:`OverrideHook` holds the folded governance state (pure logic in
:mod:`ledgergate.governance.state`); :func:`follow_governance` is the thin loop
that feeds it from the ``<prefix>.governance`` topic, read from the start by
every worker (no group: each needs every override).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ledgergate.broker import follow_from_start
from ledgergate.governance.state import GovernanceBook, apply_override, override_for, request_hash, stamp
from ledgergate.schemas.codec import Codec, SchemaError

log = logging.getLogger("ledgergate.worker")


class OverrideHook:
    """Applies override windows to decisions. No I/O: fed by :meth:`offer`."""

    def __init__(self, hash_key: bytes, clock_us: Callable[[], int]) -> None:
        self._key = hash_key
        self._clock_us = clock_us
        self.book = GovernanceBook()
        self.applied = 0

    def offer(self, event: Mapping[str, Any]) -> None:
        self.book.offer(event)

    def apply(self, req: Mapping[str, Any], decision: Mapping[str, Any]) -> dict[str, Any]:
        """The decision stamped with the request hash; a block under an active window becomes an allow."""
        h = request_hash(req, self._key)
        out = stamp(decision, h)
        if out.get("outcome") != "block":
            return out
        ov = override_for(self.book, req, h, self._clock_us())
        if ov is None:
            return out
        self.applied += 1
        log.warning("request %s allowed by override %s of %s", req.get("request_id"), ov.override_id,
                    ov.decision_id)
        return apply_override(out, ov)


async def follow_governance(bootstrap: str, topic: str, hook: OverrideHook, codec: Codec) -> None:
    """Read every GovernanceEvent from the start, forever, into ``hook`` (a bad record is skipped)."""

    def offer(msg: Any) -> None:
        try:
            hook.offer(codec.decode(msg.value, expect="GovernanceEvent")[1])
        except SchemaError as exc:
            log.error("%s[%d]@%d is not a GovernanceEvent, skipped: %s", msg.topic, msg.partition,
                      msg.offset, exc)

    await follow_from_start(bootstrap, topic, "governance consumer", offer)
