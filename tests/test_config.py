"""Configuration: every problem with its field path; secrets only from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ledgergate.cli import main
from ledgergate.config import ConfigError, default_config_text, load_settings, settings_from_mapping


def _demo() -> dict:
    return yaml.safe_load(default_config_text())


def test_builtin_config_is_valid(tmp_path: Path) -> None:
    s = settings_from_mapping(_demo(), base_dir=tmp_path, environ={})
    assert s.broker.embedded and s.ledger.path == tmp_path / "ledger.duckdb"
    assert s.route("assistant").mode == "enforce" and s.route("telemetry").mode == "observe"
    assert s.topics.replies("p1") == "lg.replies.p1"


@pytest.mark.parametrize("mutate, path, fragment", [
    (lambda d: d["routes"][0].update(upstream="nope"), "", "unknown upstream 'nope'"),
    (lambda d: d["routes"][0].update(mode="sometimes"), "routes[0].mode", "'enforce' or 'observe'"),
    (lambda d: d["routes"][0].update(allowed_roles=[]), "routes[0].allowed_roles", "at least 1"),
    (lambda d: d["routes"][1].update(path_prefix="r/x/"), "routes[1].path_prefix", "starts with /"),
    (lambda d: d["upstreams"][0].update(base_url="ftp://x"), "upstreams[0].base_url", "not an http(s) URL"),
    (lambda d: d["broker"].update(partitions=0), "broker.partitions", "greater than or equal to 1"),
    (lambda d: d["policies"][0]["bundle"]["rules"][0].update(action="maybe"),
     "policies[0].bundle.rules[0].action", "'allow', 'redact' or 'block'"),
    (lambda d: d.update(surprise=1), "surprise", "Extra inputs are not permitted"),
])
def test_problems_name_their_field(mutate, path: str, fragment: str, tmp_path: Path) -> None:
    d = _demo()
    mutate(d)
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(d, base_dir=tmp_path, environ={})
    assert any(p == path and fragment in m for p, m in info.value.problems), info.value.problems


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    d = _demo()
    d["broker"]["partitions"] = 0
    d["proxy"]["port"] = -1
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(d, base_dir=tmp_path, environ={})
    assert {p for p, _ in info.value.problems} >= {"broker.partitions", "proxy.port"}


def test_secrets_come_from_the_named_environment_variable(tmp_path: Path) -> None:
    s = settings_from_mapping(_demo(), base_dir=tmp_path, environ={"LEDGERGATE_DEMO_UPSTREAM_KEY": "sk-123"})
    key = s.upstream("fake-openai").api_key
    assert key is not None and key.get_secret_value() == "sk-123"
    assert "sk-123" not in repr(s) and "sk-123" not in str(s.model_dump())


def test_missing_signing_key_env_is_an_error(tmp_path: Path) -> None:
    d = _demo()
    d["ledger"]["signing_key_env"] = "LG_SIGNING_KEY"
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(d, base_dir=tmp_path, environ={})
    assert ("ledger.signing_key_env", "environment variable 'LG_SIGNING_KEY' is not set") in info.value.problems


def test_policy_file_errors_carry_both_paths(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("id: default\nversion: 1\nrules:\n  - {id: a, action: allow, match: {}}\n")
    d = _demo()
    d["policies"] = [{"id": "default", "file": "p.yaml"}]
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(d))
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "c.yaml")
    (path, msg), = info.value.problems
    assert path.startswith("policies[0].file(") and path.endswith("rules[0].match") and "empty match" in msg


def test_config_check_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(default_config_text())
    assert main(["config", "check", str(good)]) == 0
    assert "ok (2 routes" in capsys.readouterr().out

    d = _demo()
    d["broker"]["partitions"] = 0
    d["proxy"]["port"] = "eighty"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(d))
    assert main(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert any("broker.partitions:" in e for e in err) and any("proxy.port:" in e for e in err)


@pytest.mark.parametrize("text, fragment", [
    ("broker: [unclosed", "invalid YAML: line 1"),
    ("- a list\n", "the config is a YAML mapping"),
])
def test_unreadable_configs(tmp_path: Path, text: str, fragment: str, capsys) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(text)
    assert main(["config", "check", str(f)]) == 2
    assert fragment in capsys.readouterr().err


def test_compose_config_is_valid_with_its_secrets() -> None:
    root = Path(__file__).resolve().parents[1]
    s = load_settings(root / "compose" / "ledgergate.yaml",
                      environ={"LEDGERGATE_SIGNING_KEY": "x", "LEDGERGATE_HASH_KEY": "y", "OPENAI_API_KEY": "sk"})
    assert not s.broker.embedded and s.broker.bootstrap == "kafka:9092"
    assert s.bundles()["default"].version >= 1


def test_default_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    d = _demo()
    del d["ledger"], d["proxy"]
    s = settings_from_mapping(d, base_dir=tmp_path, environ={})
    assert s.ledger.path == tmp_path / "ledger.duckdb" and s.ledger.keys_dir == tmp_path / "keys"
    assert s.proxy.spool_dir == tmp_path / "spool" and s.mlflow.state_dir == tmp_path / "mlflow-ingest"


@pytest.mark.parametrize("broker, fetch_wait", [
    ({}, 5),                                                       # embedded Tansu
    ({"bootstrap_servers": "k:9092"}, 500),                        # Kafka answers on arrival
    ({"bootstrap_servers": "t:9092", "kind": "tansu"}, 5),         # an external Tansu
    ({"bootstrap_servers": "k:9092", "fetch_max_wait_ms": 50}, 50),
    ({"kind": "tansu", "fetch_max_wait_ms": 8}, 8),
])
def test_fetch_wait_follows_the_broker_kind(broker: dict, fetch_wait: int) -> None:
    data = _demo()
    data["broker"] = broker
    assert settings_from_mapping(data).broker.fetch_wait_ms == fetch_wait
