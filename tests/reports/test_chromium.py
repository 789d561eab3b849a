"""The HTML reports render in real headless Chromium to a non-empty PNG."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from ledgergate.reports.queries import gather_article12, gather_ll202604
from ledgergate.reports.render import render

from report_ledger import NOW, OCTOBER, Ledger

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def screenshot(html: Path, png: Path) -> subprocess.CompletedProcess[str]:
    profile = tempfile.mkdtemp(prefix="lg-chromium-")
    try:
        return subprocess.run(
            [CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={png}",
             "--window-size=1200,2000", html.resolve().as_uri()],
            capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium); "
                                              "the headless render test needs it")
@pytest.mark.parametrize("kind", ["article12", "ll-2026-04"])
def test_html_renders_in_headless_chromium(kind: str, ledger: Ledger, tmp_path: Path) -> None:
    gather = gather_article12 if kind == "article12" else gather_ll202604
    with ledger.query() as q:
        facts = gather(q, OCTOBER, ledger.context, integrity=ledger.verify(), now=NOW)
    html = tmp_path / f"{kind}.html"
    html.write_bytes(render(kind, facts, "html"))
    png = tmp_path / f"{kind}.png"
    proc = screenshot(html, png)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 20_000
    # Chromium logs D-Bus noise in containers; a page or resource error would mention the file
    page_errors = [ln for ln in proc.stderr.splitlines()
                   if "CONSOLE" in ln or "net::ERR" in ln or "Uncaught" in ln]
    assert not page_errors, page_errors
