"""`ledgergate policy publish` refuses a bundle that would not take effect (its version must increase)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from ledgergate.schemas.policy import PolicyBundle
from ledgergate.streams.policy.publish import PolicyPublishError, check_publishable

from support import write_config  # type: ignore[import-not-found]


def bundle(version: int, rule_id: str = "allow-rest") -> PolicyBundle:
    return PolicyBundle.model_validate({
        "id": "default", "version": version, "owner": "gov@acme.example", "reviewed": "2026-10-01",
        "rules": [{"id": rule_id, "action": "allow", "match": {"always": True}}]})


@pytest.mark.parametrize("running, new, result", [
    (None, bundle(1), True),
    (bundle(1), bundle(2), True),
    (bundle(2), bundle(2), False),                       # exactly this bundle already runs
    (bundle(2), bundle(2, "other"), "different content"),
    (bundle(3), bundle(2), "at a higher version, v3"),
])
def test_check_publishable(running: PolicyBundle | None, new: PolicyBundle, result: object) -> None:
    if isinstance(result, bool):
        assert check_publishable(running, new) is result
    else:
        with pytest.raises(PolicyPublishError, match=str(result)) as info:
            check_publishable(running, new)
        assert f"version: {running.version + 1}" in str(info.value)  # type: ignore[union-attr]


def _publish(cfg: Path, b: PolicyBundle, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    f = tmp_path / f"bundle-{uuid.uuid4().hex[:6]}.yaml"
    f.write_text(yaml.safe_dump(b.model_dump(mode="json")))
    return subprocess.run([sys.executable, "-m", "ledgergate", "policy", "publish", str(f),
                           "--config", str(cfg)], capture_output=True, text=True, timeout=120)


def test_publish_through_the_broker(broker, topic_prefix: str, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, bootstrap=broker.bootstrap, prefix=topic_prefix)
    # the built-in config runs `default` v1: a different v1 would never be used
    r = _publish(cfg, bundle(1, "x"), tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "would not take effect" in r.stderr and "version: 2" in r.stderr
    r = _publish(cfg, bundle(2), tmp_path)
    assert r.returncode == 0 and "published policy default v2" in r.stdout
    r = _publish(cfg, bundle(2), tmp_path)
    assert r.returncode == 0 and "already runs; nothing published" in r.stdout
    r = _publish(cfg, bundle(2, "changed"), tmp_path)
    assert r.returncode == 2 and "different content" in r.stderr and "version: 3" in r.stderr
    assert _publish(cfg, bundle(3, "changed"), tmp_path).returncode == 0
