"""Redaction operators (exact output), overlap merging, registry and error behaviour."""

from __future__ import annotations

import pytest

from ledgergate.streams.classify import engine
from ledgergate.streams.classify.engine import Classifier, ClassifyError, Span, register
from ledgergate.streams.classify.redact import redact, value_hash

KEY = b"test-key"
TEXT = "Mail bob@corp.io or call 415-872-3391."
EMAIL = Span("EMAIL_ADDRESS", "PII", 5, 16, 0.95, "email")
PHONE = Span("PHONE_NUMBER", "PII", 25, 37, 0.85, "phone")


def test_type_tag():
    out, repl = redact(TEXT, [EMAIL, PHONE], {}, hash_key=KEY)
    assert out == "Mail <EMAIL_ADDRESS> or call <PHONE_NUMBER>."
    assert [r.text for r in repl] == ["<EMAIL_ADDRESS>", "<PHONE_NUMBER>"]


def test_mask():
    out, _ = redact(TEXT, [EMAIL], {"EMAIL_ADDRESS": "mask"}, hash_key=KEY)
    assert out == "Mail *********** or call 415-872-3391."


def test_hash():
    out, _ = redact(TEXT, [EMAIL], {"EMAIL_ADDRESS": "hash"}, hash_key=KEY)
    assert out == f"Mail <EMAIL_ADDRESS:{value_hash('bob@corp.io', KEY)[:12]}> or call 415-872-3391."


def test_pseudonym_is_stable_unique_and_hides_value():
    text = "bob@corp.io, bob@corp.io, amy@corp.io"
    spans = [Span("EMAIL_ADDRESS", "PII", s, s + 11, 0.9, "t") for s in (0, 13, 26)]
    out, repl = redact(text, spans, {}, hash_key=KEY, default_operator="pseudonym")
    toks = [r.text for r in repl]
    assert toks[0] == toks[1] != toks[2]
    assert toks[0] == f"<EMAIL_ADDRESS_{value_hash('bob@corp.io', KEY)[:8]}>"
    assert "bob" not in out and "amy" not in out


def test_value_hash_is_hmac_prefix():
    import hashlib
    import hmac

    assert value_hash("x", KEY) == hmac.new(KEY, b"x", hashlib.sha256).hexdigest()[:32]


def test_overlap_longer_wins_and_category_spans_ignored():
    text = "Ship to 12 Oak Street, Springfield, IL 62701 now"
    addr = Span("STREET_ADDRESS", "PII", 8, 44, 0.9, "a")
    person = Span("PERSON", "PII", 11, 21, 0.85, "p")
    doc = Span("PHI", "PHI", 0, 10, 0.8, "phi")
    out, repl = redact(text, [person, addr, doc], {}, hash_key=KEY)
    assert out == "Ship to <STREET_ADDRESS> now"
    assert len(repl) == 1


def test_unknown_operator_names_the_value():
    with pytest.raises(ClassifyError, match="'blur'"):
        redact(TEXT, [EMAIL], {"EMAIL_ADDRESS": "blur"}, hash_key=KEY)


def test_register_twice_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    # a private copy of the registry: a dummy left registered would break every later
    # build_classifier() in this process (it creates every registered detector)
    monkeypatch.setattr(engine, "_REGISTRY", dict(engine._REGISTRY))
    register("test-dup-detector", lambda a: None)
    with pytest.raises(ClassifyError, match="test-dup-detector"):
        register("test-dup-detector", lambda a: None)


def test_classifier_rejects_duplicate_detector_names():
    class D:
        name = "x"
        categories = frozenset({"PII"})
        needs_doc = False

        def detect(self, text, doc):
            return []

    with pytest.raises(ClassifyError):
        Classifier(None, [D(), D()])


def test_tldextract_is_offline(classifier, monkeypatch):
    # Presidio's email recognizer calls tldextract; it must not touch the network.
    import socket

    def boom(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", boom)
    monkeypatch.setattr(socket.socket, "connect", boom)
    import tldextract

    assert tldextract.extract("someone@mail.example.co.uk").suffix == "co.uk"
