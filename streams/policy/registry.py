"""The policy bundles a worker currently judges with.

Bundles arrive from the config at start and from the compacted policies topic
while running; the highest version of each policy id wins, so every worker
that has read the same topic switches to the same version without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pydantic import ValidationError

from ledgergate.errors import LedgergateError
from ledgergate.schemas.policy import PolicyBundle

log = logging.getLogger("ledgergate.policy")


class PolicyUpdateError(LedgergateError):
    """A bundle from the policies topic is invalid (the current version stays)."""


class PolicyRegistry:
    """Current bundle per policy id (newest version wins)."""

    def __init__(self, bundles: Iterable[PolicyBundle] = ()) -> None:
        self._by_id: dict[str, PolicyBundle] = {}
        # id/version/hash as recorded with every decision, computed once per
        # installed version (hashing the canonical JSON costs ~30 µs)
        self._refs: dict[str, dict[str, object]] = {}
        for b in bundles:
            self.offer(b)

    def get(self, policy_id: str) -> PolicyBundle | None:
        return self._by_id.get(policy_id)

    def offer(self, bundle: PolicyBundle) -> bool:
        """Install ``bundle`` if it is newer than the one held; True when it changed."""
        cur = self._by_id.get(bundle.id)
        if cur is not None and cur.version >= bundle.version:
            if cur.version == bundle.version and cur.content_hash != bundle.content_hash:
                log.warning("policy %s v%d republished with different content (hash %s != %s); "
                            "keeping the first: bump the version to change a bundle",
                            bundle.id, bundle.version, bundle.content_hash[:12], cur.content_hash[:12])
            return False
        self._by_id[bundle.id] = bundle
        self._refs[bundle.id] = {"id": bundle.id, "version": bundle.version, "hash": bundle.content_hash}
        log.info("policy %s now at version %d (hash %s)", bundle.id, bundle.version, bundle.content_hash[:12])
        return True

    def offer_json(self, raw: bytes) -> bool:
        """Install a bundle from its canonical JSON (a policies-topic value)."""
        try:
            bundle = PolicyBundle.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            path = ".".join(str(x) for x in first["loc"])
            raise PolicyUpdateError(f"invalid policy bundle on the policies topic at {path or '<root>'}: "
                                    f"{first['msg']}") from exc
        return self.offer(bundle)

    def ref(self, policy_id: str) -> dict[str, object]:
        """The PolicyRef (id, version, content hash) of the installed bundle."""
        return dict(self._refs[policy_id])

    def versions(self) -> dict[str, int]:
        return {k: b.version for k, b in self._by_id.items()}
