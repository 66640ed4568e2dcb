"""`dalil --server URL …`: the commands as clients of a real `dalil serve --http` process, and its newer routes.

The CLI runs as child processes pointed at the server (with its token from DALIL_SERVER_TOKEN); what
they print with --json must be what the same command prints in process on the same store, and their
text output too. What can go wrong on the way (no server, no or a wrong token, a rate limit, a failing
or foreign server) must be one line on stderr and exit code 1, without the token and without a traceback.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import run_cli
from tests.test_http_server import Served, _answer_of, _env, _store_copy, start

pytestmark = pytest.mark.slow  # a server process and CLI processes

TOKEN = "dalil-remote-" + secrets.token_urlsafe(24)
QUESTIONS = ["Who initiated the call on 5 October?", "متى جرى الاتصال الهاتفي بين لافروف وكيري حول حلب؟", "ما هو سعر النفط؟"]


@pytest.fixture(scope="module")
def remote(seeded_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A guarded server (a token; no rate limit) on a copy of the seeded store."""
    work = tmp_path_factory.mktemp("remote")
    server = start(_store_copy(seeded_store, work), work, env={"DALIL_SERVE_TOKENS": TOKEN, "DALIL_SERVE_RATE_LIMIT": "0"})
    yield server
    server.stop()


