"""Auditor bundles: everything needed to verify a period of the ledger without the database.

Layout of a bundle directory (all Avro files are object container files, so any
Avro library reads them; schemas are embedded)::

    records.avro       SignedEnvelope per exported record (payload = AuditRecord bytes)
    checkpoints.avro   SignedEnvelope per checkpoint (payload = Checkpoint bytes)
    inclusion.avro     {seq, tree_size, path[]} per exported record, against the latest checkpoint
    consistency.avro   {first, second, path[]} between successive checkpoints
    keys.json          public keys [{key_id, public_key (hex), created, ...}]
    pruned.json        retention ranges overlapping the export
    manifest.json      format, ledger id, period, counts and the SHA-256 of every file above

Signatures and the signed checkpoints are the authenticity; the manifest hashes
only catch damage in transit. An auditor should pass the keys they trust (from
the operator's published key manifest) rather than rely on keys.json.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterator

import fastavro

from ledgergate.schemas import codec

from . import merkle
from .errors import BundleError, LedgerError, NotFoundError
from .keys import Keyring
from .sign import ZERO_HASH_HEX, audit_header, decode_checkpoint
from .store import LedgerReader, now_us
from .verify import (
    DEFAULT_SAMPLE_RATE,
    SignatureMode,
    VerifyReport,
    _SigChecker,
    check_signature_mode,
    default_workers,
    signature_sample,
)

FORMAT = "ledgergate-bundle/1"
FILES = ("records.avro", "checkpoints.avro", "inclusion.avro", "consistency.avro",
         "keys.json", "pruned.json")

_INCLUSION_SCHEMA = fastavro.parse_schema({
    "type": "record", "name": "InclusionProof", "namespace": "io.ledgergate.bundle.v1",
    "fields": [{"name": "seq", "type": "long"}, {"name": "tree_size", "type": "long"},
               {"name": "path", "type": {"type": "array", "items": "bytes"}}]})
_CONSISTENCY_SCHEMA = fastavro.parse_schema({
    "type": "record", "name": "ConsistencyProof", "namespace": "io.ledgergate.bundle.v1",
    "fields": [{"name": "first", "type": "long"}, {"name": "second", "type": "long"},
               {"name": "path", "type": {"type": "array", "items": "bytes"}}]})


def _envelope_schema() -> Any:
    return fastavro.parse_schema(codec.schema("SignedEnvelope").raw)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def prove(reader: LedgerReader, record_id: str, *, tree_size: int | None = None) -> dict[str, Any]:
    """Inclusion proof of one record against the latest (or the given) checkpoint.

    Returns {record_id, seq, leaf_hash, tree_size, root_hash, path[hex], checkpoint
    {payload, signature, key_id} (hex)}; works for pruned records too (leaves stay).
    """
    seq = reader.seq_of(record_id)
    cps = reader.checkpoints()
    cps = [c for c in cps if (tree_size is None or c.tree_size == tree_size) and c.tree_size > seq]
    if not cps:
        raise NotFoundError(f"no checkpoint covers record {record_id} (seq {seq}): write one "
                            "with LedgerWriter.checkpoint() and try again")
    cp = cps[-1]
    leaves = [h for _, h in reader.leaves()[:cp.tree_size]]
    path = merkle.inclusion_proof(leaves, seq) if len(leaves) < 4096 else \
        merkle.TreeLevels(leaves).inclusion_proof(seq)
    return {"record_id": record_id, "seq": seq, "leaf_hash": leaves[seq].hex(),
            "tree_size": cp.tree_size, "root_hash": cp.root_hash,
            "path": [p.hex() for p in path],
            "checkpoint": {"payload": cp.payload.hex(), "signature": cp.signature.hex(),
                           "key_id": cp.key_id}}


def export(reader: LedgerReader, from_us: int, to_us: int, out_dir: str | os.PathLike[str], *,
           keyring: Keyring | None = None) -> dict[str, Any]:
    """Write an auditor bundle of records with from_us <= recorded_at_us < to_us.

    Proofs are against the latest checkpoint; records appended after it are
    exported but marked uncovered (write a checkpoint first to cover them).
    ``keyring`` supplies the public keys (default: the keys table). Returns the manifest.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        cps = reader.checkpoints()
        leaves = [h for _, h in reader.leaves()]
        latest = cps[-1].tree_size if cps else 0
        levels = merkle.TreeLevels(leaves[:latest])
        env = _envelope_schema()
        seqs: list[int] = []

        def records() -> Iterator[dict[str, Any]]:
            for seq, payload, sig, kid, _ in reader.iter_signed(since_us=from_us, until_us=to_us):
                seqs.append(seq)
                yield {"payload": payload, "key_id": kid, "signature": sig}

        with open(out / "records.avro", "wb") as fh:
            fastavro.writer(fh, env, records(), codec="deflate")
        with open(out / "checkpoints.avro", "wb") as fh:
            fastavro.writer(fh, env, ({"payload": c.payload, "key_id": c.key_id,
                                       "signature": c.signature} for c in cps))
        with open(out / "inclusion.avro", "wb") as fh:
            fastavro.writer(fh, _INCLUSION_SCHEMA,
                            ({"seq": s, "tree_size": latest, "path": levels.inclusion_proof(s)}
                             for s in seqs if s < latest), codec="deflate")
        cons = []
        for a, b in zip(cps, cps[1:]):
            if a.tree_size and a.tree_size <= len(leaves) and b.tree_size <= len(leaves):
                cons.append({"first": a.tree_size, "second": b.tree_size,
                             "path": merkle.consistency_proof(leaves[:b.tree_size], a.tree_size)})
        with open(out / "consistency.avro", "wb") as fh:
            fastavro.writer(fh, _CONSISTENCY_SCHEMA, cons)
        if keyring is not None:
            keys = keyring.public_only().public_manifest()
        else:
            keys = [{"key_id": k, "public_key": raw.hex(), "created": None, "created_us": a}
                    for k, raw, a in reader.stored_keys()]
        (out / "keys.json").write_text(json.dumps(keys, indent=2))
        lo, hi = (seqs[0], seqs[-1]) if seqs else (0, -1)
        pruned = [p.__dict__ for p in reader.pruned_ranges() if p.to_seq >= lo and p.from_seq <= hi]
        (out / "pruned.json").write_text(json.dumps(pruned, indent=2))
        manifest = {"format": FORMAT, "ledger_id": reader.ledger_id(), "from_us": from_us,
                    "to_us": to_us, "created_us": now_us(), "record_count": len(seqs),
                    "first_seq": seqs[0] if seqs else None, "last_seq": seqs[-1] if seqs else None,
                    "latest_checkpoint": latest,
                    "uncovered": sum(1 for s in seqs if s >= latest),
                    "files": {n: _sha256_file(out / n) for n in FILES}}
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    except OSError as exc:
        raise BundleError(f"cannot write bundle to {out}: {exc.strerror}; check the directory "
                          "is writable and has space") from exc
    return manifest


