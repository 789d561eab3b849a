"""C2SP signed-note / checkpoint / cosignature formats, against the spec's own example."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledgergate.ledger import note

# c2sp.org/signed-note v1, "Example": this vkey verifies this note.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = ("This is an example message.\n\n\u2014 example.com/foo "
             "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")


def test_spec_example_note_verifies_with_spec_vkey() -> None:
    v = note.parse_vkey(SPEC_VKEY)
    assert v.key_id.hex() == "530d903a" and v.sig_type == 0x01
    assert v.vkey() == SPEC_VKEY
    body, sigs = note.split_note(SPEC_NOTE)
    assert body == "This is an example message.\n"
    assert note.verify_note(body, sigs, v)
    assert not note.verify_note(body.replace("example", "exemplary"), sigs, v)


def test_vkey_with_wrong_key_id_is_refused() -> None:
    with pytest.raises(note.NoteError, match="hashes to 530d903a"):
        note.parse_vkey(SPEC_VKEY.replace("530d903a", "530d903b"))


def test_checkpoint_round_trip_and_exact_bytes() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    cp = note.CheckpointNote("ledgergate/main", 5, bytes(32))
    text = note.sign_note(cp.body(), "ledgergate/main", key)
    lines = text.split("\n")
    assert lines[:4] == ["ledgergate/main", "5", base64.b64encode(bytes(32)).decode(), ""]
    assert lines[4].startswith("\u2014 ledgergate/main ")
    sig = base64.b64decode(lines[4].split(" ")[2])
    assert len(sig) == 4 + 64
    assert sig[:4] == note.key_id("ledgergate/main", 1, key.public_key())
    body, sigs = note.split_note(text)
    assert note.parse_checkpoint(body) == cp
    v = note.Verifier("ledgergate/main", 1, key.public_key())
    assert note.verify_note(body, sigs, v)


def test_cosignature_message_and_layout() -> None:
    wkey = Ed25519PrivateKey.generate()
    body = note.CheckpointNote("ledgergate/main", 7, bytes(range(32))).body()
    s = note.cosign(body, "auditor.example/w1", wkey, 1679315147)
    assert s.sig[:8] == (1679315147).to_bytes(8, "big") and len(s.sig) == 72
    # the signed message is exactly the spec's: header, time line, then the body
    wkey.public_key().verify(s.sig[8:], ("cosignature/v1\ntime 1679315147\n" + body).encode())
    w = note.Verifier("auditor.example/w1", 4, wkey.public_key())
    assert s.key_id == w.key_id
    assert note.verify_cosignature(body, [s], w) == 1679315147
    assert note.verify_cosignature(body.replace("7", "8"), [s], w) is None
    # a note-signature key id (type 0x01) is not a cosignature key id
    assert note.key_id(w.name, 1, wkey.public_key()) != w.key_id


@pytest.mark.parametrize("bad", ["origin\n5\n", "o\n05\n" + base64.b64encode(bytes(32)).decode() + "\n",
                                 "o\n5\nAAAA\n"])
def test_malformed_checkpoints_are_refused(bad: str) -> None:
    with pytest.raises(note.NoteError):
        note.parse_checkpoint(bad)


def test_vkey_whose_base64_contains_plus_round_trips() -> None:
    for i in range(64):
        key = Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32)
        v = note.Verifier("ledgergate/main", 1, key.public_key())
        assert note.parse_vkey(v.vkey()) == v or note.parse_vkey(v.vkey()).key_id == v.key_id
