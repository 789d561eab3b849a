"""`make bench`: every benchmark in one go, each printing its figures next to a baseline from the same run.

Ratios matter more than absolute numbers: this is a 2-core machine shared with
whatever else runs. Each script can be run on its own with more options.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BENCHES = [
    ("classifier vs vanilla Presidio (dev set)", ["classify_bench.py"]),
    ("ledger append / verify / bundle", ["ledger_bench.py", "--n", "100000", "--workers", "2"]),
    ("report over 1,000,000 records", ["report_bench.py", "--records", "1000000"]),
    ("proxy overhead vs direct (observe, enforce with the real worker)",
     ["proxy_bench.py", "--requests", "1000", "--warmup", "200"]),
    ("MLflow ingest", ["ingest_bench.py"]),
    ("SDK publisher: one by one vs bulk", ["sdk_bench.py", "--rounds", "2"]),
    ("ledger service + broker at 2,000 decisions/s: gathered appends vs one per fetch",
     ["sink_bench.py", "--rounds", "1", "--compare", "batch_linger_ms=0"]),
    ("pipeline end to end: SDK → broker → workers → signed ledger",
     ["pipeline_bench.py", "--workers", "1,2"]),
    ("held (enforce) waits, idle and behind an observe backlog", ["held_bench.py"]),
]


def main() -> int:
    only = set(sys.argv[1:])
    failed = []
    for title, argv in BENCHES:
        if only and argv[0].split("_")[0] not in only:
            continue
        print(f"\n=== {title}  (load average {os.getloadavg()[0]:.1f})", flush=True)
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, str(HERE / argv[0]), *argv[1:]])
        print(f"--- {argv[0]} took {time.monotonic() - t0:.0f}s", flush=True)
        if r.returncode != 0:
            failed.append(argv[0])
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
