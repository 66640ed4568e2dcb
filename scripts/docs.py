"""Regenerate the generated parts of README.md and docs/*.md, or check that they are current.

    python scripts/docs.py            # rewrite every generated part in place
    python scripts/docs.py --check    # exit 1 with a unified diff when a document is out of date
    python scripts/docs.py docs/AGENT.md   # only these documents

A generated part sits between two marker comments, and only what is between them is rewritten:

    <!-- docs.py: console -->            a ```console block: every `$ ` line is run, its output pasted under it
    <!-- docs.py: console llm=NAME -->   the same, with an LLM endpoint: tests/scripted_openai.py serving SCENARIOS[NAME]
    <!-- docs.py: script NAME -->        a ```json block: the replies of SCENARIOS[NAME], as that server reads them
    <!-- docs.py: settings -->           a ```toml block: every field of agent.config.Settings, its default and description
    <!-- docs.py: end -->

To change an example, edit its `$ ` lines (or the scenario below) and run the script.

How the commands run: through bash, one block at a time, in a fresh temporary folder holding a
copy of seeds/ (and of tests/fixtures_wire/ as wire/: one agency story carried by three outlets),
with this checkout's code (PYTHONPATH) and the `dalil` of the Python running this script. A block
that runs `dalil ingest` starts with no store; every other block gets a copy of a store ingested
from seeds/ with the default settings. The environment is built from nothing: no DALIL_* or
OPENAI_* variable, no user config (HOME is the temporary folder), no running `dalil serve`
(XDG_RUNTIME_DIR too), COLUMNS=120, NO_COLOR=1, TERM=dumb, and stdout and stderr go to one pipe,
unbuffered, so the lines come in the order a terminal shows them.

What varies from run to run is replaced in the output, the same way at every run, so that --check
compares like with like (NORMALIZE below):
- durations: `847 ms` becomes `N ms`; the seconds of the ingest table become `N.NN`;
- conversation ids (`20261122-141539-644c`) become `YYYYMMDD-HHMMSS-xxxx`;
- article ids at the start of a line (`dalil articles`; they hash the file's path) become `xxxxxxxxxxxxxxxx`;
- the temporary folder becomes `/tmp/demo`, the scripted server's port `PORT`;
- trailing spaces (rich pads its tables) and trailing blank lines are removed.

Every ```console block of README.md and docs/*.md is generated or listed in MANUAL with the reason;
--check fails on one that is neither.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "docs/*.md")
COLUMNS = 120

MARKER = re.compile(r"<!-- docs\.py: (?P<kind>[\w-]+)(?P<args>[^>]*?) -->\n(?P<body>.*?)<!-- docs\.py: end -->", re.S)
CONSOLE = re.compile(r"^```console\n(?P<body>.*?)^```$", re.S | re.M)


@dataclass(frozen=True)
class Scenario:
    """An OpenAI-compatible endpoint whose replies are written in advance (tests/scripted_openai.py)."""

    replies: list[dict[str, Any]]
    env: dict[str, str] = field(default_factory=dict)


def _call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}}


_SEARCH = _call("1", "search", {"query": "اتصال هاتفي لافروف كيري حلب"})
SCENARIOS = {
    # search, then the calls of the week, then an answer citing passages of both results
    "agent_loop": Scenario([
        {"tool_calls": [_SEARCH]},
        {"tool_calls": [_call("2", "events", {"type": "call", "from": "2016-09-28", "to": "2016-10-05"})]},
        {"content": "ناقش لافروف وكيري في محادثة هاتفية تطبيع الوضع في مدينة حلب السورية [4]. "
                    "وتحدث كيري عبر الهاتف إلى نظيره الروسي الجمعة دون أن يحرزا تقدما بشأن استئناف وقف إطلاق النار [6]."},
    ]),
    # a model obeying an article that tells it to read a file outside the store, then searching,
    # then the endpoint answering HTTP 429 with no retry left
    "refused_then_429": Scenario(
        [
            {"tool_calls": [_call("1", "read", {"doc": "../../etc/passwd"})]},
            {"tool_calls": [_call("2", "search", {"query": "اتصال هاتفي لافروف كيري حلب"})]},
            {"status": 429},
        ],
        env={"DALIL_LLM_MAX_RETRIES": "0"},
    ),
}

# ```console blocks that are not generated: (document, first command) -> why
MANUAL = {
    ("README.md", "dalil serve &"): "its point is the wall-clock time of `time dalil ask` with and without a background "
    "server, which a normalized run would erase; the process id and store path vary too",
    ("docs/DEPLOY.md", "chroma run --path chroma-data --port 8765 > chroma.log 2>&1 &"): "needs a Chroma server started beside the commands, "
    "then stopped; tests/test_store_server.py runs the same steps against a real `chroma run`",
    ("README.md", "chroma run --path chroma-data --port 8765 > chroma.log 2>&1 &"): "needs a Chroma server and a "
    "`dalil serve --http` started beside the commands; tests/test_store_server.py, tests/test_http_server.py and "
    "tests/test_remote_client.py cover the steps",
    ("docs/DEPLOY.md", 'dalil ingest seeds --store team --json | jq -c "{added, chunks}"'): "needs a `dalil serve --http` "
    "started beside the commands, with a token generated on the spot",
    ("README.md", "dalil ingest --watch inbox"): "a process that runs until it is stopped, with files written into its "
    "folder from another terminal meanwhile; tests/test_ingest_watch.py runs the same steps",
}

NORMALIZE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b\d+ ms\b"), "N ms"),
    (re.compile(r"^(\s*seconds\s+)\d+(?:\.\d+)?", re.M), r"\g<1>N.NN"),
    # rich centres the ingest table's title over the table, whose width follows the seconds' digits
    (re.compile(r"^ +ingest$", re.M), "        ingest"),
    (re.compile(r"\b\d{8}-\d{6}-[0-9a-f]{4}\b"), "YYYYMMDD-HHMMSS-xxxx"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
    # an article's id hashes its file's path, and the folder differs at every run (`dalil articles`' id column)
    (re.compile(r"^[0-9a-f]{16}(?=  )", re.M), "xxxxxxxxxxxxxxxx"),
]


def normalize(text: str, workdir: Path | None = None) -> str:
    """Output as the documents show it: the varying parts replaced (see the module docstring)."""
    if workdir is not None:
        text = text.replace(str(workdir.resolve()), "/tmp/demo").replace(str(workdir), "/tmp/demo")
    for pattern, replacement in NORMALIZE:
        text = pattern.sub(replacement, text)
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


# ---------------------------------------------------------------- running commands


class Runner:
    """Fresh folders with the seeds (and, for most blocks, an ingested store) to run the commands in."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self._template: Path | None = None
        self._count = 0

    def env(self, home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
        bindir = str(Path(sys.executable).parent)
        env = {
            "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home), "XDG_RUNTIME_DIR": str(home), "TMPDIR": str(home),
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
            "COLUMNS": str(COLUMNS), "LINES": "50", "NO_COLOR": "1", "TERM": "dumb",
        }
        env.update(extra or {})
        return env

    def _fresh(self) -> Path:
        self._count += 1
        work = self.tmp / f"run{self._count}"
        work.mkdir()
        shutil.copytree(ROOT / "seeds", work / "seeds")
        shutil.copytree(ROOT / "tests" / "fixtures_wire", work / "wire")
        (work / "home").mkdir()
        return work

    def workdir(self, ingests: bool) -> Path:
        """A folder with seeds/; with store/ ingested from it unless the block ingests itself."""
        if ingests:
            return self._fresh()
        if self._template is None:
            self._template = self._fresh()
            self.run(self._template, "dalil ingest seeds", check=True)
        self._count += 1
        work = self.tmp / f"run{self._count}"
        shutil.copytree(self._template, work)
        return work

    def run(self, work: Path, command: str, extra_env: dict[str, str] | None = None, check: bool = False) -> str:
        done = subprocess.run(["bash", "-c", command], cwd=work, env=self.env(work / "home", extra_env), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
        if (check and done.returncode) or "Traceback (most recent call last)" in done.stdout:
            raise SystemExit(f"docs.py: `{command}` exited {done.returncode}:\n{done.stdout}")
        return done.stdout


@contextmanager
def scripted_endpoint(scenario: Scenario, work: Path) -> Iterator[dict[str, str]]:
    """Start tests/scripted_openai.py as docs/AGENT.md says; yield the environment that points Dalil at it."""
    script = work / "script.json"
    script.write_text(json.dumps({"replies": scenario.replies}, ensure_ascii=False), encoding="utf-8")
    server = subprocess.Popen([sys.executable, str(ROOT / "tests" / "scripted_openai.py"), "--port", "0", "--script", str(script)],
                              stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline() if server.stdout else ""
        if not line.startswith("READY "):
            raise SystemExit(f"docs.py: the scripted endpoint did not start: {line!r}")
        yield {"DALIL_LLM_BASE_URL": line.split()[1], "DALIL_LLM_MODEL": "scripted-model", **scenario.env}
    finally:
        server.terminate()
        server.wait(timeout=10)


# ---------------------------------------------------------------- the generated parts


def commands_of(body: str) -> list[str]:
    match = CONSOLE.search(body)
    if not match:
        raise ValueError("a console part must hold a ```console block")
    return [line[2:] for line in match["body"].splitlines() if line.startswith("$ ")]


def console(body: str, args: dict[str, str], runner: Runner) -> str:
    commands = commands_of(body)
    if not commands:
        raise ValueError("a console block without `$ ` lines")
    work = runner.workdir(ingests=any(re.match(r"dalil ingest\b", c) for c in commands))
    text = ""
    with endpoint(args.get("llm"), work) as extra_env:
        for command in commands:
            output = normalize(runner.run(work, command, extra_env), work)
            text += f"$ {command}\n" + (f"{output}\n\n" if output else "")
    return f"```console\n{text.rstrip()}\n```\n"


@contextmanager
def endpoint(name: str | None, work: Path) -> Iterator[dict[str, str]]:
    if name is None:
        yield {}
        return
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r} (known: {', '.join(SCENARIOS)})")
    with scripted_endpoint(SCENARIOS[name], work) as env:
        yield env


def script(body: str, args: dict[str, str], runner: Runner) -> str:
    name = args.get("name", "")
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r} (known: {', '.join(SCENARIOS)})")
    return f"```json\n{json.dumps(SCENARIOS[name].replies, ensure_ascii=False, indent=1)}\n```\n"


def settings(body: str, args: dict[str, str], runner: Runner) -> str:
    return f"```toml\n{settings_toml()}```\n"


def settings_toml() -> str:
    """Every field of Settings with its default and its description, as a TOML file (unset fields commented out)."""
    sys.path.insert(0, str(ROOT))
    from pydantic import BaseModel

    from agent.config import Settings

    def field_lines(name: str, info: Any, env: str) -> list[str]:
        lines = textwrap.wrap(info.description or "", width=100, initial_indent="# ", subsequent_indent="# ")
        if get_origin(info.annotation) is Literal:
            literal = get_args(info.annotation)
            lines.append(f"# one of: {', '.join(json.dumps(c) for c in literal)}")
        default = info.get_default(call_default_factory=True)
        if default is None:
            lines.append(f"# {name} = …  ({env}; unset by default)")
        else:
            lines.append(f"{name} = {toml_value(default)}  # {env}")
        return lines

    top: list[str] = []
    sections: list[str] = []
    for name, info in Settings.model_fields.items():
        if info.exclude:  # openai_api_key: OPENAI_API_KEY, described by the api_key fields it fills
            continue
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            sections.append(f"\n[{name}]")
            for sub, sub_info in annotation.model_fields.items():
                sections.extend(field_lines(sub, sub_info, f"DALIL_{name}_{sub}".upper()))
        else:
            top.extend(field_lines(name, info, f"DALIL_{name}".upper()))
    return "\n".join(top + sections) + "\n"


def toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


GENERATORS: dict[str, Callable[[str, dict[str, str], Runner], str]] = {"console": console, "script": script, "settings": settings}


def parse_args(text: str) -> dict[str, str]:
    out = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        out.update({key: value} if sep else {"name": word})
    return out


def regenerate(path: Path, runner: Runner) -> str:
    """The document with every generated part made again."""
    text = path.read_text(encoding="utf-8")

    def part(match: re.Match[str]) -> str:
        kind = match["kind"]
        if kind not in GENERATORS:
            raise ValueError(f"{path.name}: unknown generated part {kind!r}")
        head = match.group(0)[: match.start("body") - match.start()]
        return head + GENERATORS[kind](match["body"], parse_args(match["args"]), runner) + "<!-- docs.py: end -->"

    return MARKER.sub(part, text)


def unmanaged_console_blocks(path: Path, text: str) -> list[str]:
    """First commands of the ```console blocks outside generated parts and not in MANUAL."""
    rel = path.relative_to(ROOT).as_posix()
    outside = MARKER.sub("", text)
    found = []
    for match in CONSOLE.finditer(outside):
        first = next((line[2:] for line in match["body"].splitlines() if line.startswith("$ ")), match["body"][:40])
        if (rel, first) not in MANUAL:
            found.append(first)
    return found


def documents(names: list[str]) -> list[Path]:
    if names:
        return [Path(n).resolve() for n in names]
    return sorted({p for pattern in DOCUMENTS for p in ROOT.glob(pattern)}, key=lambda p: (p.parent != ROOT, p.as_posix()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 with a diff when a document is out of date")
    parser.add_argument("files", nargs="*", help="documents to regenerate (default: README.md and docs/*.md)")
    args = parser.parse_args(argv)

    stale = 0
    with tempfile.TemporaryDirectory(prefix="dalil-docs-") as tmp:
        runner = Runner(Path(tmp))
        for path in documents(args.files):
            rel = path.relative_to(ROOT).as_posix()
            old = path.read_text(encoding="utf-8")
            for first in unmanaged_console_blocks(path, old):
                print(f"{rel}: the console block starting `$ {first}` is neither generated nor in MANUAL", file=sys.stderr)
                stale += 1
            new = regenerate(path, runner)
            if new == old:
                continue
            if args.check:
                stale += 1
                sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{rel}", f"b/{rel}"))
            else:
                path.write_text(new, encoding="utf-8")
                print(f"updated {rel}")
    if stale and args.check:
        print(f"docs.py: {stale} document(s) out of date; run python scripts/docs.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