def dalil(*args: str, env: dict[str, str] | None = None, home: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`dalil ARGS` in a child process, in a clean environment (no DALIL_* of the developer's shell)."""
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True, timeout=180, input=stdin,
                          env=_env(home, env), cwd=home)


def via(server: Served, *args: str, home: Path, token: str | None = TOKEN, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {"DALIL_SERVER_TOKEN": token} if token else {}
    return dalil("--server", server.url, *args, env=env, home=home, **kwargs)


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    line = result.stderr.strip()
    assert line.startswith("dalil: error: ") and "\n" not in line and "Traceback" not in result.stderr, result.stderr
    assert TOKEN not in result.stdout + result.stderr and TOKEN[:16] not in result.stderr
    for needle in needles:
        assert needle in line, line
    return line


@pytest.mark.parametrize("command", [
    ["ask", QUESTIONS[0], "--json"],
    ["ask", QUESTIONS[1], "--json", "-k", "3", "--from", "2016-09-01"],
    ["ask", QUESTIONS[2], "--json"],  # an abstention
    ["search", "لافروف كيري", "--json", "-k", "4"],
    ["search", "لافروف", "--mode", "bm25", "--to", "2016-10-04", "--json"],
    ["timeline", "--json"],
    ["timeline", "--json", "--from", "2016-10-01", "--to", "2016-10-10"],
    ["summarize", "--json", "--from", "2016-09-01"],
    ["articles", "list", "--json", "--from", "2016-10-01"],
    ["articles", "show", "000_05ef239a9c3f61f9.txt", "--json"],
])
def test_json_is_the_in_process_json(remote: Served, seeded_store: Path, tmp_path: Path, command: list[str]) -> None:
    got = via(remote, *command, home=tmp_path)
    assert got.returncode == 0, got.stderr
    code, expected, stderr = run_cli(*command, "--store", str(seeded_store))
    assert code == 0, stderr
    got_json, expected_json = json.loads(got.stdout), json.loads(expected)
    if command[0] == "ask":
        got_json, expected_json = _answer_of(got_json), _answer_of(expected_json)
    assert got_json == expected_json
    assert got_json  # a real document, not an empty one


def test_text_output_is_the_in_process_output(remote: Served, seeded_store: Path, tmp_path: Path) -> None:
    """Rendered by the same renderers: byte for byte what the command prints on the store itself."""
    for command in (["ask", QUESTIONS[1]], ["ask", QUESTIONS[2]], ["search", "لافروف كيري", "-k", "3"], ["timeline"], ["summarize"]):
        got = via(remote, *command, home=tmp_path)
        here = dalil(*command, "--store", str(seeded_store), env={"DALIL_SERVER_USE": "false"}, home=tmp_path)
        assert got.returncode == here.returncode == 0, got.stderr + here.stderr
        assert got.stdout == here.stdout and got.stdout.strip()
        assert got.stderr == here.stderr  # the tool-call lines of ask too


def test_brief_writes_the_same_files(remote: Served, seeded_store: Path, tmp_path: Path) -> None:
    got = via(remote, "brief", "--date", "2016-10-03", "--json", "--out", str(tmp_path / "remote"), home=tmp_path)
    here = dalil("brief", "--date", "2016-10-03", "--json", "--out", str(tmp_path / "local"), "--store", str(seeded_store), home=tmp_path)
    assert got.returncode == here.returncode, got.stderr + here.stderr
    assert json.loads(got.stdout) == json.loads(here.stdout)
    for name in ("brief-2016-10-03.md", "brief-2016-10-03.html"):
        assert (tmp_path / "remote" / name).read_text(encoding="utf-8") == (tmp_path / "local" / name).read_text(encoding="utf-8")
    nothing = via(remote, "brief", "--date", "2010-01-01", "--out", str(tmp_path / "none"), home=tmp_path)
    assert nothing.returncode == 4 and nothing.stderr.strip() == "dalil: nothing was published on 2010-01-01; no briefing written"


def test_the_server_url_and_token_from_the_environment(remote: Served, tmp_path: Path) -> None:
    result = dalil("search", "لافروف", "--json", "-k", "1", env={"DALIL_SERVER": remote.url, "DALIL_SERVER_TOKEN": TOKEN}, home=tmp_path)
    assert result.returncode == 0 and json.loads(result.stdout)["hits"], result.stderr
    shown = dalil("config", "--json", env={"DALIL_SERVER": remote.url, "DALIL_SERVER_TOKEN": TOKEN}, home=tmp_path)
    assert json.loads(shown.stdout)["server"] == {"use": True, "timeout": 300.0, "url": remote.url, "token": "****"}
    assert TOKEN not in shown.stdout + shown.stderr


def test_errors_are_one_line_without_the_token(remote: Served, tmp_path: Path) -> None:
    one_line_error(via(remote, "ask", QUESTIONS[0], home=tmp_path, token=None), "(401)", "DALIL_SERVER_TOKEN")
    wrong = "not-the-token-" + secrets.token_urlsafe(16)
    line = one_line_error(via(remote, "search", "لافروف", home=tmp_path, token=wrong), "(401)")
    assert wrong not in line
    one_line_error(via(remote, "ask", "   ", home=tmp_path), "the question is empty")  # the server's own message
    one_line_error(via(remote, "search", "لافروف", "--outlet", "nowhere", home=tmp_path), "known outlets")
    one_line_error(via(remote, "ask", QUESTIONS[0], "--lang", "fr", home=tmp_path), "--lang must be ar or en")
    line = one_line_error(dalil("--server", "http://user:hunter2@127.0.0.1:1", "ask", "x", home=tmp_path),
                          "cannot reach the Dalil server", "connection refused")
    assert "hunter2" not in line
    one_line_error(dalil("--server", "ftp://example.org", "ask", "x", home=tmp_path), "http://host:port")


class _Foreign(BaseHTTPRequestHandler):
    """Not Dalil: a server that fails (500 with JSON), or answers a web page."""

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        body, kind, status = ((json.dumps({"error": {"message": "database on fire", "type": "server_error"}}), "application/json", 500)
                              if getattr(self.server, "failing", False) else ("<html>hello</html>", "text/html", 200))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("failing", [True, False])
def test_a_failing_or_foreign_server_is_one_line(tmp_path: Path, failing: bool) -> None:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Foreign)
    httpd.failing = failing  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_port}"
        for command in (["ask", QUESTIONS[0]], ["search", "x", "--json"], ["timeline"]):
            result = dalil("--server", url, *command, home=tmp_path)
            if failing:
                one_line_error(result, "failed (500)", "database on fire")
            else:
                one_line_error(result, "did not answer as a Dalil server", "text/html")
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_rate_limited_and_ingest(seeded_store: Path, tmp_path: Path) -> None:
    """A server with a rate limit of 2 a minute and ingest on: the 429 line, then articles sent as text become searchable."""
    server = start(_store_copy(seeded_store, tmp_path), tmp_path, env={"DALIL_SERVE_RATE_LIMIT": "2", "DALIL_SERVE_INGEST": "true"})
    try:
        article = {"id": "quake-1", "text": "خبر تجريبي عن زلزال في مدينة قونية التركية وانقطاع الكهرباء عن أحياء واسعة.",
                   "published": "2016-10-09", "outlet": "وكالة الاختبار", "title": "زلزال قونية"}
        status, report = server.json("POST", "/v1/ingest", {"articles": [article]}, source="127.0.0.3")
        assert status == 200 and report["added"] == 1 and not report["errors"], report
        status, refused = server.json("POST", "/v1/ingest", {"paths": ["/etc/passwd"]}, source="127.0.0.5")
        assert status == 422 and refused["error"]["message"]  # paths are not a field: only text comes in
        status, again = server.json("POST", "/v1/ingest", {"articles": [article]}, source="127.0.0.3")
        assert status == 200 and again["unchanged"] == 1 and again["added"] == 0
        status, listed = server.json("GET", "/v1/articles?outlet=" + quote("وكالة الاختبار"), source="127.0.0.4")
        assert status == 200 and listed["total"] == 1 and listed["articles"][0]["title"] == "زلزال قونية"
        assert listed["articles"][0]["text"] is None
        for path in (tmp_path / "store" / "uploads").iterdir():  # the server chose the name: a hash, under uploads/
            assert len(path.stem) == 32 and path.suffix == ".json"
        results = [via(server, "search", "زلزال قونية", "--json", "-k", "1", home=tmp_path, token=None) for _ in range(3)]
        assert results[0].returncode == 0 and json.loads(results[0].stdout)["hits"][0]["outlet"] == "وكالة الاختبار"
        one_line_error(results[2], "(429)", "try again in")  # the third request from 127.0.0.1 this minute
    finally:
        server.stop()