def verify_bundle(bundle_dir: str | os.PathLike[str], *, keyring: Keyring | None = None,
                  workers: int | None = None, signatures: SignatureMode | str = "anchored",
                  sample_rate: float = DEFAULT_SAMPLE_RATE,
                  sample_seed: bytes | None = None) -> VerifyReport:
    """Verify a bundle with no database: file hashes, checkpoint signatures and
    consistency, record signatures, seq continuity, the hash chain, and each
    record's inclusion in the latest checkpoint.

    ``signatures="anchored"`` (default) applies ledger.verify's argument to the
    bundle: a record whose leaf (recomputed from its payload) is proven by its
    inclusion path to be in the latest validly signed, consistent checkpoint
    cannot have been altered, so its own signature is checked only if it is in
    the deterministic sample (``sample_rate``, seeded by that root or
    ``sample_seed``), or if anything about it looks wrong. Records after the
    checkpoint always have their signature checked, and if any checkpoint is
    forged or inconsistent nothing is anchored (every signature is checked).
    ``"all"`` checks every signature. ``keyring``: the keys the auditor trusts;
    default: the bundle's keys.json.
    """
    mode = check_signature_mode(signatures)
    d = Path(bundle_dir)
    rep = VerifyReport(signature_mode=mode)
    try:
        manifest = json.loads((d / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(f"{d} has no readable manifest.json: expected a directory written "
                          "by ledger.bundle.export") from exc
    if manifest.get("format") != FORMAT:
        raise BundleError(f"bundle format {manifest.get('format')!r} is not {FORMAT!r}: "
                          "upgrade ledgergate to read it")
    for name in FILES:
        want = manifest.get("files", {}).get(name)
        if not (d / name).exists():
            rep.add(None, None, "deleted", f"bundle file {name} is missing")
            return rep
        if _sha256_file(d / name) != want:
            rep.add(None, None, "changed-field", f"bundle file {name} does not match the "
                    "SHA-256 in manifest.json: it was altered after export")
    ledger_id = manifest.get("ledger_id")
    try:
        if keyring is None:
            keyring = Keyring.from_manifest(json.loads((d / "keys.json").read_text()))
        pruned = [(p["from_seq"], p["to_seq"]) for p in json.loads((d / "pruned.json").read_text())]
        with open(d / "checkpoints.avro", "rb") as fh:
            cps_env = list(fastavro.reader(fh))
        with open(d / "consistency.avro", "rb") as fh:
            cons = {(c["first"], c["second"]): c["path"] for c in fastavro.reader(fh)}
        with open(d / "inclusion.avro", "rb") as fh:
            incl = {p["seq"]: p for p in fastavro.reader(fh)}
    except (OSError, ValueError, LedgerError, StopIteration) as exc:
        raise BundleError(f"bundle {d} is unreadable: {exc}") from exc

    # Checkpoints: signatures, then consistency between successive ones.
    heads: list[tuple[int, bytes]] = []
    for env in cps_env:
        rep.checkpoints_checked += 1
        try:
            body = decode_checkpoint(env["payload"])
        except Exception as exc:  # replaced bytes
            rep.add(None, None, "forged-checkpoint", f"checkpoint payload is not a Checkpoint: {exc}")
            continue
        where = f"checkpoint at tree size {body['tree_size']}"
        if keyring.public_key(env["key_id"]) is None:
            rep.add(None, None, "forged-checkpoint", f"{where} is signed by unknown key "
                    f"{env['key_id']!r}")
        elif not keyring.verify(env["key_id"], env["signature"], env["payload"]) or \
                body["key_id"] != env["key_id"]:
            rep.add(None, None, "forged-checkpoint", f"{where}: signature does not verify")
        elif ledger_id is not None and body["ledger_id"] != ledger_id:
            rep.add(None, None, "forged-checkpoint", f"{where} belongs to ledger {body['ledger_id']!r}")
        else:
            heads.append((body["tree_size"], bytes.fromhex(body["root_hash"])))
    heads.sort()
    for (m, rm), (n, rn) in zip(heads, heads[1:]):
        if m == 0:
            continue
        path = cons.get((m, n))
        if path is None or not merkle.verify_consistency(m, n, rm, rn, path):
            rep.add(None, None, "forged-checkpoint", f"checkpoints {m} and {n} are not consistent: "
                    "the later tree does not extend the earlier one (history was rewritten)")
    latest_size, latest_root = heads[-1] if heads else (0, merkle.EMPTY_ROOT)
    rep.tree_size = latest_size
    if manifest.get("latest_checkpoint") not in (None, latest_size):
        rep.add(None, None, "truncated", f"manifest names checkpoint {manifest['latest_checkpoint']} "
                f"but the latest valid checkpoint in the bundle is {latest_size}")
    cache = merkle.InclusionCache.for_root(latest_size, latest_root)
    # Anchor only on a clean checkpoint history: a forged or inconsistent head
    # means someone held or faked a signing key, so every signature must speak.
    anchor = latest_size if mode == "anchored" and "forged-checkpoint" not in rep.kinds() else 0
    rep.anchor_size = anchor
    sample = signature_sample(anchor, latest_root, sample_rate, sample_seed)

    checker = _SigChecker(keyring, workers if workers is not None else default_workers())
    prev: tuple[int, bytes] | None = None
    try:
        with open(d / "records.avro", "rb") as fh:
            it = iter(fastavro.reader(fh))
            while True:
                batch = [e for _, e in zip(range(20_000), it)]
                if not batch:
                    break
                due = [i for i, e in enumerate(batch) if _due(e["payload"], anchor, sample)]
                oks = checker.check([(batch[i]["key_id"], batch[i]["payload"],
                                      batch[i]["signature"]) for i in due])
                rep.signatures_checked += len(due)
                known = dict(zip(due, oks))
                for i, env in enumerate(batch):
                    prev = _bundle_record(env, known.get(i), keyring, ledger_id, incl, cache,
                                          latest_size, pruned, prev, rep)
                    rep.records_checked += 1
    except (OSError, ValueError) as exc:
        raise BundleError(f"records.avro in {d} is unreadable: {exc}") from exc
    finally:
        checker.close()
    if manifest.get("record_count") != rep.records_checked:
        rep.add(None, None, "truncated" if rep.records_checked < manifest.get("record_count", 0)
                else "inserted", f"manifest lists {manifest.get('record_count')} records but "
                f"records.avro holds {rep.records_checked}")
    return rep


def _due(payload: bytes, anchor: int, sample: frozenset[int]) -> bool:
    """Must this record's signature be checked up front (tail, sample, or unparsable)?"""
    try:
        seq = audit_header(payload)[2]
    except Exception:  # noqa: BLE001 - garbage: let the signature name it
        return True
    return not 0 <= seq < anchor or seq in sample


def _bundle_record(env: dict[str, Any], sig_known: bool | None, keyring: Keyring,
                   ledger_id: str | None, incl: dict[int, dict[str, Any]],
                   cache: merkle.InclusionCache, latest: int, pruned: list[tuple[int, int]],
                   prev: tuple[int, bytes] | None, rep: VerifyReport) -> tuple[int, bytes] | None:
    payload = env["payload"]
    h = merkle.leaf_hash(payload)
    known = [sig_known]

    def sig_ok() -> bool:  # checked lazily: only anomalies of covered records need it
        if known[0] is None:
            known[0] = keyring.verify(env["key_id"], env["signature"], payload)
            rep.signatures_checked += 1
        return known[0]

    try:
        rid, p_ledger, seq, p_prev, p_kid = audit_header(payload)
    except Exception as exc:  # replaced bytes
        rep.add(None, None, "changed-field", f"a record payload is not an AuditRecord: {exc}")
        return prev
    if prev is not None and seq <= prev[0]:
        rep.add(seq, rid, "reordered", f"record {rid} (seq {seq}) follows seq {prev[0]}: the "
                "export is out of order")
    elif prev is not None and seq > prev[0] + 1:
        a, b = prev[0] + 1, seq - 1
        if any(pa <= a and b <= pb for pa, pb in pruned):
            rep.add(a, None, "pruned", f"records {a}..{b} were removed by retention")
        else:
            rep.add(a, None, "deleted", f"records {a}..{b} are missing from the bundle")
    elif prev is not None and p_prev != prev[1].hex():
        rep.add(seq, rid, "reordered", f"record {rid} (seq {seq}) does not chain to record {prev[0]}")
    if seq == 0 and p_prev != ZERO_HASH_HEX:
        rep.add(seq, rid, "inserted", "record 0 does not start the chain")
    proven = True
    if seq < latest:
        proof = incl.get(seq)
        proven = (proof is not None and proof["tree_size"] == latest
                  and cache.verify(h, seq, proof["path"]))
    if keyring.public_key(env["key_id"]) is None or keyring.public_key(p_kid) is None:
        rep.add(seq, rid, "unknown-key", f"record {rid} (seq {seq}) is signed with unknown key "
                f"{env['key_id'] if keyring.public_key(env['key_id']) is None else p_kid!r}")
    elif p_kid != env["key_id"] or ((known[0] is not None or not proven) and not sig_ok()):
        rep.add(seq, rid, "changed-field", f"record {rid} (seq {seq}): payload does not match its "
                f"signature by {env['key_id']}")
    if ledger_id is not None and p_ledger != ledger_id:
        rep.add(seq, rid, "inserted", f"record {rid} belongs to ledger {p_ledger!r}")
    if not proven:
        rep.add(seq, rid, "inserted" if sig_ok() else "changed-field",
                f"record {rid} (seq {seq}) is not proven in the checkpoint of size {latest}")
    return seq, h
