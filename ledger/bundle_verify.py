"""Reading an auditor bundle into verifier evidence, and verifying it. No database."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro

FORMAT = "ledgergate-bundle/2"
FILES = ("records.avro", "context.avro", "statements.avro", "checkpoints.avro", "notes.json",
         "leaves.bin", "keys.json", "pruned.json")



def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# Format 1 (before this verifier): no boundary records, statements or notes, proofs
# between successive checkpoints. Still verified; it cannot prove completeness.
FORMAT_V1 = "ledgergate-bundle/1"
FILES_V1 = ("records.avro", "checkpoints.avro", "inclusion.avro", "consistency.avro",
            "keys.json", "pruned.json")
from .errors import BundleError, LedgerError
from .evidence import Evidence, FullTree, Period, ProvenTree, RecordTuple
from .findings import VerifyReport
from .keys import Keyring
from .sign import audit_header
from .tables import CheckpointRow, PrunedRange
from .trust import TrustAnchors
from .verify import DEFAULT_SAMPLE_RATE, SignatureMode, default_workers, run


def _json(path: Path, default: Any) -> Any:
    return json.loads(path.read_text()) if path.exists() else default


def _avro(path: Path) -> list[dict[str, Any]]:
    if not path.exists():  # a file format 1 did not have
        return []
    with open(path, "rb") as fh:
        # every file here is an Avro file of records: each datum is a dict
        return [r for r in fastavro.reader(fh) if isinstance(r, dict)]


def _tuples(envs: Any, place: bool = True) -> Iterator[RecordTuple]:
    """Records as verifier tuples; ``place=False`` leaves the seq to the records step,
    which reads each header once anyway."""
    for env in envs:
        seq = -1
        if place:
            try:
                seq = audit_header(env["payload"])[2]
            except Exception:  # noqa: BLE001 - garbage bytes: the verifier names them
                seq = -1
        yield seq, env["payload"], env["signature"], env["key_id"], b""


def _records(path: Path) -> Iterator[RecordTuple]:
    try:
        with open(path, "rb") as fh:
            yield from _tuples(fastavro.reader(fh), place=False)
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path} is unreadable: {exc}") from exc


def _leaves(path: Path) -> FullTree:
    data = path.read_bytes()
    if len(data) % 32:
        raise BundleError(f"{path} holds {len(data)} bytes, not a whole number of 32-byte leaves")
    return FullTree([data[i:i + 32] for i in range(0, len(data), 32)])


def _checkpoints(d: Path) -> list[CheckpointRow]:
    from .sign import decode_checkpoint

    notes = {n["tree_size"]: n["note"] for n in _json(d / "notes.json", [])}
    out = []
    for env in _avro(d / "checkpoints.avro"):
        try:
            body = decode_checkpoint(env["payload"])
            size, root, at = int(body["tree_size"]), str(body["root_hash"]), int(body["at_us"])
        except Exception:  # noqa: BLE001 - the checkpoints step names replaced bytes
            size, root, at = -1, "", 0
        out.append(CheckpointRow(size, root, at, env["key_id"], env["payload"],
                                 env["signature"], notes.get(size)))
    return out


def _manifest(d: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((d / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(f"{d} has no readable manifest.json: expected a directory written "
                          "by `ledgergate export`") from exc
    if not isinstance(manifest, dict) or manifest.get("format") not in (FORMAT, FORMAT_V1):
        got = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise BundleError(f"bundle format {got!r} is not {FORMAT!r} (or {FORMAT_V1!r}): "
                          "upgrade ledgergate to read it")
    return manifest


def evidence(bundle_dir: str | os.PathLike[str]) -> tuple[Evidence, dict[str, Any], list[str]]:
    """(evidence, manifest, damaged files) of a bundle directory."""
    d = Path(bundle_dir)
    manifest = _manifest(d)
    v1 = manifest["format"] == FORMAT_V1
    files = FILES_V1 if v1 else FILES
    damaged = [n for n in files if not (d / n).exists()
               or _sha256_file(d / n) != manifest.get("files", {}).get(n)]
    missing = [n for n in files if not (d / n).exists()]
    if missing:
        raise BundleError(f"bundle {d} lacks {', '.join(missing)}: it is incomplete")
    try:
        cps = _checkpoints(d)
        tree = _leaves(d / "leaves.bin") if not v1 else None
        proofs = _avro(d / "inclusion.avro") if v1 else []
        # the size the proofs are against (the export's latest checkpoint)
        latest = max((p["tree_size"] for p in proofs), default=manifest.get("latest_checkpoint") or 0)
        root = next((bytes.fromhex(c.root_hash) for c in cps if c.tree_size == latest and
                     c.root_hash), None)
        incl = {p["seq"]: p["path"] for p in proofs if p["tree_size"] == latest}
        cons = {(c["first"], c["second"]): c["path"] for c in _avro(d / "consistency.avro")}
        notes = _json(d / "notes.json", [])
        keys = Keyring.from_manifest(json.loads((d / "keys.json").read_text()))
        pruned = [PrunedRange(p["from_seq"], p["to_seq"])
                  for p in json.loads((d / "pruned.json").read_text())]
        context = list(_tuples(_avro(d / "context.avro")))
        statements = list(_tuples(_avro(d / "statements.avro")))
    except (OSError, ValueError, KeyError, TypeError, LedgerError) as exc:
        raise BundleError(f"bundle {d} is unreadable: {exc}") from exc
    ev = Evidence(
        source="bundle", ledger_id=manifest.get("ledger_id"),
        records=_records(d / "records.avro"), checkpoints=cps,
        tree=tree if tree is not None else ProvenTree(latest, root, incl, cons), statements=statements, context=context,
        cosignatures={n["tree_size"]: n.get("cosignatures") or [] for n in notes},
        material_keys=list(keys.public.values()), pruned_claims=pruned,
        period=None if v1 else Period(manifest.get("from_us"), manifest.get("to_us")),
        windowed=v1)
    return ev, manifest, damaged


def verify_bundle(bundle_dir: str | os.PathLike[str], *, keyring: Keyring | None = None,
                  anchors: TrustAnchors | None = None, workers: int | None = None,
                  signatures: SignatureMode | str = "anchored",
                  sample_rate: float = DEFAULT_SAMPLE_RATE,
                  sample_seed: bytes | None = None) -> VerifyReport:
    """Verify a bundle against ``anchors`` (or just ``keyring``'s keys) with no database.

    Without either, the bundle's own keys.json is used and the result says so:
    a bundle that certifies its own keys proves only internal consistency.
    """
    ev, manifest, damaged = evidence(bundle_dir)
    if anchors is None and keyring is not None:
        anchors = TrustAnchors.of(keyring, "the given keyring")
    if anchors is None or not anchors.keys:
        own = Keyring({k.key_id: k for k in ev.material_keys})
        anchors = TrustAnchors.of(
            own, "the bundle's own keys.json (self-certified, not independent: pass "
            "--trusted-keys with the keys you hold)",
            checkpoint=anchors.checkpoint if anchors else None,
            witnesses=anchors.witnesses if anchors else ())
    rep = run(ev, anchors, signatures=signatures,
              workers=workers if workers is not None else default_workers(),
              sample_rate=sample_rate, sample_seed=sample_seed)
    if manifest["format"] == FORMAT_V1:
        rep.assurance.does_not_establish.append(
            "completeness of the period: this format-1 bundle carries no boundary records; "
            "re-export it to prove nothing was left out at either end")
    for name in damaged:
        rep.add(None, None, "changed-field", f"bundle file {name} does not match the SHA-256 in "
                "manifest.json: it was altered after export")
    top = max((c.tree_size for c in ev.checkpoints), default=0)
    if (manifest.get("latest_checkpoint") or 0) > top:
        rep.add(top, None, "truncated", f"the manifest names a checkpoint at tree size "
                f"{manifest['latest_checkpoint']} but the bundle's latest is {top}: the latest "
                "checkpoint was removed")
    if manifest.get("record_count") != rep.records_checked:
        rep.add(None, None, "incomplete", f"manifest lists {manifest.get('record_count')} records "
                f"but records.avro holds {rep.records_checked}")
    return rep
