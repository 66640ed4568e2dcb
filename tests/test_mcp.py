"""`dalil mcp` (stdio) and `/mcp` on `dalil serve --http` (streamable HTTP), spoken to by the official MCP client.

The stdio server is a real `python -m agent mcp --store S` process: one session lists the tools and calls
each of them, and the tests below check what came back against the store and against `dalil ask --json`.
Over HTTP, a server with a token: the tools answer with it, and without it (or with another) /mcp is
refused like every other route.
"""

from __future__ import annotations

import http.client
import json
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from agent.schema import Answer, SearchResult
from tests.conftest import run_cli
from tests.test_http_server import TOKEN, _env, start

pytestmark = pytest.mark.slow

WHO = "Who initiated the call on 5 October?"
OIL = "ما هو سعر النفط؟"  # no article answers it
TOOLS = {"search", "ask", "timeline", "read_article"}
# each call of the stdio session: (name, tool, arguments); an argument "<doc_id>" is the first citation's of "who"
CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("who", "ask", {"question": WHO}),
    ("oil", "ask", {"question": OIL}),
    ("search", "search", {"query": "لافروف كيري حلب", "k": 3}),
    ("article", "read_article", {"doc_id": "<doc_id>"}),
    ("unknown", "read_article", {"doc_id": "no-such-article"}),
    ("timeline", "timeline", {"date_from": "2016-09-01"}),
    ("outlet", "search", {"query": "لافروف", "outlet": "no such outlet"}),
    ("backwards", "timeline", {"date_from": "2016-10-10", "date_to": "2016-10-01"}),
    ("bad_k", "ask", {"question": WHO, "k": 0}),
    ("again", "search", {"query": "Kerry Lavrov", "k": 1}),  # the server still answers after the errors
]


def text_of(result: CallToolResult) -> str:
    assert len(result.content) == 1 and result.content[0].type == "text"
    return result.content[0].text


def error_of(result: CallToolResult) -> str:
    """A tool error's message: one line, no stack trace."""
    assert result.is_error and result.structured_content is None
    message = text_of(result)
    assert "\n" not in message and "Traceback" not in message
    return message


def without_timings(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "steps": [{**s, "seconds": 0} for s in data.get("steps", [])]}


async def stdio_session(store: Path, work: Path) -> dict[str, Any]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "agent", "mcp", "--store", str(store)],
                                   env=_env(work / "home"), cwd=work)
    results: dict[str, Any] = {}
    with open(work / "mcp.stderr", "w", encoding="utf-8") as errlog, anyio.fail_after(300):
        async with Client(stdio_client(params, errlog=errlog)) as client:
            results["tools"] = (await client.list_tools()).tools
            for name, tool, arguments in CALLS:
                if arguments.get("doc_id") == "<doc_id>":
                    arguments = {"doc_id": results["who"].structured_content["citations"][0]["doc_id"]}
                results[name] = await client.call_tool(tool, arguments)
    results["stderr"] = (work / "mcp.stderr").read_text(encoding="utf-8")
    return results