def test_articles_routes(remote: Served, seeded_store: Path) -> None:
    from agent.config import load_settings
    from agent.pipeline import Dalil

    registry = Dalil(load_settings(None, {"store": {"path": seeded_store}})).store.registry
    documents = registry.documents()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, listed = remote.json("GET", "/v1/articles", headers=auth)
    assert status == 200 and listed["total"] == len(documents) == 5
    assert [a["doc_id"] for a in listed["articles"]] == [d.doc_id for d in documents]
    status, page = remote.json("GET", "/v1/articles?offset=1&limit=2", headers=auth)
    assert page["total"] == 5 and [a["doc_id"] for a in page["articles"]] == [d.doc_id for d in documents[1:3]]
    status, one = remote.json("GET", f"/v1/articles/{documents[0].doc_id}", headers=auth)
    assert status == 200 and one["text"] == documents[0].text and one["chunks"] == documents[0].n_chunks
    status, missing = remote.json("GET", "/v1/articles/no-such-id", headers=auth)
    assert status == 404 and missing["error"]["code"] == "article_not_found"
    status, refused = remote.json("POST", "/v1/ingest", {"articles": [{"text": "نص"}]}, headers=auth)
    assert status == 403 and "serve.ingest" in refused["error"]["message"]  # off unless configured
    status, refused = remote.json("DELETE", f"/v1/articles/{documents[0].doc_id}", headers=auth)
    assert status == 403 and "serve.ingest" in refused["error"]["message"]  # a removal too
    assert remote.json("GET", "/v1/articles", headers=auth)[1]["total"] == 5
    status, spec = remote.json("GET", "/openapi.json", headers=auth)
    paths = spec["paths"]
    for route in ("/v1/summarize", "/v1/brief", "/v1/ingest", "/v1/articles", "/v1/articles/{doc_id}"):
        assert route in paths, route
    assert {"IngestRequest", "BriefRequest", "SummarizeRequest"} <= set(spec["components"]["schemas"])


