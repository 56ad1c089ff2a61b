#!/usr/bin/python3
"""memwatch.py - run one command and measure it (used by tools/bench/swarm.sh).

  memwatch.py --result R.json [--lines L.txt] [--trace T.txt] [--interval S] [--read-mark BYTES] -- CMD ARGS...

Runs CMD with stdin from /dev/null and stderr passed through, and writes R.json:
  wall          seconds from just before the spawn to the moment the command was reaped
  rc            its exit status (negative: killed by that signal)
  cpu, user, sys  CPU seconds of the command AND every process it started, grandchildren
                included: this process makes itself a child subreaper (prctl), so the
                gpg that gpgme double-forks is reparented to us and reaped here, and its
                CPU is counted (wait4 rusage of every reaped descendant, summed)
  peak_rss_kib  max of the sampled VmHWM of the command and of wait4's ru_maxrss
                (includes file pages mapped into the process: libtorrent 2.0 maps files)
  peak_anon_kib max of the sampled RssAnon of the command itself (private anonymous memory:
                the process's own heap and buffers, what a MemoryMax-style limit must hold)
  peak_file_kib max of the sampled RssFile (file pages mapped into it: with libtorrent's
                mmap disk I/O, the torrent's file; the kernel can drop them, they are cache)
  t_read_mark   seconds from the spawn to the first sample where the command's rchar grew
                by more than --read-mark bytes (default 4 MiB) over its value at the first
                sample: for `swarmup fetch` this marks the start of the payload gate, which
                read()s the file (observed here: the download itself leaves rchar flat,
                and libtorrent's disk writes do count in wchar, so wchar is no marker)
  samples       how many samples were taken
With --trace, every sample is written to that file as a line
  SECONDS RSSANON_KIB VMHWM_KIB RCHAR WCHAR CPU_TICKS
With --lines, every line the command writes to stdout is written to L.txt prefixed by the
seconds since the spawn (for `swarmup fetch --json`: when each event arrived); otherwise
stdout goes to /dev/null.

Sampling reads /proc/PID/status and /proc/PID/io every --interval seconds (default 0.01).
"""
import argparse
import ctypes
import json
import os
import subprocess
import sys
import threading
import time

PR_SET_CHILD_SUBREAPER = 36


def read_status(pid):
    """(VmHWM KiB, RssAnon KiB, RssFile KiB) of pid, or None once it is gone."""
    try:
        with open("/proc/%d/status" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    hwm = anon = rfile = None
    for line in data.split(b"\n"):
        if line.startswith(b"VmHWM:"):
            hwm = int(line.split()[1])
        elif line.startswith(b"RssAnon:"):
            anon = int(line.split()[1])
        elif line.startswith(b"RssFile:"):
            rfile = int(line.split()[1])
    if hwm is None or anon is None or rfile is None:  # a zombie has no memory lines
        return None
    return hwm, anon, rfile


def read_io(pid):
    """(rchar, wchar) of pid, or None."""
    r = w = None
    try:
        with open("/proc/%d/io" % pid, "rb") as f:
            for line in f:
                if line.startswith(b"rchar:"):
                    r = int(line.split()[1])
                elif line.startswith(b"wchar:"):
                    w = int(line.split()[1])
    except OSError:
        return None
    return None if r is None or w is None else (r, w)


def read_cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)
    except (OSError, IndexError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--result", required=True)
    ap.add_argument("--lines")
    ap.add_argument("--interval", type=float, default=0.01)
    ap.add_argument("--read-mark", type=int, default=4 << 20)
    ap.add_argument("--trace")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no command")

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("memwatch: prctl(PR_SET_CHILD_SUBREAPER) failed", file=sys.stderr)
        return 2

    lines_out = open(a.lines, "w") if a.lines else None
    trace = open(a.trace, "w") if a.trace else None
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE if lines_out else subprocess.DEVNULL)
    pid = p.pid

    # Reaper: every descendant that ends up as our child (the command, and orphans
    # reparented to us as subreaper). p.wait() is never called: we reap here.
    acc = {"user": 0.0, "sys": 0.0, "maxrss": 0, "rc": None, "t_exit": None}
    done = threading.Event()

    def reaper():
        while True:
            try:
                rpid, status, ru = os.wait4(-1, 0)
            except ChildProcessError:
                break
            now = time.monotonic()
            acc["user"] += ru.ru_utime
            acc["sys"] += ru.ru_stime
            if rpid == pid:
                acc["maxrss"] = ru.ru_maxrss
                acc["rc"] = os.waitstatus_to_exitcode(status)
                acc["t_exit"] = now
                done.set()
        done.set()

    rt = threading.Thread(target=reaper, daemon=True)
    rt.start()

    def liner():
        for raw in p.stdout:
            lines_out.write("%.3f %s" % (time.monotonic() - t0, raw.decode("utf-8", "replace")))
        lines_out.flush()

    lt_thread = None
    if lines_out:
        lt_thread = threading.Thread(target=liner, daemon=True)
        lt_thread.start()

    hwm_max = anon_max = file_max = 0
    rchar0 = None
    t_mark = None
    samples = 0
    while not done.is_set():
        st = read_status(pid)
        if st is not None:
            samples += 1
            hwm_max = max(hwm_max, st[0])
            anon_max = max(anon_max, st[1])
            file_max = max(file_max, st[2])
            io = read_io(pid)
            if trace:
                trace.write("%.3f %d %d %s %s %s\n" % (time.monotonic() - t0, st[1], st[0],
                                                      io[0] if io else "-", io[1] if io else "-",
                                                      read_cpu_ticks(pid)))
            if io is not None:
                if rchar0 is None:
                    rchar0 = io[0]
                elif t_mark is None and io[0] - rchar0 > a.read_mark:
                    t_mark = time.monotonic() - t0
        done.wait(a.interval)

    # Orphans still running (none expected): give them a moment, then stop waiting.
    rt.join(timeout=2.0)
    if lt_thread:
        lt_thread.join(timeout=2.0)
        lines_out.close()
    if trace:
        trace.close()
    res = {
        "cmd": cmd[0],
        "rc": acc["rc"],
        "wall": round(acc["t_exit"] - t0, 4),
        "cpu": round(acc["user"] + acc["sys"], 3),
        "user": round(acc["user"], 3),
        "sys": round(acc["sys"], 3),
        "peak_rss_kib": max(hwm_max, acc["maxrss"]),
        "peak_anon_kib": anon_max,
        "peak_file_kib": file_max,
        "t_read_mark": None if t_mark is None else round(t_mark, 3),
        "samples": samples,
    }
    with open(a.result, "w") as f:
        json.dump(res, f)
        f.write("\n")
    return 0 if acc["rc"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
