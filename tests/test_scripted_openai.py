"""Tests for the scripted OpenAI-compatible server, driven by the real openai client."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.scripted_openai import Reply, ScriptedOpenAI, embed

SCRIPT = Path(__file__).with_name("scripted_openai.py")
MESSAGES = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "what is the capital of France"},
]


@pytest.fixture
def server() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI() as srv:
        yield srv


@pytest.fixture
def client(server: ScriptedOpenAI) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=server.base_url, api_key="test-key", max_retries=0
    ) as cli:
        yield cli


def chat(client: openai.OpenAI, **kwargs: object) -> object:
    return client.chat.completions.create(
        model="scripted-model", messages=MESSAGES, **kwargs
    )


def test_non_streaming_content_and_default_usage(
    server: ScriptedOpenAI, client: openai.OpenAI
) -> None:
    server.enqueue("Paris is the capital")
    result = chat(client)
    assert result.object == "chat.completion"
    assert result.choices[0].message.role == "assistant"
    assert result.choices[0].message.content == "Paris is the capital"
    assert result.choices[0].finish_reason == "stop"
    assert result.usage.prompt_tokens == 8
    assert result.usage.completion_tokens == 4
    assert result.usage.total_tokens == 12


def test_explicit_usage_and_finish_reason(
    server: ScriptedOpenAI, client: openai.OpenAI
) -> None:
    server.enqueue(
        Reply("cut", finish_reason="length", prompt_tokens=100, completion_tokens=7)
    )
    result = chat(client)
    assert result.choices[0].finish_reason == "length"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (100, 7)
    assert result.usage.total_tokens == 107


def test_streaming_reassembles_content(
    server: ScriptedOpenAI, client: openai.OpenAI
) -> None:
    text = "The quick brown fox jumps over the lazy dog."
    server.enqueue(Reply(text, chunk_size=5, chunk_delay=0.005))
    chunks = list(chat(client, stream=True))
    deltas = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert "".join(deltas) == text
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len([d for d in deltas if d]) == math.ceil(len(text) / 5)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)


def test_streaming_include_usage(server: ScriptedOpenAI, client: openai.OpenAI) -> None:
    server.enqueue(Reply("one two three", prompt_tokens=11))
    chunks = list(chat(client, stream=True, stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.choices == []
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (11, 3)
    assert all(c.usage is None for c in chunks[:-1])


def test_connection_reused_after_stream(
    server: ScriptedOpenAI, client: openai.OpenAI
) -> None:
    server.enqueue("first", "second", "third")
    assert (
        "".join(c.choices[0].delta.content or "" for c in chat(client, stream=True))
        == "first"
    )
    assert chat(client).choices[0].message.content == "second"
    assert chat(client).choices[0].message.content == "third"


def test_rate_limit_with_retry_after(
    server: ScriptedOpenAI, client: openai.OpenAI
) -> None:
    server.enqueue(Reply(status=429, headers={"Retry-After": "1"}), Reply(status=429))
    response = httpx.post(
        f"{server.base_url}/chat/completions", json={"model": "m", "messages": MESSAGES}
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["type"] == "rate_limit_error"
    with pytest.raises(openai.RateLimitError):
        chat(client)


def test_server_error_status(server: ScriptedOpenAI, client: openai.OpenAI) -> None:
    server.enqueue(Reply("boom", status=500))
    with pytest.raises(openai.InternalServerError) as info:
        chat(client)
    assert info.value.status_code == 500
    assert "boom" in str(info.value)


def test_no_scripted_reply_is_500(server: ScriptedOpenAI) -> None:
    response = httpx.post(
        f"{server.base_url}/chat/completions", json={"messages": MESSAGES}
    )
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "message": "no scripted reply",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }


def test_default_reply_used_when_queue_empty() -> None:
    with (
        ScriptedOpenAI(replies=["queued"], default=Reply("fallback")) as srv,
        openai.OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as cli,
    ):
        contents = [chat(cli).choices[0].message.content for _ in range(3)]
    assert contents == ["queued", "fallback", "fallback"]


def test_delay_longer_than_timeout(
    server: ScriptedOpenAI, client: openai.OpenAI
) -> None:
    server.enqueue(Reply("late", delay=2.0), "on time")
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        chat(client, timeout=0.2)
    assert time.monotonic() - started < 1.5
    assert chat(client).choices[0].message.content == "on time"


def test_stop_does_not_hang_on_delayed_request() -> None:
    srv = ScriptedOpenAI(replies=[Reply("late", delay=30.0)]).start()
    with (
        openai.OpenAI(
            base_url=srv.base_url, api_key="k", max_retries=0, timeout=0.2
        ) as cli,
        pytest.raises(openai.APITimeoutError),
    ):
        chat(cli)
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 2.0


def test_raw_malformed_body(server: ScriptedOpenAI, client: openai.OpenAI) -> None:
    server.enqueue(Reply(raw_body="{not json"))
    with pytest.raises(ValueError):
        chat(client)
    server.enqueue(
        Reply(raw_body="oops", status=502, headers={"Content-Type": "text/plain"})
    )
    response = httpx.post(
        f"{server.base_url}/chat/completions", json={"messages": MESSAGES}
    )
    assert (response.status_code, response.text) == (502, "oops")
    assert response.headers["content-type"] == "text/plain"


def test_match_based_selection(server: ScriptedOpenAI, client: openai.OpenAI) -> None:
    server.enqueue(Reply("about Spain", match="Spain"), "generic")
    assert chat(client).choices[0].message.content == "generic"
    spain = [
        {"role": "user", "content": [{"type": "text", "text": "capital of Spain?"}]}
    ]
    result = client.chat.completions.create(model="m", messages=spain)
    assert result.choices[0].message.content == "about Spain"
    assert server.pending == []


def test_embeddings_shape_and_determinism(
    server: ScriptedOpenAI, client: openai.OpenAI
) -> None:
    first = client.embeddings.create(model="emb", input=["alpha", "beta"])
    again = client.embeddings.create(model="emb", input="alpha")
    assert [d.index for d in first.data] == [0, 1]
    assert all(d.object == "embedding" and len(d.embedding) == 16 for d in first.data)
    assert again.data[0].embedding == first.data[0].embedding
    assert first.data[0].embedding != first.data[1].embedding
    assert sum(x * x for x in first.data[1].embedding) == pytest.approx(1.0, abs=1e-5)
    assert first.data[0].embedding == pytest.approx(embed("alpha", 16), abs=1e-6)
    assert first.usage.prompt_tokens == 2


def test_embeddings_dimensions_and_base64(
    server: ScriptedOpenAI, client: openai.OpenAI
) -> None:
    encoded = client.embeddings.create(
        model="e", input="x", dimensions=8, encoding_format="base64"
    )
    assert isinstance(encoded.data[0].embedding, str)
    floats = client.embeddings.create(
        model="e", input="x", dimensions=8, encoding_format="float"
    )
    assert floats.data[0].embedding == embed("x", 8)
    assert server.requests[-1]["json"]["encoding_format"] == "float"


def test_models(server: ScriptedOpenAI, client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["scripted-model"]
    assert client.models.retrieve("scripted-model").id == "scripted-model"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("other-model")


def test_requests_recorded(server: ScriptedOpenAI, client: openai.OpenAI) -> None:
    server.enqueue("ok")
    chat(client, temperature=0.5)
    client.embeddings.create(model="emb", input="hello")
    chat_request, embedding_request = server.requests
    assert chat_request["method"] == "POST"
    assert chat_request["path"] == "/v1/chat/completions"
    assert chat_request["headers"]["authorization"] == "Bearer test-key"
    assert chat_request["json"]["messages"] == MESSAGES
    assert chat_request["json"]["temperature"] == 0.5
    assert embedding_request["path"] == "/v1/embeddings"
    assert server.chat_requests == [chat_request["json"]]


def test_cli_mode(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            {
                "replies": [{"content": "from cli", "match": "France"}, "plain"],
                "default": {"content": "fallback"},
                "embedding_dim": 4,
            }
        )
    )
    command = [sys.executable, str(SCRIPT), "--port", "0", "--script", str(script)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line.startswith("READY http://127.0.0.1:")
            base_url = line.split(" ", 1)[1]
            with openai.OpenAI(
                base_url=base_url, api_key="k", max_retries=0, timeout=5
            ) as cli:
                assert chat(cli).choices[0].message.content == "from cli"
                assert chat(cli).choices[0].message.content == "plain"
                assert chat(cli).choices[0].message.content == "fallback"
                embedding = cli.embeddings.create(model="e", input="x").data[0]
                assert len(embedding.embedding) == 4
        finally:
            proc.terminate()
            assert proc.wait(timeout=5) == 0


def test_async_client_streaming(server: ScriptedOpenAI) -> None:
    server.enqueue(Reply("async works fine", chunk_size=3))

    async def collect() -> str:
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key="k", max_retries=0
        ) as cli:
            stream = await cli.chat.completions.create(
                model="m", messages=MESSAGES, stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream])

    assert asyncio.run(collect()) == "async works fine"


def test_tool_calls_non_streamed_and_streamed(server: ScriptedOpenAI, client: openai.OpenAI) -> None:
    calls = [{"id": "c1", "type": "function", "function": {"name": "search", "arguments": {"query": "حلب", "k": 3}}},
             {"function": {"name": "events", "arguments": "{not json"}}]
    server.enqueue(Reply(tool_calls=calls), Reply(tool_calls=calls, chunk_size=4))
    result = chat(client, tools=[{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}])
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    got = [(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls]
    assert got == [("c1", "search", '{"query": "حلب", "k": 3}'), ("call_1", "events", "{not json")]
    assert server.chat_requests[0]["tools"][0]["function"]["name"] == "search"

    merged: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in chat(client, stream=True):
        for delta in chunk.choices[0].delta.tool_calls or []:
            entry = merged.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += delta.id or ""
            entry["name"] += (delta.function.name or "") if delta.function else ""
            entry["arguments"] += (delta.function.arguments or "") if delta.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert [(e["id"], e["name"], e["arguments"]) for e in merged.values()] == got


def test_an_endpoint_without_tool_calling_rejects_tools_with_400(client: openai.OpenAI) -> None:
    with ScriptedOpenAI(replies=["plain"], tool_calling=False) as srv, openai.OpenAI(
            base_url=srv.base_url, api_key="k", max_retries=0) as cli:
        with pytest.raises(openai.BadRequestError, match="does not support tools"):
            cli.chat.completions.create(model="m", messages=MESSAGES, tools=[
                {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}])
        assert cli.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content == "plain"
