"""One error line per endpoint failure, the same from every path: over real HTTP, against the scripted server.

Each fault (401, 429, 500, a timeout, a refused connection, a body that is not JSON) is met by a chat
completion (``ChatClient.complete``), a streamed one, the embeddings endpoint (``EndpointEmbedding``),
the agent loop (``Dalil.ask`` with ``llm.tools = "on"``, in process and through ``dalil ask``) and
the eval judge. All of them go through ``agent.endpoint``, so once the endpoint's name is set aside
("LLM endpoint" / "embeddings endpoint") the lines are identical, one line each, and none holds the
API key or the password of the URL, though the server's error message quotes both.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.config import Settings, load_settings
from agent.endpoint import EndpointError
from agent.errors import DalilError
from tests.conftest import run_cli
from tests.scripted_openai import Reply, ScriptedOpenAI

KEY = "sk-endpoint-errors-5f3a9c1e7b2d4068"
PASSWORD = "pw-userinfo-8e6c4a2f0d1b"
QUERY_KEY = "sk-query-param-1a2b3c4d5e6f"
QUESTION = "ماذا ناقش لافروف وكيري في المحادثة الهاتفية يوم السبت؟"
TIMEOUT = 0.3
LEAKS = (KEY, PASSWORD, QUERY_KEY)


@dataclass(frozen=True)
class Fault:
    reply: Reply | None  # None: nothing listens (connection refused)
    line: str  # the expected line, ENDPOINT and KEYVAR standing for the endpoint's name and key variables, PORT for the port
    streamed: str | None = None  # the line of a streamed completion, when its reason differs


# the server's own error text quotes the key and the URL's password: none of it may reach a message
ECHO = f"Incorrect API key provided: {KEY} for http://admin:{PASSWORD}@127.0.0.1/v1"
FAULTS = {
    "401": Fault(Reply(status=401, content=ECHO), "the ENDPOINT rejected the API key (HTTP 401): check KEYVAR"),
    "429": Fault(Reply(status=429, content=ECHO, headers={"Retry-After": "0"}),
                 "the ENDPOINT is rate-limiting requests (HTTP 429) after 1 attempt(s); try again later"),
    "500": Fault(Reply(status=500, content=ECHO), "the ENDPOINT failed with HTTP 500 after 1 attempt(s)"),
    "timeout": Fault(Reply(delay=3.0), f"the ENDPOINT at http://****@127.0.0.1:PORT/v1 did not answer within {TIMEOUT:g}s "
                                       "(after 1 attempt(s))"),
    "refused": Fault(None, "cannot connect to the ENDPOINT at http://****@127.0.0.1:PORT/v1?api-key=**** (after 1 attempt(s)): "
                           "is the server running?"),
    # streamed, the same body is not an event stream: the SDK finds no event in it
    "malformed": Fault(Reply(raw_body='{"choices": [{"message": '), "the ENDPOINT returned a malformed response (JSONDecodeError)",
                       "the ENDPOINT returned a malformed response (no stream events)"),
}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=sorted(FAULTS))
def fault(request: pytest.FixtureRequest, seeded_store: Path) -> Iterator[tuple[Fault, Settings]]:
    """A fault, and settings whose LLM and embeddings endpoints both meet it."""
    spec = FAULTS[request.param]
    if spec.reply is None:
        url = f"http://admin:{PASSWORD}@127.0.0.1:{closed_port()}/v1?api-key={QUERY_KEY}"
        yield spec, _settings(url, seeded_store)
        return
    with ScriptedOpenAI(default=spec.reply, embeddings_reply=spec.reply) as server:
        yield spec, _settings(f"http://admin:{PASSWORD}@127.0.0.1:{server.port}/v1", seeded_store)


def _settings(url: str, store: Path) -> Settings:
    endpoint = {"base_url": url, "model": "scripted-model", "api_key": KEY, "max_retries": 0, "timeout": TIMEOUT}
    return load_settings(None, {"store": {"path": store}, "llm": {**endpoint, "tools": "on", "rewrite_queries": False},
                                "embeddings": {**endpoint, "provider": "openai"}})


def shape(message: str) -> str:
    """A line with the endpoint's name, its key variables and the port set aside."""
    message = re.sub(r"\b(LLM|embeddings) endpoint\b", "ENDPOINT", message)
    message = re.sub(r"DALIL_(LLM|EMBEDDINGS)_API_KEY / OPENAI_API_KEY", "KEYVAR", message)
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", message)


def failure(call: Callable[[], Any]) -> DalilError:
    with pytest.raises(DalilError) as info:
        call()
    return info.value


def assert_clean(message: str) -> None:
    assert "\n" not in message and message.strip() == message, repr(message)
    assert not any(secret in message for secret in LEAKS), message


def chat(settings: Settings) -> DalilError:
    from agent.answer.llm import ChatClient

    return failure(lambda: ChatClient(settings.llm).complete([{"role": "user", "content": "hello"}]))


def stream(settings: Settings) -> DalilError:
    from agent.answer.llm import ChatClient

    return failure(lambda: ChatClient(settings.llm).stream([{"role": "user", "content": "hello"}], lambda text: None))


