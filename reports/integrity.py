"""What a ledger verification establishes, as the reports state it next to the integrity badge."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .base import as_int, jsonable
from .errors import ReportError

INTERNAL_ONLY = (
    "Internal consistency only: every record's Ed25519 signature verifies against the key manifest, the "
    "hash chain and Merkle tree recompute to the ledger's own signed checkpoints, and the columns this "
    "report counts match the signed bytes. This does not prove that no records were removed from the end "
    "of the ledger, or that the whole ledger was not replaced: a ledger rolled back to an earlier state "
    "verifies the same. Only a checkpoint held outside the ledger (a trusted copy or a witness) can show that.")


def _trusted(integrity: Mapping[str, Any]) -> dict[str, Any] | None:
    """The external anchor (trusted checkpoint or witnesses) the verifier used, if any."""
    a = integrity.get("assurance") or {}
    if a.get("trusted_checkpoint"):
        return {"kind": "trusted_checkpoint", "detail": jsonable(a["trusted_checkpoint"])}
    if a.get("witnesses"):
        return {"kind": "witness", "detail": jsonable(a["witnesses"])}
    return None


def establishes(integrity: Mapping[str, Any]) -> str:
    """The plain statement of what a verify result establishes and what it does not.

    The ledger's verifier says it in its own sentences (``assurance``); a result
    without them (an older verifier) establishes internal consistency only.
    """
    a = integrity.get("assurance") or {}
    said = [str(x) for x in a.get("establishes") or []]
    not_said = [str(x) for x in a.get("does_not_establish") or []]
    if not said:
        return INTERNAL_ONLY
    text = " ".join(said)
    return text + (" It does not establish: " + " ".join(not_said) if not_said else "")


def normalise_integrity(integrity: Mapping[str, Any] | None) -> dict[str, Any]:
    """The caller's ledger.verify result, checked for shape; ``None`` means "not verified"."""
    if integrity is None:
        return {"verified": False, "ok": False, "problems": ["the ledger was not verified for this report: "
                                                             "the caller passed no ledger.verify result"],
                "checked_records": 0, "checkpoints": 0, "establishes": "nothing: not verified",
                "trusted": None}
    if not isinstance(integrity, Mapping) or not isinstance(integrity.get("ok"), bool):
        raise ReportError(f"integrity facts {integrity!r} are not a ledger.verify result: expected a mapping "
                          "with ok (bool), problems (list), checked_records (int), checkpoints (int)")
    problems = integrity.get("problems") or []
    if isinstance(problems, (str, bytes)) or not isinstance(problems, Iterable):
        raise ReportError(f"integrity problems {problems!r} is not a list: expected a list of problem texts")
    problems = [jsonable(p) for p in problems]
    # ledger.verify's VerifyReport.to_dict() spells the counts records_checked /
    # checkpoints_checked; the report contract says checked_records / checkpoints.
    checked = integrity.get("checked_records", integrity.get("records_checked"))
    cps = integrity.get("checkpoints", integrity.get("checkpoints_checked", 0))
    out = {"verified": True,
           # a result listing problems is never "ok", whatever its flag says
           "ok": bool(integrity["ok"]) and not problems,
           "problems": problems,
           "checked_records": as_int(checked),
           "checkpoints": len(cps) if isinstance(cps, (list, tuple)) else as_int(cps),
           "establishes": establishes(integrity), "trusted": _trusted(integrity)}
    used = {"ok", "problems", "checked_records", "records_checked", "checkpoints", "checkpoints_checked"}
    extra = {k: jsonable(v) for k, v in integrity.items() if k not in used}
    if extra:
        out["details"] = extra
    return out
