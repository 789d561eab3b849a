"""Ledger throughput, each number next to a same-run baseline.

    .venv/bin/python bench/ledger_bench.py [--n 100000] [--batch 500] [--workers N]

append   : sign + tree + DuckDB insert per record, vs a plain unsigned insert of the same rows
verify   : the one verifier over the database, trusting the key directory and the last
           checkpoint (C2SP note) as an auditor would: anchored (leaves, tree, checkpoints,
           header chain; signatures of tail + 1 % sample) and all-signatures, each without
           and with the derived-column check (a full Avro decode per record, reported as its
           own rate), vs a raw Ed25519 verify loop
bundle   : export + verify_bundle of all records, anchored and all-signatures
targets  : append >= 5k/s, verify >= 50k/s (anchored), bundle verify >= 50k/s (anchored)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ledger"))

from ledgergate.ledger import keys as lkeys  # noqa: E402
from ledgergate.ledger.bundle import export, verify_bundle  # noqa: E402
from ledgergate.ledger.ops import LedgerOps  # noqa: E402
from ledgergate.ledger.sign import complete_record, derive_columns, encode_record  # noqa: E402
from ledgergate.ledger.sources import verify_database  # noqa: E402
from ledgergate.ledger.store import _INSERT_RECORDS, LedgerReader, LedgerWriter, _column_arrays, connect  # noqa: E402
from ledgergate.ledger.trust import TrustAnchors  # noqa: E402
from ledgergate.ledger.verify import default_workers  # noqa: E402

from ledger_testkit import LEDGER_ID, T0, make_entry  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--workers", type=int, default=default_workers())
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    lkeys.generate(tmp / "keys")
    kr = lkeys.load_dir(tmp / "keys")
    entries = [make_entry(i) for i in range(a.n)]

    # baseline: the same rows, unsigned, no tree, no idempotency, same INSERT path
    con0 = connect(str(tmp / "plain.duckdb"))
    rows = []
    for i, e in enumerate(entries):
        rec = complete_record(e, ledger_id=LEDGER_ID, seq=i, prev_leaf_hash="0" * 64, key_id="k")
        row = derive_columns(rec)
        row.update(seq=i, payload=encode_record(rec), signature=b"", leaf_hash=b"")
        rows.append(row)
    t = time.perf_counter()
    for s in range(0, a.n, a.batch):
        con0.execute("BEGIN TRANSACTION")
        con0.register("_lg_batch", _column_arrays(rows[s:s + a.batch]))
        con0.execute(_INSERT_RECORDS)
        con0.unregister("_lg_batch")
        con0.execute("COMMIT")
    base_ins = a.n / (time.perf_counter() - t)

    con = connect(str(tmp / "ledger.duckdb"))
    w = LedgerWriter(con, kr, ledger_id=LEDGER_ID, checkpoint_every=10_000)
    t = time.perf_counter()
    for s in range(0, a.n, a.batch):
        w.append_batch(entries[s:s + a.batch], {("audit", 0): s + a.batch}, now=T0 + s)
    w.checkpoint(T0 + a.n)
    app = a.n / (time.perf_counter() - t)
    print(f"append        {app:10,.0f} rec/s   plain insert {base_ins:10,.0f} rec/s   "
          f"ratio {app / base_ins:.2f}   target >= 5,000  {'OK' if app >= 5000 else 'MISS'}")

    r = LedgerReader(con)
    sample = list(r.iter_signed(to_seq=min(a.n, 20_000) - 1))
    pub = kr.public_key(kr.active_id)
    t = time.perf_counter()
    for _, p, sig, _, _ in sample:
        pub.verify(sig, p)
    raw = len(sample) / (time.perf_counter() - t)
    print(f"raw Ed25519   {raw:10,.0f} verifies/s (one core)")

    anchors = TrustAnchors.of(kr.public_only(), "bench keys",
                              checkpoint=LedgerOps(con, None).checkpoint_note())

    def run(mode: str, cols: bool, workers: int) -> float:
        t = time.perf_counter()
        rep = verify_database(r, anchors, columns=cols, workers=workers, signatures=mode)
        dt = time.perf_counter() - t
        rate = a.n / dt
        label = f"verify {mode:8s} {'+columns' if cols else '        '} w={workers}"
        target = f"target >= 50,000  {'OK' if rate >= 50_000 else 'MISS'}" if not cols else ""
        print(f"{label}  {rate:10,.0f} rec/s  {dt:6.2f} s  sigs {rep.signatures_checked:>7,}  "
              f"x raw Ed25519 {rate / raw:6.2f}  ok={rep.ok}  {target}")
        return dt

    w = a.workers
    anch = run("anchored", False, w)
    anch_cols = run("anchored", True, w)
    run("all", False, w)
    run("all", True, w)
    col_rate = a.n / max(anch_cols - anch, 1e-9)
    print(f"column check (full decode + compare, w={w}) ~{col_rate:10,.0f} rec/s "
          "(anchored+columns minus anchored)")

    t = time.perf_counter()
    export(r, None, None, tmp / "bundle")
    exp = time.perf_counter() - t
    size = sum(f.stat().st_size for f in (tmp / "bundle").iterdir())
    print(f"bundle n={a.n:,} export {exp:6.2f} s  size {size / 1e6:.1f} MB")
    for mode in ("anchored", "all"):
        t = time.perf_counter()
        rep = verify_bundle(tmp / "bundle", anchors=anchors, workers=w, signatures=mode)
        vb = time.perf_counter() - t
        rate = a.n / vb
        target = f"target >= 50,000  {'OK' if rate >= 50_000 else 'MISS'}" if mode == "anchored" else ""
        print(f"bundle verify {mode:8s} w={w}  {rate:10,.0f} rec/s  {vb:6.2f} s  "
              f"sigs {rep.signatures_checked:>7,}  raw Ed25519 floor for all {a.n / raw:6.2f} s  "
              f"ok={rep.ok}  {target}")


if __name__ == "__main__":
    main()
