"""Browser check: the daily briefings render in headless Chromium, Arabic right-to-left, the timeline picture shown."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.sequence.html import COLORS, HIGHLIGHT
from tests.test_eval_html import CHROMIUM_FLAGS, chromium, read_png

pytestmark = pytest.mark.slow  # pages rendered by headless Chromium

WIDTH, HEIGHT = 1200, 2400
AR_BACKGROUND = 0xFBFBFD  # .ar blocks (see the CSS of agent/render_html/templates/brief.html.j2)


def screenshot(page: Path, png: Path, profile: Path) -> np.ndarray:
    completed = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={WIDTH},{HEIGHT}",
         page.as_uri()],
        capture_output=True, text=True, timeout=90, check=False,
    )
    assert png.is_file(), f"chromium wrote no screenshot (exit {completed.returncode}): {completed.stderr[-500:]}"
    pixels = read_png(png)[..., :3].astype(np.int64)
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    return pixels


def arabic_blocks(pixels: np.ndarray) -> list[tuple[float, float]]:
    """(median right gap, median left gap) of the ink rows in every Arabic block, in pixels."""
    rgb = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    background = rgb == AR_BACKGROUND
    rows = np.where(background.sum(axis=1) > 300)[0]
    bands, start = [], None
    for i, row in enumerate(rows):
        start = row if start is None else start
        if i + 1 == len(rows) or rows[i + 1] != row + 1:
            bands.append((start, row))
            start = None
    out = []
    for top, bottom in bands:
        if bottom >= pixels.shape[0] - 1:  # cut by the window's bottom edge: its lines cannot be measured
            continue
        cols = np.where(background[top:bottom + 1].any(axis=0))[0]
        left, right = cols.min(), cols.max()
        ink = pixels[top:bottom + 1, left:right + 1].sum(axis=2) < 350
        inked = [r for r in range(ink.shape[0]) if ink[r].any()]
        if len(inked) < 5:
            continue
        right_gaps = [(right - left) - np.where(ink[r])[0].max() for r in inked]
        left_gaps = [np.where(ink[r])[0].min() for r in inked]
        out.append((float(np.median(right_gaps)), float(np.median(left_gaps))))
    return out


@pytest.mark.parametrize("day", ["2016-09-28", "2016-10-03"])
def test_briefing_html_renders_right_to_left_with_the_timeline_picture(seeded_store: Path, tmp_path: Path, day: str) -> None:
    result = CliRunner().invoke(app, ["brief", "--date", day, "--format", "html", "--out", str(tmp_path), "--store", str(seeded_store)])
    assert result.exit_code == 0, result.stderr
    page = tmp_path / f"brief-{day}.html"
    html = page.read_text(encoding="utf-8")
    for needle in ("<script", "<link", "@import", "url(", "src="):  # self-contained
        assert needle not in html, needle
    assert html.count('dir="rtl"') >= 3 and html.count("<svg") == 1 and 'href="#src-1"' in html and 'id="src-1"' in html

    pixels = screenshot(page, tmp_path / f"brief-{day}.png", tmp_path / "profile")
    rgb = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    colors = set(np.unique(rgb).tolist())
    assert len(colors) > 50, "the page looks blank"
    # the picture: the highlighted day and the phone calls' dots are on screen
    assert int(HIGHLIGHT[1:], 16) in colors and int(COLORS["call"][1:], 16) in colors
    # Arabic reads right to left: in every Arabic block the lines hug the right edge, not the left
    blocks = arabic_blocks(pixels)
    assert len(blocks) >= 3
    for right_gap, left_gap in blocks:
        assert right_gap < 50 and right_gap < left_gap, blocks
