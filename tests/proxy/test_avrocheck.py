"""The compiled event validator: exact problem paths and messages, and agreement with fastavro's own validator."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastavro.validation import validate as fastavro_validate

from ledgergate.proxy.avrocheck import EventValidationError, validate
from ledgergate.schemas.codec import encode, schema

BASE: dict[str, Any] = {
    "request_id": "r-1", "received_at_us": 1_700_000_000_000_000, "source": "ingest", "route_id": "assistant",
    "mode": "observe", "principal": {"person": "p", "tenant": "t", "roles": ["analyst"], "auth_method": "jwt"},
    "parts": [{"path": "/messages/0/content", "role": "user", "text": "hello"}],
    "metadata": {"loan_id": "L-1"},
    "submitted_by": {"person": "gw", "tenant": "t", "auth_method": "api_key"},
}


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    rec = copy.deepcopy(BASE)
    node = rec
    for k in path[:-1]:
        node = node[k]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return rec


_DELETE = object()

# (change, expected problems) — the messages callers see in a 400 and in EventValidationError
CASES = [
    ((("request_id",), 1), [("request_id", "expected string, got int 1")]),
    ((("received_at_us",), True), [("received_at_us", "expected long, got bool True")]),
    ((("received_at_us",), 2**63), [("received_at_us", f"{2**63} is out of range: a long is 64-bit "
                                     f"({-2**63} to {2**63 - 1})")]),
    ((("principal", "auth_method"), None), [("principal.auth_method", "expected string, got NoneType None")]),
    ((("principal", "tenant"), _DELETE), [("principal.tenant", "required field is missing")]),
    ((("principal",), "alice"), [("principal", "expected an object (Principal), got str")]),
    ((("parts", 0, "text"), "\ud800"), [("parts[0].text", "the string holds an unpaired UTF-16 surrogate: "
                                         "send valid Unicode text")]),
    ((("parts",), {"a": 1}), [("parts", "expected an array, got dict")]),
    ((("metadata", "n"), 3), [("metadata.n", "expected string, got int 3")]),
    ((("submitted_by", "roles"), "admin"), [("submitted_by.roles", "expected an array, got str")]),
    ((("colour",), "red"), [("colour", "unknown field; RequestEvent has ['endpoint', 'metadata', 'mode', "
                             "'model', 'parts', 'policy_id', 'principal', 'proxy_id', 'received_at_us', "
                             "'reply_to', 'request_id', 'route_id', 'source', 'submitted_by', "
                             "'upstream_id']")]),
]


@pytest.mark.parametrize("change, expected", CASES)
def test_each_problem_names_its_path(change: tuple[tuple[Any, ...], Any], expected: list[tuple[str, str]]) -> None:
    with pytest.raises(EventValidationError) as e:
        validate("RequestEvent", _with(*change))
    assert e.value.problems == expected


def test_a_valid_record_gets_its_defaults_and_encodes() -> None:
    rec = copy.deepcopy(BASE)
    del rec["metadata"]
    out = validate("RequestEvent", rec)
    assert out["metadata"] == {} and out["endpoint"] == "chat.completions" and out["reply_to"] is None
    assert out["principal"]["roles"] == ["analyst"] and out["submitted_by"]["roles"] == []
    assert encode("RequestEvent", out)
    # defaults are fresh containers, never shared between records
    assert validate("RequestEvent", rec)["metadata"] is not out["metadata"]


# Changes fastavro's validator judges the same way (it accepts unknown fields and
# lone surrogates, which its encoder then rejects or we refuse on purpose).
_REFERENCE = [change for change, _ in CASES if change[0] != ("colour",) and change[1] != "\ud800"] + [
    (("received_at_us",), -2**63), (("received_at_us",), 2**63 - 1), (("received_at_us",), 1.5),
    (("model",), "gpt"), (("model",), 7), (("submitted_by",), None), (("parts", 0, "role"), None),
    (("parts", 0, "role"), b"user"), (("principal", "roles"), ["a", 1]), (("principal", "roles"), []),
    (("metadata",), {}), (("parts",), []), (("request_id",), _DELETE), (("endpoint",), "embeddings"),
]


@pytest.mark.parametrize("change", _REFERENCE)
def test_accepts_exactly_what_the_reference_validator_accepts(change: tuple[tuple[Any, ...], Any]) -> None:
    rec = _with(*change)
    try:
        validate("RequestEvent", rec)
        ours = True
    except EventValidationError:
        ours = False
    assert ours == fastavro_validate(rec, schema("RequestEvent").parsed, raise_errors=False)


def test_what_fastavro_lets_through_but_cannot_encode_is_refused() -> None:
    rec = _with(("parts", 0, "text"), "\ud800")
    assert fastavro_validate(rec, schema("RequestEvent").parsed, raise_errors=False)
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the encoder raises: it cannot encode it
        encode("RequestEvent", validate("RequestEvent", _with(("parts", 0, "text"), "ok")) | {"source": "\ud800"})
    with pytest.raises(EventValidationError):
        validate("RequestEvent", rec)
