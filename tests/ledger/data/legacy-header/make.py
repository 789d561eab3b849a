import shutil
import sys
from pathlib import Path

sys.path.insert(0, "tests/ledger")
from ledgergate.ledger import keys as lkeys
from ledgergate.ledger.bundle import export
from ledgergate.ledger.store import LedgerReader, LedgerWriter, connect

from ledger_testkit import T0, make_entry

out = Path(sys.argv[1]); shutil.rmtree(out, ignore_errors=True); out.mkdir(parents=True)
kd = out / "keys"; lkeys.generate(kd)
con = connect(str(out / "ledger.duckdb"))
w = LedgerWriter(con, lkeys.load_dir(kd), ledger_id="demo", checkpoint_every=4, checkpoint_interval_s=3600)
for start in range(0, 12, 4):
    w.append_batch([make_entry(i) for i in range(start, start+4)], {("lg.decisions", 0): start+4}, now=T0+start)
w.checkpoint(T0+12)
r = LedgerReader(con)
print(export(r, 0, 2**62, out / "bundle"))
con.close()
