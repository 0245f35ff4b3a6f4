"""Real-browser harness: ``streamlit run`` on a free port, driven by Playwright with Debian's Chromium.

``playwright install`` cannot download browsers here, so the tests use ``/usr/bin/chromium``
(``apt-get install chromium``; ``.ci/run`` installs it when missing).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

CHROMIUM = Path(os.environ.get("AFFDIST_CHROMIUM", "/usr/bin/chromium"))
REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode} before serving {url}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout_s:.0f} s")


@contextlib.contextmanager
def streamlit_server(catalog: Path, timeout_s: float = 60.0) -> Iterator[str]:
    """Serve ``app/main.py`` on the given catalog as ``affdist app`` does (from the repository root, so Streamlit
    reads ``.streamlit/config.toml``); yields the base URL and stops the server afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "app" / "main.py"),
               "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
               "--", "--catalog", str(catalog)]
    with tempfile.TemporaryFile(mode="w+") as output:  # a file, not a pipe: a full pipe would stall the server
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT, text=True)
        url = f"http://127.0.0.1:{port}"
        try:
            try:
                _wait_healthy(url, process, timeout_s)
            except (RuntimeError, TimeoutError) as exc:
                output.seek(0)
                raise RuntimeError(f"{exc}; its output:\n{output.read()[-4000:]}") from None
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for_app(page, timeout_ms: float = 60_000) -> None:
    """Wait until the app has finished its script run: the global selectors are drawn (the entry script ran),
    a page heading exists, and no 'Running…' status widget shows for a moment."""
    page.wait_for_selector('[data-testid="stSidebar"] >> text=Transcription factor', timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout_ms)
    idle = """() => !document.querySelector('[data-testid="stStatusWidget"]')"""
    for _ in range(3):  # the status widget can appear late in a run: require it gone three times
        page.wait_for_function(idle, timeout=timeout_ms)
        page.wait_for_timeout(250)