@pytest.fixture(scope="module")
def stdio_store(seeded_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("mcp-stdio")
    shutil.copytree(seeded_store, work / "store")
    return work / "store"


@pytest.fixture(scope="module")
def session(stdio_store: Path) -> dict[str, Any]:
    """One `dalil mcp` process, every call of CALLS made in one session (the process exits when it ends)."""
    return anyio.run(stdio_session, stdio_store, stdio_store.parent)


def test_the_four_tools_with_their_json_contracts(session: dict[str, Any]) -> None:
    tools = {t.name: t for t in session["tools"]}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and tool.output_schema and tool.annotations and tool.annotations.read_only_hint
    assert set(Answer.model_fields) == set(tools["ask"].output_schema["properties"])
    assert set(SearchResult.model_fields) == set(tools["search"].output_schema["properties"])
    assert {"doc_id", "text", "file", "published", "outlet", "title"} <= set(tools["read_article"].output_schema["properties"])
    assert tools["ask"].input_schema["required"] == ["question"]
    assert tools["read_article"].input_schema["required"] == ["doc_id"]


def test_ask_cites_the_article_that_names_the_initiator(session: dict[str, Any], stdio_store: Path) -> None:
    result = session["who"]
    assert not result.is_error
    answer = Answer.model_validate(result.structured_content)
    assert answer.mode == "extractive" and not answer.abstained
    assert answer.citations and answer.citations[0].file.startswith("000_")
    assert "initiated" in (answer.lead or "") and "Kerry" in (answer.lead or "")
    text = text_of(result)
    assert text.startswith("mode: extractive") and "[1]" in text and answer.citations[0].file in text
    assert f"{answer.citations[0].file} = {answer.citations[0].doc_id}" in text  # what read_article takes
    # the JSON document of `dalil ask --json`, from the same function
    code, stdout, _ = run_cli("ask", WHO, "--json", "--store", str(stdio_store))
    assert code == 0
    assert without_timings(result.structured_content) == without_timings(json.loads(stdout))


def test_an_unanswerable_question_abstains_with_the_nearest_passages(session: dict[str, Any]) -> None:
    answer = Answer.model_validate(session["oil"].structured_content)
    assert answer.abstained and not answer.citations and answer.nearest
    assert "Nearest passages" in text_of(session["oil"])


def test_search_returns_ranked_hits(session: dict[str, Any]) -> None:
    result = SearchResult.model_validate(session["search"].structured_content)
    assert result.mode == "hybrid" and [h.rank for h in result.hits] == [1, 2, 3]
    assert all("لافروف" in h.text or "كيري" in h.text or "حلب" in h.text for h in result.hits)
    text = text_of(session["search"])
    assert all(h.file in text and h.doc_id in text for h in result.hits)
    assert SearchResult.model_validate(session["again"].structured_content).hits


def test_read_article_gives_the_text_citations_point_into(session: dict[str, Any]) -> None:
    citation = session["who"].structured_content["citations"][0]
    article = session["article"].structured_content
    assert not session["article"].is_error
    assert article["doc_id"] == citation["doc_id"] and article["file"] == citation["file"]
    assert article["published"] == citation["published"] == "2016-10-05"
    assert article["chars"] == len(article["text"]) > 1000
    assert article["text"][citation["start"]:citation["end"]] == citation["quote"]
    text = text_of(session["article"])
    assert citation["quote"] in text and f"doc_id {citation['doc_id']}" in text


def test_the_timeline_is_dated_cited_events(session: dict[str, Any]) -> None:
    assert not session["timeline"].is_error
    timeline = session["timeline"].structured_content
    assert timeline["mode"] == "extractive" and timeline["articles"] == 5 and timeline["events"]
    assert all(e["reports"] and e["reports"][0]["citations"] for e in timeline["events"])
    assert any(e["type"] == "call" and e["date"]["start"] == "2016-10-01" for e in timeline["events"])
    assert "phone call" in text_of(session["timeline"])


def test_mistakes_are_one_line_tool_errors(session: dict[str, Any]) -> None:
    assert "no article with doc_id 'no-such-article' in the store" in error_of(session["unknown"])
    message = error_of(session["outlet"])
    assert "no articles from outlet 'no such outlet'" in message and "known outlets: " in message
    assert "date_from is after date_to" in error_of(session["backwards"])
    # the input schema, checked by the SDK before the call (its message is pydantic's, several lines)
    assert session["bad_k"].is_error and "greater than or equal to 1" in text_of(session["bad_k"])
    assert "Traceback" not in session["stderr"], session["stderr"]


# ------------------------------------------------------------------------------------ over HTTP


def post(url: str, body: dict[str, Any], token: str | None = None) -> tuple[int, dict[str, str], str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request("POST", parts.path, body=json.dumps(body), headers=headers)
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read().decode("utf-8")
    finally:
        conn.close()


def leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


async def http_session(url: str, token: str | None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers) as http, Client(streamable_http_client(url, http_client=http)) as client:
        return {"tools": (await client.list_tools()).tools,
                "who": await client.call_tool("ask", {"question": WHO}),
                "unknown": await client.call_tool("read_article", {"doc_id": "no-such-article"})}


def test_the_tools_over_streamable_http_behind_the_token(seeded_store: Path, tmp_path: Path) -> None:
    shutil.copytree(seeded_store, tmp_path / "store")
    served = start(tmp_path / "store", tmp_path, env={"DALIL_SERVE_TOKENS": TOKEN, "DALIL_SERVE_RATE_LIMIT": "0"})
    url = f"{served.url}/mcp"
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                  "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}
    try:
        for token in (None, "not-the-token-0123456789"):
            status, headers, body = post(url, initialize, token)
            assert status == 401 and headers["www-authenticate"] == "Bearer", body
            assert json.loads(body)["error"]["code"] == "invalid_api_key"
        status, headers, body = post(url, initialize, TOKEN)  # /mcp itself, no redirect to /mcp/
        assert status == 200 and headers["content-type"].startswith("application/json"), (status, headers, body)
        assert json.loads(body)["result"]["serverInfo"]["name"] == "dalil"

        with pytest.raises((MCPError, ExceptionGroup)) as refused:  # the SDK client, without the token
            anyio.run(http_session, url, None)
        assert any(isinstance(e, MCPError) for e in leaves(refused.value)), refused.value

        got = anyio.run(http_session, url, TOKEN)
        assert {t.name for t in got["tools"]} == TOOLS
        answer = Answer.model_validate(got["who"].structured_content)
        assert answer.mode == "extractive" and answer.citations[0].file.startswith("000_")
        assert answer.citations[0].file in text_of(got["who"])
        assert "no article with doc_id 'no-such-article'" in error_of(got["unknown"])
        # the same document as /v1/ask: one Dalil behind both
        status, _, body = served.call("POST", "/v1/ask", {"question": WHO}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and without_timings(json.loads(body)) == without_timings(got["who"].structured_content)
    finally:
        stderr = served.stop()
    assert TOKEN not in stderr and "Traceback" not in stderr, stderr
