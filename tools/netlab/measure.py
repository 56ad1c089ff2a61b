"""measure.py - what tools/netlab measures while a scenario runs.

- Client: one `swarmup fetch` process; a thread reads its --json events as they come and stamps
  each with our monotonic clock, so a client's install time is from its spawn to its `installed`
  event. The process is reaped with wait4 for its CPU time (its waited children, gpg, included).
- iface_bytes(): the kernel's counters of an interface (`ip -s link`), read in its namespace.
- CpuSampler: the whole machine's /proc/stat every second (busy and softirq shares: netem and the
  bridge run in softirq), to tell whether 2 cores were the bottleneck.
- ns_cpu_seconds(): user+system CPU of the processes alive in a namespace (the publisher's).
"""
import json
import os
import subprocess
import threading
import time

from topo import run

CLK_TCK = os.sysconf("SC_CLK_TCK")


class Client:
    def __init__(self, i, host, corporate, churn, proc, t0, start_s, outdir):
        self.i = i
        self.host = host
        self.corporate = corporate
        self.churn = churn
        self.proc = proc
        self.t0 = t0  # the scenario's start (monotonic)
        self.start_s = start_s  # spawn time, from the scenario's start
        self.outdir = outdir
        self.installed_s = None  # from the scenario's start
        self.installed = None  # the installed event
        self.first_https_s = None  # the first HTTPS payload byte: fetch's https-first-byte event when it came
        # (its arrival here), else the first event showing HTTPS bytes (progress lines: 1 s granularity)
        self.fallback_s = None  # the `fallback` event (switch to HTTPS)
        self.manifest_s = None  # the `manifest` event: the manifest fetched and verified
        self.manifest_ms = None  # ... and its elapsed_ms: the same from inside the process
        self.verify_ms = None  # ... of which the signature check
        self.fallback_why = None  # and its message
        self.peer_connected = 0  # swarmup's peer-connected events (libtorrent posts them at the connect attempt)
        self.max_peers = 0  # the most peers a progress event showed (libtorrent's num_peers: connected ones)
        self.fw_dropped = None
        self.errors = []
        self.rc = None
        self.cpu_s = None
        self.eof = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        with open(os.path.join(self.outdir, "events.jsonl"), "wb") as keep:
            self._read_into(keep)
        self.eof.set()

    def _read_into(self, keep):
        for raw in self.proc.stdout:
            now = time.monotonic() - self.t0
            keep.write(b"%.3f " % now + raw)
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            kind = ev.get("event")
            if kind == "installed" and self.installed_s is None:
                self.installed_s = now
                self.installed = ev
            elif kind == "manifest" and self.manifest_s is None:
                self.manifest_s = now
                self.manifest_ms = ev.get("elapsed_ms")
                self.verify_ms = ev.get("verify_ms")
            elif kind == "peer-connected":
                self.peer_connected += 1
            elif kind == "fallback" and self.fallback_s is None:
                self.fallback_s = now
                self.fallback_why = ev.get("message")
            elif kind == "https-first-byte" and self.first_https_s is None:
                self.first_https_s = now
            elif kind == "error":
                self.errors.append(ev.get("message") or ev.get("reason") or str(ev))
            self.max_peers = max(self.max_peers, int(ev.get("peers", 0) or 0))
            if self.first_https_s is None and int(ev.get("https_bytes", 0) or 0) > 0:
                self.first_https_s = now

    def done(self):
        """True once it installed or its output ended (it exited)."""
        return self.installed_s is not None or self.eof.is_set()

    def reap(self, timeout):
        """Wait for the process (after it was told to stop) and take its CPU time."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: no CPU figure for it
                self.rc = self.proc.returncode
                break
            if pid:
                self.rc = os.waitstatus_to_exitcode(status)
                self.proc.returncode = self.rc  # so that Popen does not wait for it again
                self.cpu_s = ru.ru_utime + ru.ru_stime
                break
            time.sleep(0.05)
        self.reader.join(2)

    def install_s(self):
        return None if self.installed_s is None else self.installed_s - self.start_s

    def first_https_after_start(self):
        return None if self.first_https_s is None else self.first_https_s - self.start_s


def iface_bytes(ns, dev):
    """(tx_bytes, rx_bytes) of DEV in NS, from the kernel's 64-bit counters."""
    j = json.loads(run(["ip", "-n", ns, "-s", "-j", "link", "show", "dev", dev]))[0]
    st = j.get("stats64") or j.get("stats")
    return int(st["tx"]["bytes"]), int(st["rx"]["bytes"])


def qdisc_drops(ns, dev):
    """Packets the qdiscs of DEV in NS dropped (a full queue: the link was the bottleneck)."""
    try:
        q = json.loads(run(["tc", "-n", ns, "-s", "-j", "qdisc", "show", "dev", dev]))
        return sum(int(x.get("drops", 0)) for x in q)
    except (ValueError, TypeError, Exception):
        return None


def ns_cpu_seconds(pids):
    """User+system seconds used so far by the live processes PIDS."""
    total = 0.0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
        except (OSError, IndexError, ValueError):
            pass
    return total


def _cpu_times():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    idle = v[3] + v[4]
    return sum(v[:8]), idle, v[6]


class CpuSampler:
    """The machine's CPU use, sampled every second in a thread of its own."""

    def __init__(self):
        self.samples = []  # (busy fraction, softirq fraction) per second
        self.stop_ev = threading.Event()
        self.ncpu = os.cpu_count() or 1
        self.t = threading.Thread(target=self._run, daemon=True)
        self.first = _cpu_times()
        self.t.start()

    def _run(self):
        prev = self.first
        while not self.stop_ev.wait(1.0):
            cur = _cpu_times()
            dt = cur[0] - prev[0]
            if dt > 0:
                self.samples.append((1.0 - (cur[1] - prev[1]) / dt, (cur[2] - prev[2]) / dt))
            prev = cur

    def stop(self):
        self.stop_ev.set()
        self.t.join(2)
        last = _cpu_times()
        dt = last[0] - self.first[0]
        busy = sorted(s[0] for s in self.samples)
        return {
            "ncpu": self.ncpu,
            "machine_busy_mean": round(1.0 - (last[1] - self.first[1]) / dt, 3) if dt else None,
            "machine_softirq_mean": round((last[2] - self.first[2]) / dt, 3) if dt else None,
            "machine_busy_p95": round(busy[max(0, int(0.95 * len(busy)) - 1)], 3) if busy else None,
            "seconds_over_95pct_busy": sum(1 for b in busy if b > 0.95),
            "seconds_sampled": len(busy),
            "loadavg_end": open("/proc/loadavg").read().split()[:3],
        }


def sha256_file(path):
    out = subprocess.run(["openssl", "dgst", "-sha256", "-r", path], stdout=subprocess.PIPE, text=True)
    return out.stdout.split()[0] if out.returncode == 0 and out.stdout else None
