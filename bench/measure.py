"""Run one command and report its cost as one JSON line on stdout.

    python bench/measure.py [--out FILE] [--err FILE] [--cwd DIR] -- COMMAND...

A fresh process per measurement, so that `RUSAGE_CHILDREN` holds exactly the
command's process tree:

- wall: seconds from just before the command starts until it is reaped;
- cpu: user + system seconds of every process of the tree that was reaped
  (pytest is reaped by repro, repro by this wrapper);
- maxrss_kib: the largest peak RSS of any single process of the tree;
- tree_peak_kib: the largest sum of RSS over all live processes of the tree,
  sampled every 20 ms from /proc (children files), and never less than
  maxrss_kib. Shared pages are counted once per process: an upper bound.

Only the standard library, and nothing is imported from repro.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
INTERVAL = 0.02


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(c) for c in fh.read().split()]
        except OSError:
            continue
    return out


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss_kib(root: int) -> int:
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_kib(pid)
        todo += _children(pid)
    return total


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, tree_rss_kib(self.pid))
            self.stop.wait(INTERVAL)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.devnull)
    ap.add_argument("--err", default=os.devnull)
    ap.add_argument("--cwd", default=None)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    with open(args.out, "wb") as out, open(args.err, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=args.cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        sampler = Sampler(proc.pid)
        sampler.start()
        rc = proc.wait()
        wall = time.perf_counter() - t0
        sampler.stop.set()
        sampler.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    maxrss = usage.ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": usage.ru_utime + usage.ru_stime,
                "maxrss_kib": maxrss,
                "tree_peak_kib": max(sampler.peak, maxrss),
                "rc": rc,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
