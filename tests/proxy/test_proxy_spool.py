"""Broker outage: events spool to disk and replay in order when the broker returns, across restarts."""

from __future__ import annotations

import asyncio

from ledgergate.broker import EmbeddedBroker, ensure_topics, free_port, topic_specs
from ledgergate.config import Topics
from ledgergate.proxy.spool import Record, Spool


def chat(text: str):
    return {"model": "m-obs", "messages": [{"role": "user", "content": text}]}


async def _wait(pred, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_outage_spool_and_replay_across_restart(fresh_fake, tmp_path, kit, client):
    b = EmbeddedBroker(port=free_port(), log_file=tmp_path / "b2.log")
    topics = Topics.for_prefix("out")
    b.start()
    try:
        await ensure_topics(b.bootstrap, topic_specs(topics, 1))
        s = kit.make_settings("out", b.bootstrap, fresh_fake.base_url, tmp_path / "spool")
        async with kit.running_proxy(s, instance_id="same") as (url, app):
            r = await client.post(f"{url}/v1/chat/completions", json=chat("before"), headers=kit.H())
            assert r.status_code == 200
            await _wait(lambda: app.publisher.sent >= 2)
            b.stop()
            for i in range(5):
                r = await client.post(f"{url}/v1/chat/completions", json=chat(f"during {i}"), headers=kit.H())
                assert r.status_code == 200  # observe keeps forwarding during the outage
            await _wait(lambda: app.publisher.spool.pending >= 10)
        # the proxy stopped with the broker still down: the events are on disk
        assert (tmp_path / "spool" / "same").exists()
        b.start()
        await ensure_topics(b.bootstrap, topic_specs(topics, 1))
        async with kit.running_proxy(s, instance_id="same") as (url, app):
            await _wait(lambda: app.publisher.spool.pending == 0 and app.publisher.healthy, 30)
            assert app.publisher.replayed >= 10
        reqs = await kit.read_topic(b.bootstrap, topics.requests, "RequestEvent", 5)
        texts = [e["parts"][0]["text"] for e in reqs]
        assert [t for t in texts if t.startswith("during")] == [f"during {i}" for i in range(5)]
        resps = await kit.read_topic(b.bootstrap, topics.responses, "ResponseEvent", 5)
        assert len({e["request_id"] for e in resps}) >= 5
    finally:
        b.stop()


async def test_spool_roundtrip_torn_tail_and_cursor(tmp_path):
    sp = Spool(tmp_path)
    assert await sp.open() == 0
    await sp.append([Record("t", b"k1", b"v1"), Record("t", b"k2", b"v2")])
    await sp.append([Record("u", b"k3", b"v3")])
    recs, cur = await sp.read(2)
    assert [r.key for r in recs] == [b"k1", b"k2"]
    await sp.commit(cur, 2)
    await sp.close()
    seg = sorted(tmp_path.glob("seg-*.log"))[-1]
    with open(seg, "ab") as fh:
        fh.write(b"\x00\x00\x00\x20garbage")  # a torn write
    sp2 = Spool(tmp_path)
    assert await sp2.open() == 1  # only k3 left, torn tail cut off
    recs, cur = await sp2.read()
    assert recs == [Record("u", b"k3", b"v3")]
    await sp2.commit(cur, 1)
    assert sp2.pending == 0
    await sp2.append([Record("t", b"k4", b"v4")])
    recs, _ = await sp2.read()
    assert [r.key for r in recs] == [b"k4"]
    await sp2.close()
