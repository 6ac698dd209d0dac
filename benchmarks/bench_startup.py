"""Start-up: ``etcdlab doctor single-control-plane`` as a whole process, against
``python -c 'import yaml'`` (the least any etcdlab command does: it reads YAML).

Issue 9's target: the doctor takes at most 2x the time of importing yaml. Each is run N
times as a fresh process (the interpreter's own start-up included); the medians and their
ratio are printed.

    .venv/bin/python benchmarks/bench_startup.py [N]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _medians(cmds: list[list[str]], n: int) -> list[float]:
    """Median wall time of each command, run n times as fresh processes, *interleaved*
    (a, b, a, b, ...) so that whatever else the machine does weighs on both alike."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # any value, even "0", stops .pyc writing
    for cmd in cmds:  # warm the disk cache and write the .pyc files
        subprocess.run(cmd, check=False, capture_output=True, env=env, cwd=ROOT)
    times: list[list[float]] = [[] for _ in cmds]
    for _ in range(n):
        for cmd, ts in zip(cmds, times):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=False, capture_output=True, env=env, cwd=ROOT)
            ts.append(time.perf_counter() - t0)
    return [statistics.median(ts) for ts in times]


def main(n: int = 21) -> dict:
    script = BIN / "etcdlab"
    doctor = [str(script)] if script.exists() else [sys.executable, "-m", "etcdlab"]
    yaml_s, doctor_s = _medians([[sys.executable, "-c", "import yaml"], [*doctor, "doctor", "single-control-plane"]], n)
    result = {"runs": n, "import_yaml_s": yaml_s, "doctor_s": doctor_s, "ratio": doctor_s / yaml_s}
    print(f"python -c 'import yaml'               median of {n}: {yaml_s * 1000:6.1f} ms")
    print(f"etcdlab doctor single-control-plane  median of {n}: {doctor_s * 1000:6.1f} ms")
    print(f"ratio: {result['ratio']:.2f} (target <= 2.0)")
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 21)
