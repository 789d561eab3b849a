"""``POST /v1/events``: other gateways hand their RequestEvents to the audit pipeline.

Accountable identity: every event records who submitted it (``submitted_by``:
the authenticated caller and its method; also ``metadata.ingested_by`` so it
reaches the signed decision record) next to the principal it reports. Reporting
on behalf of *another* person needs one of ``proxy.ingest_roles`` (default
``ingest``, for gateways); without it the principal is the caller, and an event
naming anyone else — or roles the caller does not hold — is a 403. Either way the
principal must be of the caller's tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledgergate.proxy.errors import BadRequest, Forbidden
from ledgergate.proxy.events import principal_record
from ledgergate.proxy.jsonbody import parse
from ledgergate.proxy.sdk import EventValidationError, complete_request, validate
from ledgergate.proxy.spool import Record
from ledgergate.schemas.codec import encode


def _principal_for(ev: dict[str, Any], caller: Any, ingest_roles: Sequence[str], where: str) -> dict[str, Any]:
    mine = principal_record(caller)
    claimed = ev.get("principal")
    if claimed is None:
        return mine
    if not isinstance(claimed, dict):
        return claimed  # the schema check names it
    if claimed.get("tenant") != caller.tenant:
        raise Forbidden(f"event {where}principal.tenant {claimed.get('tenant')!r} is not the caller's tenant "
                        f"{caller.tenant!r}: a gateway may only ingest its own tenant's events",
                        code="tenant_not_allowed", param=f"{where}principal.tenant")
    if any(r in ingest_roles for r in caller.roles):
        return claimed
    roles = claimed.get("roles") or []
    if claimed.get("person") != caller.person or not isinstance(roles, list) \
            or any(r not in caller.roles for r in roles):
        raise Forbidden(f"event {where}principal names {claimed.get('person')!r} with roles {roles!r}, but the "
                        f"caller is {caller.person!r} with roles {list(caller.roles)}: reporting on behalf of "
                        f"someone else needs one of the roles {list(ingest_roles)}",
                        code="ingest_role_required", param=f"{where}principal")
    return mine


def records_for(raw: bytes, caller: Any, topic: str, ingest_roles: Sequence[str]) -> tuple[list[Record], list[str]]:
    """Validate a body of one RequestEvent or a list of them; the encoded records and their ids.

    BadRequest (400) listing every failing field path; Forbidden (403) for a principal
    the caller may not report.
    """
    doc = parse(raw)
    items = doc if isinstance(doc, list) else [doc]
    problems: list[dict[str, str]] = []
    records: list[Record] = []
    ids: list[str] = []
    submitter = principal_record(caller)
    by = f"{caller.person}@{caller.tenant} ({caller.auth_method})"
    for i, item in enumerate(items):
        prefix = f"[{i}]." if isinstance(doc, list) else ""
        if not isinstance(item, dict):
            problems.append({"path": prefix.rstrip(".") or "$", "message": "expected a RequestEvent object"})
            continue
        ev = complete_request(item)
        ev["principal"] = _principal_for(ev, caller, ingest_roles, prefix)
        ev["submitted_by"] = submitter
        md = ev.get("metadata")
        if isinstance(md, dict):
            ev["metadata"] = dict(md, ingested_by=by)
        elif "metadata" not in ev or md is None:
            ev["metadata"] = {"ingested_by": by}
        try:
            rec = validate("RequestEvent", ev)
        except EventValidationError as exc:
            problems += [{"path": prefix + p, "message": m} for p, m in exc.problems]
            continue
        records.append(Record(topic, rec["request_id"].encode(), encode("RequestEvent", rec)))
        ids.append(rec["request_id"])
    if problems:
        raise BadRequest("invalid RequestEvent: " + "; ".join(f"{q['path']}: {q['message']}" for q in problems),
                         code="invalid_event", param=problems[0]["path"], extra={"problems": problems})
    return records, ids
