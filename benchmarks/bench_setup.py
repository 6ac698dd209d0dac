"""Time to first interaction: a fresh clone's ``./run lab`` until JupyterLab answers.

    python3 benchmarks/bench_setup.py [--warm-caches] [--no-browser]

Clones this repository (its committed HEAD) into a temporary directory, then for each way
of installing - plain pip (``ETCDLAB_INSTALLER=pip``) and uv (``run``'s default: the uv on
PATH, or one bootstrapped into the new venv with pip) - times, from a cold start:

* ``set-up``     ``./run lab`` from nothing (venv, install) until JupyterLab answers with
                 ``00_start_here.ipynb`` open: its address handed to the browser, and the
                 server serving the notebook (``/api/contents``);
* ``in Chromium`` the same clock until that address shows the notebook in Chromium with an
                 idle kernel (skipped without Chromium and Playwright, or with --no-browser);
* ``warm``       a second ``./run lab`` with nothing changed, until it answers.

"Cold" means an empty venv *and* empty pip and uv caches (temporary PIP_CACHE_DIR and
UV_CACHE_DIR), as on a new machine; ``--warm-caches`` keeps the user's caches instead. The
packages still come from the registry either way, so the figures include the network.

Targets (issue 20): cold ``./run lab`` answering within 15 s, warm within 3 s, on 2 cores.
Exit code 1 if the uv path misses either. It also prints whether both paths installed the
same packages at the same versions.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLD_TARGET_S, WARM_TARGET_S = 15.0, 3.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serves(port: int, token: str, path: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path, headers={"Authorization": f"token {token}"})
        resp = conn.getresponse()
        resp.read()
        return resp.status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def browser_open(address: str) -> float | None:
    """Seconds until ``address`` shows a notebook with an idle kernel in Chromium, or None."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not chromium:
        return None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    t0 = time.perf_counter()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=flags)
        try:
            page = browser.new_page()
            page.goto(address)
            page.wait_for_selector(".jp-Notebook", timeout=120_000)
            page.wait_for_function("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                                   " const k = w && w.sessionContext && w.sessionContext.session"
                                   " && w.sessionContext.session.kernel; return k && k.status === 'idle'; }",
                                   timeout=120_000)
        finally:
            browser.close()
    return time.perf_counter() - t0


def lab_until_ready(clone: Path, env: dict, *, with_browser: bool) -> dict:
    """Start ``./run lab`` in ``clone``; seconds until it answers (and until Chromium shows it)."""
    port, token = free_port(), secrets.token_hex(12)
    home = Path(tempfile.mkdtemp(prefix="bench-lab-"))
    opened = home / "opened.txt"
    recorder = home / "browser.sh"
    recorder.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    recorder.chmod(0o755)
    (home / "config" / "labconfig").mkdir(parents=True)   # window.jupyterapp, to see the kernel's state
    (home / "config" / "labconfig" / "page_config.json").write_text(json.dumps({"exposeAppInBrowser": True}))
    env = dict(env, BROWSER=f"{recorder} %s", JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(home / "ws"),
               JUPYTER_PLATFORM_DIRS="1")
    log = open(home / "lab.log", "wb")
    t0 = time.perf_counter()
    proc = subprocess.Popen(["bash", "run", "lab", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
                             f"--IdentityProvider.token={token}", "--LabApp.extension_manager=readonly",
                             "--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                            cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    result = {}
    try:
        while True:
            if proc.poll() is not None or time.perf_counter() - t0 > 900:
                raise SystemExit(f"./run lab failed (exit {proc.poll()}):\n{(home / 'lab.log').read_text()[-3000:]}")
            if opened.exists() and opened.read_text().strip() and \
                    serves(port, token, "/api/contents/00_start_here.ipynb?content=0"):
                break
            time.sleep(0.05)
        result["ready"] = time.perf_counter() - t0
        if with_browser:
            extra = browser_open(opened.read_text().strip())
            result["browser"] = None if extra is None else result["ready"] + extra
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        shutil.rmtree(home, ignore_errors=True)
    return result


def packages(venv: Path) -> set[str]:
    code = ("import importlib.metadata as m; print('\\n'.join(f\"{d.metadata['Name'].lower().replace('_', '-')}"
            "=={d.version}\" for d in m.distributions()))")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True).stdout
    return {p for p in out.split() if not p.startswith(("pip==", "setuptools==", "wheel==", "uv=="))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warm-caches", action="store_true", help="keep the user's pip and uv caches")
    ap.add_argument("--no-browser", action="store_true", help="do not open the lab in Chromium")
    args = ap.parse_args(argv)

    print(f"machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()} {platform.machine()}, "
          f"Python {platform.python_version()}; caches {'warm' if args.warm_caches else 'cold (empty)'}")
    work = Path(tempfile.mkdtemp(prefix="bench-setup-"))
    rows, envs = {}, {}
    try:
        for how in ("pip", "uv"):
            clone = work / how
            subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
            env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "ETCDLAB_VENV")}
            if how == "pip":
                env["ETCDLAB_INSTALLER"] = "pip"
            if not args.warm_caches:
                env["PIP_CACHE_DIR"] = str(work / f"cache-{how}" / "pip")
                env["UV_CACHE_DIR"] = str(work / f"cache-{how}" / "uv")
            cold = lab_until_ready(clone, env, with_browser=not args.no_browser)
            warm = lab_until_ready(clone, env, with_browser=False)
            rows[how] = (cold["ready"], cold.get("browser"), warm["ready"])
            envs[how] = packages(clone / ".venv")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'installer':<10} {'cold set-up':>12} {'in Chromium':>12} {'warm':>8}")
    for how, (cold, browser, warm) in rows.items():
        b = "-" if browser is None else f"{browser:.1f} s"
        print(f"{how:<10} {cold:>10.1f} s {b:>12} {warm:>6.1f} s")
    same = envs["pip"] == envs["uv"]
    print(f"\nsame packages and versions either way: {'yes' if same else 'NO'} ({len(envs['uv'])} distributions)")
    if not same:
        print("  only with uv: ", sorted(envs["uv"] - envs["pip"]))
        print("  only with pip:", sorted(envs["pip"] - envs["uv"]))
    cold, _, warm = rows["uv"]
    ok = cold <= COLD_TARGET_S and warm <= WARM_TARGET_S
    print(f"targets (uv): cold <= {COLD_TARGET_S:g} s: {'met' if cold <= COLD_TARGET_S else 'MISSED'}; "
          f"warm <= {WARM_TARGET_S:g} s: {'met' if warm <= WARM_TARGET_S else 'MISSED'}")
    return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())
