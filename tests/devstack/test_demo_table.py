"""The demo's table: every request it sent, with its audit record id, and nothing cut inside a word."""

from __future__ import annotations

from ledgergate.devstack.demo import _request_table
from ledgergate.devstack.table import table

RID = "97a5a674-3c4b-59bd-a057-8c828ada330a"


def test_every_request_is_a_row_with_its_record_id_even_untraced_ones():
    seen = [{"label": "benign question", "person": "alice", "status": 200, "request_id": "r1"},
            {"label": "forged token (401)", "person": "?", "status": 401, "request_id": "r2"},
            {"label": "no answer", "person": "bob", "status": 502, "request_id": None}]
    records = {("response", "r1"): {"outcome": "forwarded", "record_id": RID},
               ("decision", "r1"): {"rule_id": "allow-rest"},
               ("response", "r2"): {"outcome": "refused-auth", "record_id": "b" * 36}}
    lines = _request_table(seen, records).splitlines()
    assert len(lines) == 2 + 3
    assert RID in lines[2] and "allow-rest" in lines[2]
    assert "refused-auth" in lines[3] and "b" * 36 in lines[3]
    assert "(not traced)" in lines[4]
    assert all(ln == ln.rstrip() for ln in lines)


def test_long_cells_are_cut_between_words_and_ids_never():
    text = "blocked by policy default v1, rule 'block-secrets' (decision dec_0123456789abcdef)"
    ident = "dec_" + "0123456789abcdef" * 4
    out = table([{"a": text, "b": ident}], ["a", "b"])
    cell = out.splitlines()[2]
    assert ident in cell
    shown = cell.split("  ")[0].removesuffix(" ...").split()
    assert shown == text.split()[:len(shown)]  # whole words only
