"""Ledger throughput, each number next to a same-run baseline.

    .venv/bin/python bench/ledger_bench.py [--n 100000] [--batch 500] [--workers N]

append   : sign + tree + DuckDB insert per record, vs a plain unsigned insert of the same rows
verify   : full verify (every signature, chain, tree, checkpoints, columns), vs a raw Ed25519 verify loop
bundle   : export + verify_bundle of all records (targets: append >= 5k/s, verify >= 50k/s,
           bundle verify of 100k < 10 s)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ledger"))

from ledger_testkit import LEDGER_ID, T0, make_entry  # noqa: E402
from ledgergate.ledger import keys as lkeys  # noqa: E402
from ledgergate.ledger.bundle import export, verify_bundle  # noqa: E402
from ledgergate.ledger.sign import complete_record, derive_columns, encode_record  # noqa: E402
from ledgergate.ledger.store import (LedgerReader, LedgerWriter, _column_arrays,  # noqa: E402
                                     _INSERT_RECORDS, connect)
from ledgergate.ledger.verify import default_workers, verify  # noqa: E402


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
    for workers in sorted({1, a.workers}):
        t = time.perf_counter()
        rep = verify(r.iter_signed(), r.leaves(), r.checkpoints(), kr, r.pruned_ranges(),
                     r.iter_columns(), ledger_id=LEDGER_ID, workers=workers)
        ver = a.n / (time.perf_counter() - t)
        print(f"verify w={workers}    {ver:10,.0f} rec/s   raw Ed25519  {raw:10,.0f} /s      "
              f"ratio {ver / raw:.2f}   ok={rep.ok}   target >= 50,000  "
              f"{'OK' if ver >= 50_000 else 'MISS'}")

    t = time.perf_counter()
    export(r, 0, 1 << 62, tmp / "bundle")
    exp = time.perf_counter() - t
    t = time.perf_counter()
    rep = verify_bundle(tmp / "bundle", keyring=kr.public_only(), workers=a.workers)
    vb = time.perf_counter() - t
    size = sum(f.stat().st_size for f in (tmp / "bundle").iterdir())
    print(f"bundle n={a.n:,}  export {exp:6.2f} s   verify {vb:6.2f} s (w={a.workers})   "
          f"raw Ed25519 floor {a.n / raw:6.2f} s   ok={rep.ok}   size {size / 1e6:.1f} MB   "
          f"target < 10 s  {'OK' if vb < 10 else 'MISS'}")


if __name__ == "__main__":
    main()
