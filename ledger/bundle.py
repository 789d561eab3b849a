"""Auditor bundles: a period of the ledger that proves itself, with no database.

Layout (Avro object container files embed their schemas, so any Avro library
reads them)::

    records.avro       SignedEnvelope per record of the period, in seq order
    context.avro       SignedEnvelope of the records just before and after the period
    statements.avro    SignedEnvelope of every key-endorsement and retention record
    checkpoints.avro   SignedEnvelope per checkpoint (payload = Checkpoint bytes)
    notes.json         [{tree_size, note, cosignatures[]}]: C2SP checkpoints + witness lines
    leaves.bin         every leaf hash of the tree (32 bytes each, in seq order)
    keys.json          public keys the ledger lists (material to check, never trusted)
    pruned.json        the ledger's unsigned pruned list (only a claim)
    manifest.json      format, ledger id, period, counts and the SHA-256 of every file

The boundary records prove the period is complete at both ends (the record
before has recorded_at < from, the one after >= to). The leaves let the verifier
recompute every signed checkpoint's root, exactly as it does from the database:
that ties each record to the checkpoints and each checkpoint to the next (32
bytes a record; per-record inclusion proofs cost ~17x that and verified 3x
slower). Verification (:func:`verify_bundle`) is the same sequence of steps as
for the database.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro

from ledgergate.clock import now_us
from ledgergate.schemas import codec

from . import merkle
from .bundle_verify import FILES, FORMAT, _sha256_file, verify_bundle
from .errors import BundleError, NotFoundError
from .evidence import RecordTuple
from .keys import Keyring
from .reader import LedgerReader
from .sources import STATEMENT_KINDS
from .tables import CheckpointRow

__all__ = ["FILES", "FORMAT", "export", "prove", "verify_bundle"]

def _envelope_schema() -> Any:
    return fastavro.parse_schema(codec.schema("SignedEnvelope").raw)


def prove(reader: LedgerReader, record_id: str, *, tree_size: int | None = None) -> dict[str, Any]:
    """Inclusion proof of one record against the latest (or the given) checkpoint.

    Returns {record_id, seq, leaf_hash, tree_size, root_hash, path[hex], checkpoint
    {payload, signature, key_id, note} (hex)}; works for pruned records too (leaves stay).
    """
    seq = reader.seq_of(record_id)
    cps = [c for c in reader.checkpoints()
           if (tree_size is None or c.tree_size == tree_size) and c.tree_size > seq]
    if not cps:
        raise NotFoundError(f"no checkpoint covers record {record_id} (seq {seq}): write one "
                            "with LedgerWriter.checkpoint() and try again")
    cp = cps[-1]
    leaves = [h for _, h in reader.leaves()[:cp.tree_size]]
    path = merkle.TreeLevels(leaves).inclusion_proof(seq)
    return {"record_id": record_id, "seq": seq, "leaf_hash": leaves[seq].hex(),
            "tree_size": cp.tree_size, "root_hash": cp.root_hash,
            "path": [p.hex() for p in path],
            "checkpoint": {"payload": cp.payload.hex(), "signature": cp.signature.hex(),
                           "key_id": cp.key_id, "note": cp.note}}


def _envelopes(rows: Iterator[RecordTuple], seqs: list[int]) -> Iterator[dict[str, Any]]:
    for seq, payload, sig, kid, _ in rows:
        seqs.append(seq)
        yield {"payload": payload, "key_id": kid, "signature": sig}


def _write_avro(path: Path, schema: Any, rows: Any, deflate: bool = False) -> None:
    with open(path, "wb") as fh:
        fastavro.writer(fh, schema, rows, codec="deflate" if deflate else "null")


def _context(reader: LedgerReader, seqs: list[int]) -> list[RecordTuple]:
    if not seqs:
        return []
    out = []
    for s in (seqs[0] - 1, seqs[-1] + 1):
        if s >= 0:
            out += list(reader.iter_signed(from_seq=s, to_seq=s))
    return out


def export(reader: LedgerReader, from_us: int | None, to_us: int | None,
           out_dir: str | os.PathLike[str], *, keyring: Keyring | None = None) -> dict[str, Any]:
    """Write an auditor bundle of records with from_us <= recorded_at_us < to_us.

    Proofs are against the latest checkpoint (the service writes one before
    exporting). ``keyring`` supplies the listed public keys (default: the keys
    table); they are material for the verifier, not trust. Returns the manifest.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        cps = reader.checkpoints()
        leaves = [h for _, h in reader.leaves()]
        latest = cps[-1].tree_size if cps else 0
        env = _envelope_schema()
        seqs: list[int] = []
        _write_avro(out / "records.avro", env,
                    _envelopes(reader.iter_signed(since_us=from_us, until_us=to_us), seqs), True)
        context, statements = _context(reader, seqs), reader.statements(STATEMENT_KINDS)
        _write_avro(out / "context.avro", env, _envelopes(iter(context), []))
        _write_avro(out / "statements.avro", env, _envelopes(iter(statements), []))
        _write_checkpoints(reader, out, cps, env)
        (out / "leaves.bin").write_bytes(b"".join(leaves))
        keys = keyring.public_only().public_manifest() if keyring is not None else [
            {"key_id": k, "public_key": raw.hex(), "created": None, "created_us": a}
            for k, raw, a in reader.stored_keys()]
        (out / "keys.json").write_text(json.dumps(keys, indent=2))
        lo, hi = (seqs[0], seqs[-1]) if seqs else (0, -1)
        pruned = [p.__dict__ for p in reader.pruned_ranges() if p.to_seq >= lo and p.from_seq <= hi]
        (out / "pruned.json").write_text(json.dumps(pruned, indent=2))
        manifest = {"format": FORMAT, "ledger_id": reader.ledger_id(), "from_us": from_us,
                    "to_us": to_us, "created_us": now_us(), "record_count": len(seqs),
                    "first_seq": seqs[0] if seqs else None, "last_seq": seqs[-1] if seqs else None,
                    "latest_checkpoint": latest, "uncovered": sum(1 for s in seqs if s >= latest),
                    "files": {n: _sha256_file(out / n) for n in FILES}}
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    except OSError as exc:
        raise BundleError(f"cannot write bundle to {out}: {exc.strerror}; check the directory "
                          "is writable and has space") from exc
    return manifest


def _write_checkpoints(reader: LedgerReader, out: Path, cps: list[CheckpointRow],
                       env: Any) -> None:
    _write_avro(out / "checkpoints.avro", env, ({"payload": c.payload, "key_id": c.key_id,
                                                 "signature": c.signature} for c in cps))
    cos = reader.cosignatures()
    notes = [{"tree_size": c.tree_size, "note": c.note, "cosignatures": cos.get(c.tree_size, [])}
             for c in cps if c.note]
    (out / "notes.json").write_text(json.dumps(notes, indent=2))

