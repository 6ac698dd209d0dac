"""Benchmark the real local etcd cluster: start-up, failover, quorum-loss detection, memory.

    .venv/bin/python benchmarks/bench_local.py            # a few minutes on 2 cores
    .venv/bin/python benchmarks/bench_local.py --quick    # fewer repetitions
    .venv/bin/python benchmarks/bench_local.py --json     # one JSON object instead of tables

What it measures, and against what:

* **start → first write** for 1, 3 and 5 members: from ``LocalCluster.start()`` being
  called (temp directory, PKI, members started one after another) to the first write
  being acknowledged. Targets: 3 members ≤ 1.0 s median, 5 members ≤ 1.5 s median.
* **failover**: SIGKILL the leader of a 3-member cluster; time until a surviving member
  reports a new leader. Compared with the configured election timeout, the floor: a
  follower waits a randomised election timeout (between 1x and 2x the setting) without
  heartbeats before it even starts an election, so Raft cannot do better.
* **quorum-loss detection**: SIGKILL two of three members; time from the kill until a
  write started right after it is refused with ``QuorumLost``. Target ≤ 2.5 s.
* **memory**: resident set size of each member after start-up and after 2000 writes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from etcdlab.errors import QuorumLost  # noqa: E402
from etcdlab.real.binary import etcd_version, find_etcd  # noqa: E402
from etcdlab.real.lab import LocalCluster  # noqa: E402
from etcdlab.real.members import Timings  # noqa: E402


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    fs = "?"
    try:
        import tempfile

        tmp = os.path.realpath(tempfile.gettempdir())
        best = ""
        with open("/proc/mounts") as f:
            for line in f:
                _, mnt, typ, *_ = line.split()
                if tmp.startswith(mnt) and len(mnt) > len(best):
                    best, fs = mnt, typ
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "etcd": etcd_version(find_etcd()), "temp_fs": fs}


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "n": len(values)}


def bench_start(sizes=(1, 3, 5), runs: int = 7) -> dict:
    out = {}
    for size in sizes:
        times = []
        for _ in range(runs):
            with LocalCluster(size) as c:
                times.append(c.start_to_first_write_s)
        out[size] = summary(times)
    return out


def bench_failover(election_ms=(250, 500, 1000), runs: int = 5) -> dict:
    out = {}
    for ms in election_ms:
        times = []
        with LocalCluster(3, timings=Timings(heartbeat_ms=ms // 10, election_ms=ms)) as c:
            for _ in range(runs):
                leader = c.wait_for_leader(10)
                t0 = time.monotonic()
                c.kill(leader)
                new = c.wait_for_leader(15, not_=leader)
                times.append(time.monotonic() - t0)
                assert new is not None
                c.start_member(leader)
                time.sleep(0.3)
        s = summary(times)
        s["vs_election_timeout"] = round(s["median"] / (ms / 1000), 2)
        out[ms] = s
    return out


def bench_detection(runs: int = 3) -> dict:
    times = []
    with LocalCluster(3) as c:
        for _ in range(runs):
            c.wait_for_leader(10)
            leader = c.leader()
            others = [m for m in c.members if m is not leader]
            survivor = others[1]
            with c.client(survivor) as client:
                client.put("/bench/warm", "1")
                t0 = time.monotonic()
                c.kill(leader)
                c.kill(others[0])
                try:
                    client.put("/bench/k", "v")
                    raise AssertionError("a write succeeded without quorum")
                except QuorumLost:
                    times.append(time.monotonic() - t0)
            c.start_member(leader)
            c.start_member(others[0])
            time.sleep(0.5)
    return summary(times)


def bench_memory(writes: int = 2000) -> dict:
    with LocalCluster(3) as c:
        idle = [m.rss_bytes() / 2**20 for m in c.members]
        with c.client() as client:
            for i in range(writes):
                client.put(f"/bench/{i:06d}", "x" * 100)
        busy = [m.rss_bytes() / 2**20 for m in c.members]
    return {"after_start_mb": summary(idle), f"after_{writes}_writes_mb": summary(busy)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repetitions")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    runs = 3 if args.quick else 7
    result = {"machine": machine()}
    result["start_to_first_write_s"] = bench_start(runs=runs)
    result["failover_s"] = bench_failover(runs=3 if args.quick else 5)
    result["quorum_loss_detect_s"] = bench_detection(runs=2 if args.quick else 3)
    result["memory"] = bench_memory()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    m = result["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['os']}, Python {m['python']}, etcd {m['etcd']}, "
          f"temp dir on {m['temp_fs']}\n")
    print("start -> first write (s)      median    min    max   runs")
    for size, s in result["start_to_first_write_s"].items():
        print(f"  {size} member(s)              {s['median']:7.3f} {s['min']:6.3f} {s['max']:6.3f}   {s['n']}")
    print("\nfailover, 3 members (s)       median    min    max   runs  median/election timeout")
    for ms, s in result["failover_s"].items():
        print(f"  election timeout {ms:4d} ms  {s['median']:7.3f} {s['min']:6.3f} {s['max']:6.3f}   {s['n']}"
              f"     {s['vs_election_timeout']:.2f}x")
    d = result["quorum_loss_detect_s"]
    print(f"\nquorum loss -> QuorumLost      {d['median']:7.3f} {d['min']:6.3f} {d['max']:6.3f}   {d['n']}")
    print("\nmemory per member (MB, RSS)   median    min    max")
    for k, s in result["memory"].items():
        print(f"  {k:<27} {s['median']:7.1f} {s['min']:6.1f} {s['max']:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
