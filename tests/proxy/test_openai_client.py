"""The official openai client against the proxy (plain and streaming)."""

from __future__ import annotations

import openai


async def test_openai_client_plain_and_stream(broker, topic_prefix, fresh_fake, tmp_path, kit):
    s = kit.make_settings(topic_prefix, broker.bootstrap, fresh_fake.base_url, tmp_path)
    async with kit.running_proxy(s) as (url, app):
        oc = openai.AsyncOpenAI(base_url=f"{url}/r/obs/v1", api_key="analyst", max_retries=0)
        r = await oc.chat.completions.create(model="m-obs", messages=[{"role": "user", "content": "ping"}])
        assert r.choices[0].message.content == "echo: ping" and r.usage.total_tokens > 0
        stream = await oc.chat.completions.create(model="m-obs", stream=True,
                                                  messages=[{"role": "user", "content": "streamed ping"}])
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert text == "echo: streamed ping"
        models = await oc.models.list()
        assert [m.id for m in models.data] == ["m-obs"]
        try:
            await openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="intern", max_retries=0).chat.completions.create(
                model="m-obs", messages=[{"role": "user", "content": "x"}])
        except openai.PermissionDeniedError as exc:
            assert "role" in str(exc)
        else:
            raise AssertionError("intern must be refused")
        await oc.close()