def test_chat_with_a_remote_server(remote: Served, tmp_path: Path) -> None:
    lines = f"{QUESTIONS[0]}\n/open 1\n/filter outlet=nowhere\n/timeline\n/quit\n"
    result = via(remote, "chat", home=tmp_path, stdin=lines)
    assert result.returncode == 0, result.stderr
    _, answer = remote.json("POST", "/v1/ask", {"question": QUESTIONS[0]}, headers={"Authorization": f"Bearer {TOKEN}"})
    first_quote = answer["citations"][0]["quote"].split()[0]
    assert first_quote in result.stdout and "the cited passage" in result.stdout  # the answer, then /open 1
    assert "no articles from outlet 'nowhere'" in result.stdout and "events from 5 articles" in result.stdout
    saved = list((tmp_path / ".local" / "share" / "dalil" / "servers").glob("*/conversations/*.json"))
    assert len(saved) == 1 and QUESTIONS[0] in saved[0].read_text(encoding="utf-8")
    assert TOKEN not in result.stdout + result.stderr + saved[0].read_text(encoding="utf-8")


def test_remote_json_does_not_need_a_store(remote: Served, tmp_path: Path) -> None:
    """No store here at all: nothing is opened or created locally."""
    result = via(remote, "ask", QUESTIONS[1], "--json", "--store", str(tmp_path / "no-store"), home=tmp_path)
    assert result.returncode == 0 and json.loads(result.stdout)["citations"], result.stderr
    assert not (tmp_path / "no-store").exists()
    assert not any(p.name == "store" for p in tmp_path.iterdir())


def test_a_streamed_llm_answer_prints_as_in_process(seeded_store: Path, tmp_path: Path) -> None:
    """LLM mode on the server (the scripted endpoint): the client prints the model's deltas as they come, then the checked
    answer: the very output of `dalil ask` on the store with the same endpoint."""
    from tests.scripted_openai import Reply, ScriptedOpenAI

    rewrite = Reply(match="search queries", content='{"ar": "اتصال هاتفي لافروف كيري حلب", "en": "Lavrov Kerry call Aleppo"}')
    text = "ناقش لافروف وكيري في محادثة هاتفية تطبيع الوضع في مدينة حلب السورية [1]."
    with ScriptedOpenAI() as llm:
        env = {"DALIL_LLM_BASE_URL": llm.base_url, "DALIL_LLM_MODEL": "scripted-model", "DALIL_LLM_TOOLS": "off",
               "DALIL_LLM_MAX_RETRIES": "0", "DALIL_LLM_TIMEOUT": "10"}
        server = start(_store_copy(seeded_store, tmp_path), tmp_path, env=env)
        try:
            llm.enqueue(rewrite, Reply(content=text, chunk_size=5))
            got = via(server, "ask", QUESTIONS[1], home=tmp_path, token=None)
            llm.enqueue(rewrite, Reply(content=text, chunk_size=5))
            here = dalil("ask", QUESTIONS[1], "--store", str(seeded_store), env={**env, "DALIL_SERVER_USE": "false"}, home=tmp_path)
        finally:
            server.stop()
    assert got.returncode == here.returncode == 0, got.stderr + here.stderr
    assert "(streaming; checked below)" in got.stdout and "citations checked" in got.stdout
    assert got.stdout == here.stdout


def test_the_new_routes_are_documented_with_their_models(remote: Served) -> None:
    status, spec = remote.json("GET", "/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200

    def reply_model(path: str, method: str, code: str = "200") -> str:
        return spec["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]

    assert reply_model("/v1/ask", "post") == "Answer" and reply_model("/v1/search", "post") == "SearchResult"
    assert reply_model("/v1/summarize", "post") == "Summary" and reply_model("/v1/brief", "post") == "Brief"
    assert reply_model("/v1/brief", "post", "404") == "ErrorReply" and reply_model("/v1/ingest", "post") == "IngestReply"
    assert reply_model("/v1/articles", "get") == "ArticleList" and reply_model("/v1/articles/{doc_id}", "get") == "ArticleDetail"
    assert "text" in spec["components"]["schemas"]["UploadedArticle"]["required"]
