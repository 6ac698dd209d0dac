"""Browser-test infrastructure: JupyterLab on 127.0.0.1, driven in Debian's Chromium.

Reusable by every notebook's browser test::

    from browser import JupyterLab, chromium_page, require_browser, open_notebook, run_all_cells

    def test_my_app(tmp_path):
        require_browser()                               # skips (or fails in CI) without Chromium
        nb = copy_notebook(NOTEBOOKS / "04_quorum.ipynb", tmp_path)
        with JupyterLab(tmp_path) as lab, chromium_page() as page:
            open_notebook(page, lab, nb.name)
            run_all_cells(page)
            ...

What it does, following FACTS.md §5:

* JupyterLab runs from *this* Python environment (``sys.executable -m jupyterlab``), on a
  free port of 127.0.0.1, with a random token and throw-away JUPYTER_CONFIG_DIR,
  JUPYTER_DATA_DIR, JUPYTER_RUNTIME_DIR, JUPYTERLAB_SETTINGS_DIR, JUPYTERLAB_WORKSPACES_DIR
  and IPYTHONDIR, so nothing of the user's own setup leaks in and nothing is left behind.
  An ``overrides.json`` turns off the news pop-up and lazy cell rendering (windowing), and
  ``page_config.json`` exposes the app as ``window.jupyterapp`` so tests can run commands.
* Chromium is Debian's ``/usr/bin/chromium`` (never ``playwright install``), launched by
  Python Playwright with the flags below.
* Everything is stopped by PID: the server is asked to shut down (which stops its
  kernels), then its process group - the one it was started in - is terminated if it
  lingers.

Without Chromium or Playwright the test is skipped with a message saying how to install
them; with ``ETCDLAB_REQUIRE_BROWSER=1`` in the environment (set it in CI) it fails instead.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

#: FACTS.md §5: the flags that make Chromium quiet and offline-safe here.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
INSTALL_HINT = ("install Debian's Chromium with `sudo apt-get install chromium` "
                "(the test drives /usr/bin/chromium through Playwright; `playwright install` is not used)")

#: JupyterLab settings for a test run (FACTS.md §5).
OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}
PAGE_CONFIG = {"exposeAppInBrowser": True}

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


# --------------------------------------------------------------------------- finding things

def find_chromium() -> str | None:
    """The Chromium executable, or None."""
    for candidate in CHROMIUM_CANDIDATES:
        path = candidate if os.path.isabs(candidate) else shutil.which(candidate)
        if path and os.access(path, os.X_OK):
            return path
    return None


def require_browser() -> str:
    """Chromium's path; skip the test (fail with ETCDLAB_REQUIRE_BROWSER=1) if it cannot run."""
    problem = None
    chromium = find_chromium()
    if chromium is None:
        problem = f"Chromium not found: {INSTALL_HINT}"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "Python Playwright is missing: pip install -e '.[test]'"
    if problem:
        if os.environ.get("ETCDLAB_REQUIRE_BROWSER") == "1":
            pytest.fail(problem + " (ETCDLAB_REQUIRE_BROWSER=1: the browser test must run)")
        pytest.skip(problem)
    return chromium


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def artifact_path(name: str) -> Path:
    """Where a test saves a screenshot or log for CI to keep (``test-artifacts/``)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


def copy_notebook(src: Path, dest_dir: Path, *, clear_outputs: bool = True) -> Path:
    """Copy a notebook into ``dest_dir`` (JupyterLab's root), without its committed outputs
    and saved widget state, so what the browser shows comes from this run only and the
    committed file is never touched by autosave."""
    nb = json.loads(Path(src).read_text(encoding="utf-8"))
    if clear_outputs:
        nb.get("metadata", {}).pop("widgets", None)
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
    dest = Path(dest_dir) / Path(src).name
    dest.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return dest


# --------------------------------------------------------------------------- JupyterLab

class JupyterLab:
    """A JupyterLab server for one test: ``with JupyterLab(root_dir) as lab: lab.url(...)``."""

    def __init__(self, root_dir: str | os.PathLike, *, python: str = sys.executable,
                 startup_timeout: float = 90.0):
        self.root_dir = Path(root_dir)
        self.python = python
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.proc: subprocess.Popen | None = None
        self.home: Path | None = None
        self.log_path: Path | None = None

    # -- lifecycle --

    def start(self) -> "JupyterLab":
        self.home = Path(tempfile.mkdtemp(prefix="etcdlab-lab-"))
        dirs = {name: self.home / name for name in
                ("config", "data", "runtime", "settings", "workspaces", "ipython", "app-settings")}
        for d in dirs.values():
            d.mkdir()
        (dirs["app-settings"] / "overrides.json").write_text(json.dumps(OVERRIDES, indent=2))
        (dirs["app-settings"] / "page_config.json").write_text(json.dumps(PAGE_CONFIG))
        env = dict(os.environ,
                   JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
                   JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
                   JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
                   JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
                   IPYTHONDIR=str(dirs["ipython"]), JUPYTER_PLATFORM_DIRS="1",
                   PYTHONUNBUFFERED="1")
        env.pop("JUPYTER_PATH", None)
        env.pop("JUPYTER_CONFIG_PATH", None)
        cmd = [self.python, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={self.port}", "--port-retries=0",
               f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.root_dir}",
               f"--LabApp.app_settings_dir={dirs['app-settings']}",
               "--ServerApp.open_browser=False",
               "--LabApp.extension_manager=readonly",  # no PyPI look-ups for extensions
               "--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
            cmd.append("--allow-root")
        self.log_path = self.home / "jupyterlab.log"
        with open(self.log_path, "wb") as log:
            # its own session: the server and its kernels form one process group we own
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         cwd=self.root_dir)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log()}")
            if self._status() == 200:
                return self
            time.sleep(0.2)
        raise RuntimeError(f"JupyterLab did not answer within {self.startup_timeout:g} s:\n{self.log()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError, http.client.HTTPException):
                self._request("POST", "/api/shutdown")  # stops the kernels too
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)  # the group we started it in
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)
        # kernels are in the same process group; make sure none outlived the server
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None

    def __enter__(self) -> "JupyterLab":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- talking to it --

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "") -> str:
        """The URL that opens ``path`` (relative to the root dir) in JupyterLab, with the token."""
        return f"{self.base_url}/lab/tree/{path}?token={self.token}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:] if self.log_path else ""
        except OSError:
            return ""

    def _request(self, method: str, path: str) -> int:
        # http.client, not requests/urllib: no proxy settings from the environment apply
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request(method, path, headers={"Authorization": f"token {self.token}"})
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    def _status(self) -> int | None:
        try:
            return self._request("GET", "/api/status")
        except (OSError, http.client.HTTPException):
            return None


# --------------------------------------------------------------------------- Chromium

@contextlib.contextmanager
def chromium_page(*, viewport: tuple[int, int] = (1400, 1000), timeout_ms: float = 60_000):
    """A Playwright page in Debian's Chromium; everything is closed on exit."""
    from playwright.sync_api import sync_playwright

    executable = require_browser()
    pw = sync_playwright().start()
    browser = None
    try:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        page.set_default_timeout(timeout_ms)
        yield page
    finally:
        if browser is not None:
            browser.close()
        pw.stop()


# --------------------------------------------------------------------------- driving a notebook

def open_notebook(page, lab: JupyterLab, path: str, *, timeout_ms: float = 90_000) -> None:
    """Open ``path`` in JupyterLab and wait until its kernel is idle."""
    page.goto(lab.url(path))
    page.wait_for_selector(".jp-Notebook", timeout=timeout_ms)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=timeout_ms)
    wait_for_kernel_idle(page, timeout_ms=timeout_ms)


_KERNEL_STATUS_JS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  if (!w || !w.sessionContext || !w.sessionContext.session) return null;
  const k = w.sessionContext.session.kernel;
  return k ? k.status : null;
}"""


def kernel_status(page) -> str | None:
    return page.evaluate(_KERNEL_STATUS_JS)


def wait_for_kernel_idle(page, *, timeout_ms: float = 90_000) -> None:
    page.wait_for_function(f"() => ({_KERNEL_STATUS_JS})() === 'idle'", timeout=timeout_ms)


def run_all_cells(page, *, timeout_ms: float = 180_000) -> None:
    """Run every cell (the app command behind Run > Run All Cells) and wait until all ran."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # every code cell gets an execution count; "[*]" marks one still running or queued
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""", timeout=timeout_ms)
    wait_for_kernel_idle(page, timeout_ms=timeout_ms)


def cell_errors(page) -> list[str]:
    """The text of every error or stderr output in the open notebook (a clean run has none)."""
    return page.eval_on_selector_all(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
        "els => els.map(e => e.textContent)") + page.eval_on_selector_all(
        ".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']",
        "els => els.map(e => e.textContent)")
