"""How long a click in the quorum app takes on the kernel side, and how fast the Raft model runs.

    .venv/bin/python benchmarks/bench_quorum_app.py [--rounds 200] [--size 5] [--no-draw]

A "click" is what the kernel does after the browser reports a toggled member or a
changed network side: the observer runs, the quorum model computes the new state, the
status line, role labels and answers are rewritten, the topology drawing is restyled
(down members greyed, cut links dashed) and rendered to SVG, and every changed widget
property is serialized for the front end. Widgets here talk to a stand-in comm that
JSON-encodes each message the way the kernel would before sending it, so encoding is
counted; the network and the browser's own rendering are not.

Target (issue 4): median at most 50 ms on the 2-core machine. The script prints the
median and the 95th percentile of each kind of update, plus the Raft model's speed in
simulated seconds per real second.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("MPLBACKEND", "Agg")


class _SerializingComm:
    """Replaces the kernel's comm: JSON-encodes every message like the kernel's session does."""

    bytes_sent = 0
    messages = 0

    def __new__(cls, *args, **kwargs):
        from comm import DummyComm

        class SerializingComm(DummyComm):
            def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
                payload = json.dumps({"msg_type": msg_type, "data": data, "metadata": metadata or {}},
                                     default=str)
                _SerializingComm.messages += 1
                _SerializingComm.bytes_sent += len(payload) + sum(len(memoryview(b)) for b in buffers or ())

        return SerializingComm(*args, **kwargs)


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def timed(fn, rounds):
    out = []
    for i in range(rounds):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def report(label, ms):
    print(f"{label:<44} median {statistics.median(ms):6.1f} ms   p95 {percentile(ms, 95):6.1f} ms"
          f"   (n={len(ms)})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--size", type=int, default=5)
    ap.add_argument("--no-draw", action="store_true", help="leave the topology drawing out")
    args = ap.parse_args(argv)

    import comm

    comm.create_comm = _SerializingComm  # every widget created from here on uses it

    from etcdlab.sim.widgets import quorum_app

    t0 = time.perf_counter()
    app = quorum_app(args.size, draw=not args.no_draw)
    build_ms = (time.perf_counter() - t0) * 1000
    names = list(app.member_toggles)

    def toggle(i):  # switch members off one by one, then on again: every state is visited
        t = app.member_toggles[names[i % len(names)]]
        t.value = not t.value

    def move_side(i):
        p = app.side_pickers[names[(i * 2) % len(names)]]
        p.value = "B" if p.value == "A" else "A"

    def press(i):
        list(app.client_buttons.values())[i % 3].click()

    for i in range(10):  # warm-up: caches, first PNG encode
        toggle(i)
    app.reset()

    import platform
    print(f"quorum app, {args.size} members, drawing {'off' if args.no_draw else 'on'}; "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"{'build the app (first time, imports included)':<44} {build_ms:6.1f} ms")
    _SerializingComm.messages = _SerializingComm.bytes_sent = 0
    toggles = timed(toggle, args.rounds)
    per_click = _SerializingComm.bytes_sent / args.rounds
    report("toggle a member (model+status+drawing)", toggles)
    app.reset()
    report("move a member to the other network side", timed(move_side, args.rounds))
    report("press a client button", timed(press, args.rounds))
    sizes = [3, 5, 7, 1]
    report("change the size (new drawing)", timed(lambda i: setattr(app.size_picker, "value",
                                                                      sizes[i % len(sizes)]),
                                                  max(8, args.rounds // 10)))
    print(f"{'sent to the front end per toggle':<44} {per_click / 1024:6.1f} KiB")

    from etcdlab.sim.raft import simulate_election

    for scenario, size in (("leader-failure", 3), ("partition", 5)):
        runs, sim_ms = 0, 0.0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 1.0:
            t = simulate_election(scenario, size=size, seed=runs)
            sim_ms += t.duration
            runs += 1
        real = time.perf_counter() - t0
        print(f"raft {scenario:<15} {size} members: {sim_ms / 1000 / real:8.0f} simulated s per real s"
              f"   ({runs} runs)")
    ok = statistics.median(toggles) <= 50
    print("target: toggle median <= 50 ms:", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