def embeddings(settings: Settings) -> DalilError:
    from agent.index.embeddings import EndpointEmbedding

    return failure(lambda: EndpointEmbedding(settings.embeddings).get_text_embedding("hello"))


def agent_loop(settings: Settings) -> DalilError:
    from agent.pipeline import Dalil

    return failure(lambda: Dalil(settings).ask(QUESTION, mode="llm"))


PATHS = {"chat completion": chat, "streamed completion": stream, "embeddings": embeddings, "agent loop": agent_loop}


def test_every_path_gives_the_same_one_line_message(fault: tuple[Fault, Settings]) -> None:
    spec, settings = fault
    lines = {}
    for name, path in PATHS.items():
        error = path(settings)
        assert isinstance(error, EndpointError), f"{name}: {type(error).__name__}: {error}"
        assert_clean(str(error))
        lines[name] = shape(str(error))
    expected = {name: spec.line for name in PATHS} | ({"streamed completion": spec.streamed} if spec.streamed else {})
    assert lines == expected
    assert "embeddings endpoint" in str(embeddings(settings)) and "LLM endpoint" in str(chat(settings))


def test_the_agent_loop_line_on_the_command_line(fault: tuple[Fault, Settings], monkeypatch: pytest.MonkeyPatch) -> None:
    spec, settings = fault
    for name, value in {"DALIL_LLM_BASE_URL": settings.llm.base_url, "DALIL_LLM_MODEL": "scripted-model",
                        "DALIL_LLM_API_KEY": KEY, "DALIL_LLM_MAX_RETRIES": "0", "DALIL_LLM_TIMEOUT": str(TIMEOUT),
                        "DALIL_LLM_TOOLS": "on", "DALIL_STORE": str(settings.store.path), "DALIL_SERVER_USE": "false"}.items():
        monkeypatch.setenv(name, str(value))
    code, out, err = run_cli("ask", QUESTION)
    assert code == 1 and err.count("\n") == 1, err
    assert shape(err.strip()) == f"dalil: error: {spec.line}"
    assert not any(secret in out + err for secret in LEAKS)


def test_the_judge_records_or_stops_with_the_same_line(fault: tuple[Fault, Settings]) -> None:
    """The judge goes on after a timeout, rate limiting, a server error or a malformed reply (recorded on
    the item), and stops the run on a refused key or no server; either way with the endpoint's line."""
    from agent.evals.judge import Judge, _RecoverableError

    spec, settings = fault
    with pytest.raises((_RecoverableError, DalilError)) as info:
        Judge(settings.llm).complete("Label the claims.")
    message = str(info.value)
    assert_clean(message)
    stops = spec.line.startswith(("the ENDPOINT rejected", "cannot connect"))
    assert isinstance(info.value, DalilError) is stops
    prefix = {True: ("judge endpoint refused the request: ", "judge endpoint unreachable: "), False: ("judge request failed: ",)}[stops]
    assert message.startswith(prefix) and shape(message.split(": ", 1)[1]) == spec.line


def test_refusing_tools_is_told_apart_from_a_server_error() -> None:
    """A 4xx to a request with tools is a refusal of tools (the agent loop falls back to one pass under
    ``llm.tools = "auto"``); a 5xx is one only when it says so (llama.cpp without --jinja), else it is the
    endpoint's own failure line."""
    from agent.answer.llm import ChatClient, ToolsRejected

    spec = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}]
    cases = [
        (Reply(status=400, content="this model does not support tools"), ToolsRejected,
         "the LLM endpoint refused a request with tools (HTTP 400 about tools)"),
        (Reply(status=500, content="tools param requires --jinja flag"), ToolsRejected,
         "the LLM endpoint refused a request with tools (HTTP 500 about tools)"),
        (Reply(status=500, content="out of memory"), EndpointError, "the LLM endpoint failed with HTTP 500 after 1 attempt(s)"),
        (Reply(status=401, content="bad key"), EndpointError,
         "the LLM endpoint rejected the API key (HTTP 401): check DALIL_LLM_API_KEY / OPENAI_API_KEY"),
    ]
    for reply, kind, line in cases:
        with ScriptedOpenAI(default=reply) as server:
            settings = load_settings(None, {"llm": {"base_url": server.base_url, "model": "m", "max_retries": 0}})
            with pytest.raises(kind) as info:
                ChatClient(settings.llm).complete_with_tools([{"role": "user", "content": "hi"}], spec)
            assert str(info.value) == line


def test_a_short_embeddings_reply_is_malformed() -> None:
    from agent.index.embeddings import EndpointEmbedding

    reply = Reply(raw_body='{"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}], "model": "e"}')
    with ScriptedOpenAI(embeddings_reply=reply) as server:
        settings = load_settings(None, {"embeddings": {"provider": "openai", "base_url": server.base_url, "model": "e"}})
        with pytest.raises(EndpointError, match=r"^the embeddings endpoint returned a malformed response "
                                                r"\(1 vector\(s\) for 2 text\(s\)\)$"):
            EndpointEmbedding(settings.embeddings).get_text_embedding_batch(["one", "two"])
