"""The AsyncAPI document: generated from the topic list, valid for the official parser,
and equal to what `ledgergate topics` really creates on a broker."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import uuid
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from ledgergate.config import load_settings
from ledgergate.schemas import codec
from ledgergate.schemas.asyncapi import document, to_yaml
from ledgergate.schemas.store import SchemaTopic

from support import write_config  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "schemas" / "asyncapi.yaml"
VALIDATOR = ROOT / "tools" / "asyncapi"


def test_the_committed_document_is_the_generators_output() -> None:
    fresh = to_yaml(document(version=version("ledgergate")))
    assert COMMITTED.read_text("utf-8") == fresh, (
        "schemas/asyncapi.yaml is stale: regenerate it with "
        "`.venv/bin/ledgergate asyncapi --out schemas/asyncapi.yaml`")


def test_every_avro_message_carries_its_packaged_schema_and_fingerprint() -> None:
    messages = document()["components"]["messages"]
    for name in ("RequestEvent", "Decision", "ResponseEvent", "SignedEnvelope"):
        m = messages[name]
        assert m["payload"]["schema"] == codec.schema(name).raw
        assert m["x-avro-fingerprint"] == codec.schema(name).fingerprint.hex()


def test_the_official_asyncapi_parser_accepts_it(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (VALIDATOR / "node_modules" / "@asyncapi" / "parser").exists():
        pytest.skip("the official AsyncAPI parser is not installed: `make test` installs it "
                    "with npm into tools/asyncapi/node_modules")
    r = subprocess.run([node, str(VALIDATOR / "validate.mjs"), str(COMMITTED)],
                       capture_output=True, text=True, timeout=120, cwd=VALIDATOR)
    assert r.returncode == 0 and r.stdout.strip().endswith("VALID"), r.stdout + r.stderr
    # and it does reject a broken document (the check is not vacuous)
    broken = yaml.safe_load(COMMITTED.read_text("utf-8"))
    broken["components"]["messages"]["Decision"]["payload"]["schema"]["fields"] = "nonsense"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(broken))
    r = subprocess.run([node, str(VALIDATOR / "validate.mjs"), str(bad)],
                       capture_output=True, text=True, timeout=120, cwd=VALIDATOR)
    assert r.returncode == 1 and "INVALID" in r.stdout


async def _describe(bootstrap: str, prefix: str) -> dict[str, dict[str, Any]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(prefix + ".")]
        out = {t["topic"]: {"partitions": len(t["partitions"])}
               for t in await admin.describe_topics(names)}
        for name in names:
            (resp,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
            entries = resp.resources[0][4]
            policy = {e[0]: e[1] for e in entries}.get("cleanup.policy", "delete")
            out[name]["compact"] = policy == "compact"
        return out
    finally:
        await admin.close()


def test_the_document_matches_what_ledgergate_topics_creates(broker, tmp_path: Path) -> None:
    prefix = f"aa{uuid.uuid4().hex[:6]}"
    cfg = write_config(tmp_path, bootstrap=broker.bootstrap, prefix=prefix)
    settings = load_settings(cfg)
    r = subprocess.run([sys.executable, "-m", "ledgergate", "topics", "--config", str(cfg)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"{prefix}.schemas: {len(codec.SCHEMA_NAMES)} writer schemas of this release published" in r.stdout
    real = asyncio.run(_describe(broker.bootstrap, prefix))
    stored = asyncio.run(SchemaTopic(broker.bootstrap, settings.topics.schemas).all())
    assert {s.name for s in stored.values()} == set(codec.SCHEMA_NAMES)

    r = subprocess.run([sys.executable, "-m", "ledgergate", "asyncapi", "--config", str(cfg), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc == document(prefix=prefix, partitions=settings.broker.partitions,
                           bootstrap=broker.bootstrap, version=version("ledgergate"))
    documented = {}
    for ch in doc["channels"].values():
        if ch["x-created-by"] != "ledgergate topics":
            continue
        k = ch["bindings"]["kafka"]
        documented[ch["address"]] = {
            "partitions": k["partitions"],
            "compact": k.get("topicConfiguration", {}).get("cleanup.policy") == ["compact"]}
    assert real == documented
    # every channel has a sender and a receiver documented, except the reserved audit topic
    ops = doc["operations"]
    for cid in doc["channels"]:
        if cid != "audit":
            assert f"{cid}.send" in ops and f"{cid}.receive" in ops, cid
