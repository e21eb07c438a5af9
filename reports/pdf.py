"""The report as PDF, printed from its HTML page by Debian's ``chromium`` (headless)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_S = 60


class PdfUnavailable(RuntimeError):
    """No browser to print with, or it failed."""


def find_chromium() -> str | None:
    override = os.environ.get("TANZHANG_CHROMIUM")
    if override:
        return override if Path(override).is_file() else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def html_to_pdf(page: str, chromium: str | None = None) -> bytes:
    """Print ``page`` to PDF (A4, no header / footer) with headless chromium."""
    exe = chromium or find_chromium()
    if exe is None:
        raise PdfUnavailable(
            "no chromium to print the PDF with: install Debian's `chromium` (apt-get install "
            "chromium) or set TANZHANG_CHROMIUM; the JSON and HTML reports still work"
        )
    with tempfile.TemporaryDirectory(prefix="tanzhang-pdf-") as tmp:
        src, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        src.write_text(page, encoding="utf-8")
        cmd = [
            exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp}/profile", "--no-pdf-header-footer",
            f"--print-to-pdf={out}", src.as_uri(),
        ]  # fmt: skip
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PdfUnavailable(f"chromium failed to print the PDF: {exc}") from None
        if not out.is_file() or out.stat().st_size == 0:
            tail = proc.stderr.decode(errors="replace")[-400:]
            raise PdfUnavailable(f"chromium printed no PDF (exit {proc.returncode}): {tail}")
        return out.read_bytes()
