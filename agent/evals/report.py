"""Writing a run to its folder: ``results.json``, ``report.md`` and ``report.html``."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from agent.errors import DalilError
from agent.evals.records import RunRecord
from agent.evals.report_html import render_html
from agent.evals.report_md import render_markdown

RESULTS = "results.json"
MARKDOWN = "report.md"
HTML = "report.html"


def default_out_dir(suite_path: Path, now: dt.datetime | None = None) -> Path:
    """``out/eval-<suite>-<YYYYmmdd-HHMMSS>`` in the current folder."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Path("out") / f"eval-{re.sub(r'[^A-Za-z0-9_.-]+', '-', suite_path.stem)}-{stamp}"


def write_reports(run: RunRecord, out_dir: Path) -> dict[str, Path]:
    """Write the three files into ``out_dir`` (created if needed); returns their paths by kind."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {"json": out_dir / RESULTS, "markdown": out_dir / MARKDOWN, "html": out_dir / HTML}
        paths["json"].write_text(run.model_dump_json(indent=2), encoding="utf-8")
        paths["markdown"].write_text(render_markdown(run), encoding="utf-8")
        paths["html"].write_text(render_html(run), encoding="utf-8")
    except OSError as exc:
        raise DalilError(f"cannot write the report to {out_dir}: {exc.strerror or exc}") from None
    return paths


def load_run(path: Path) -> RunRecord:
    """A run from its folder or its ``results.json``."""
    file = path / RESULTS if path.is_dir() else path
    try:
        return RunRecord.model_validate_json(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DalilError(f"no eval results at {path} (give a run folder or its {RESULTS})") from None
    except ValueError as exc:
        raise DalilError(f"{file} is not a Dalil eval results file: {' '.join(str(exc).split())[:200]}") from None
