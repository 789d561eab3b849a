"""Which Kafka client versions talk to the embedded broker (Tansu): produce one record, read it back.

Usage (each DIR holds one confluent-kafka wheel, e.g. ``pip install --no-deps --target
/tmp/ck-2.2.0 confluent-kafka==2.2.0``)::

    .venv/bin/python tools/client_matrix.py DIR [DIR ...]

Also tries ``kcat`` when it is on PATH. Prints one line per client: the librdkafka
version and whether the record came back. The README's minimum version comes from
this script's output.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from aiokafka.admin import NewTopic

from ledgergate.broker import EmbeddedBroker, ensure_topics, free_port

PROBE = '''
import sys, time
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition, libversion
bootstrap, topic = sys.argv[1], sys.argv[2]
delivered = []
p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": False, "acks": "all"})
p.produce(topic, key=b"k", value=b"hello", on_delivery=lambda err, msg: delivered.append(err))
p.flush(20)
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "matrix", "auto.offset.reset": "earliest"})
c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
got, deadline = None, time.time() + 30
while got is None and time.time() < deadline:
    m = c.poll(1.0)
    if m is not None and not m.error():
        got = m.value()
c.close()
ok = delivered == [None] and got == b"hello"
print(f"librdkafka {libversion()[0]}: {'OK' if ok else 'FAILED'} (delivered={delivered}, read={got!r})")
'''


def _confluent(site: str, bootstrap: str, topic: str, probe: Path) -> str:
    r = subprocess.run([sys.executable, str(probe), bootstrap, topic], env={"PYTHONPATH": site},
                       capture_output=True, text=True, timeout=120)
    return (r.stdout.strip() or r.stderr.strip().splitlines()[-1])[-200:]


def _kcat(bootstrap: str, topic: str) -> str:
    version = subprocess.run(["kcat", "-V"], capture_output=True, text=True).stdout
    found = re.search(r"librdkafka ([0-9.]+)", version)
    lib = found.group(1) if found else "?"
    r = subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", topic, "-k", "k"], input="hello\n",
                       capture_output=True, text=True, timeout=60)
    why = r.stderr.strip().splitlines()[0][:160] if r.returncode else ""
    return f"kcat (librdkafka {lib}): {'OK' if r.returncode == 0 else 'FAILED: ' + why}"


def main(sites: list[str]) -> None:
    broker = EmbeddedBroker(port=free_port())
    broker.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:  # the probe must not sit beside a client build
            probe = Path(tmp) / "probe.py"
            probe.write_text(PROBE)
            for i, site in enumerate(sites):
                topic = f"matrix{i}"
                asyncio.run(ensure_topics(broker.bootstrap, [NewTopic(topic, 1, 1)]))
                print(f"{site}: {_confluent(site, broker.bootstrap, topic, probe)}", flush=True)
        if shutil.which("kcat"):
            asyncio.run(ensure_topics(broker.bootstrap, [NewTopic("matrix-kcat", 1, 1)]))
            print(_kcat(broker.bootstrap, "matrix-kcat"))
    finally:
        broker.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
