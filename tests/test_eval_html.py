"""Browser check: report.html from a real offline eval run renders in headless Chromium."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from agent.cli import app

DEV = Path(__file__).resolve().parents[1] / "evals" / "dev.yaml"
WIDTH, HEIGHT = 1200, 2000
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
)


def chromium() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail("chromium is not installed: install it (apt-get install -y chromium) to run the report browser check")


def read_png(path: Path) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA, non-interlaced PNG with zlib (no Pillow): array of shape (h, w, channels)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0], "bad CRC"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert header is not None
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, f"unexpected PNG format {header}"
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    assert len(raw) == height * (stride + 1), "pixel data does not match the PNG header"
    return _unfilter(raw, width, height, channels)


def _unfilter(raw: bytes, width: int, height: int, channels: int) -> np.ndarray:
    stride = width * channels
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:]
        if kind == 0:
            cur = line.copy()
        elif kind == 1:  # Sub: running sum of each channel along the row
            cur = (line.reshape(width, channels).astype(np.uint32).cumsum(axis=0) % 256).astype(np.uint8).reshape(-1)
        elif kind == 2:  # Up
            cur = line + prev
        else:  # Average (3) and Paeth (4) depend on the pixel to the left: byte by byte
            cur = _sequential(kind, line.tolist(), prev.tolist(), channels)
        out[y] = cur
        prev = out[y]
    return out.reshape(height, width, channels)


def _sequential(kind: int, line: list[int], above: list[int], channels: int) -> np.ndarray:
    cur = [0] * len(line)
    for i, value in enumerate(line):
        left = cur[i - channels] if i >= channels else 0
        up = above[i]
        if kind == 3:
            cur[i] = (value + (left + up) // 2) & 255
            continue
        corner = above[i - channels] if i >= channels else 0
        p = left + up - corner
        pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
        cur[i] = (value + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
    return np.array(cur, dtype=np.uint8)


@pytest.mark.slow
def test_report_html_renders_in_headless_chromium(seeded_store: Path, tmp_path: Path) -> None:
    browser = chromium()
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["eval", str(DEV), "--store", str(seeded_store), "--out", str(out), "--limit", "10"])
    assert result.exit_code == 0, result.stderr
    report = out / "report.html"
    html = report.read_text(encoding="utf-8")
    # self-contained: no scripts, stylesheets, fonts or images fetched from anywhere
    for needle in ("<script", "<link", "@import", "url(", "src=", "https://"):
        assert needle not in html, needle
    assert 'dir="rtl"' in html and html.count("<svg") >= 2

    png = tmp_path / "report.png"
    completed = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}",
         f"--window-size={WIDTH},{HEIGHT}", report.as_uri()],
        capture_output=True, text=True, timeout=90, check=False,
    )
    assert png.is_file(), f"chromium wrote no screenshot (exit {completed.returncode}): {completed.stderr[-500:]}"
    assert png.stat().st_size > 30_000, "screenshot is suspiciously small (blank page?)"
    pixels = read_png(png)
    assert pixels.shape[:2] == (HEIGHT, WIDTH)
    rgb = pixels[..., :3].reshape(-1, 3).astype(np.uint32)
    colors = np.unique((rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2])
    assert len(colors) > 50, f"only {len(colors)} distinct colors: the page looks blank"
    # the chart bars' palette is on screen (blue of the first series, orange of the second)
    assert {0x2F6DB5, 0xE07B39} <= set(colors.tolist())
