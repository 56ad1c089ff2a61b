"""topo.py - the emulated network of tools/netlab: hosts are network namespaces, each joined by
a veth pair to one bridge that lives in a namespace of its own, with tc limits on every link.

Every host's link is shaped twice, once each way, so that each direction has a rate of its own:
  - the host's side (eth0) carries its uplink: htb at UP Mbit/s, then netem with a quarter of
    the RTT as delay (and jitter);
  - the bridge's side (pN) carries its downlink: htb at DOWN Mbit/s, then netem with another
    quarter of the RTT.
A packet from host A to host B crosses A's uplink and B's downlink, and the reply B's uplink and
A's downlink: four netem delays of RTT/4 each make the RTT. A kernel without sch_netem (as on the
machine this was written on: only htb, tbf and the FIFOs) gets the delay from sw_delayline
(delayline.c) instead: iptables sends what arrives on each host's eth0 to NFQUEUE, where it is
held RTT/2 (plus jitter, without reordering) before going on; on the receiving side, so that
the sender's TCP does not count held packets against its small-queue budget. Loss is nftables':
LOSS% of what arrives on each host's eth0 is dropped at random (numgen), once each way.

Addresses come from 198.18.0.0/15 (RFC 2544, benchmarking). No namespace gets a default route or
any route but its own link's, and check_no_route_out() proves it before anything is started.
Every name made here carries the run's tag, and teardown() removes exactly those namespaces after
killing (by PID, from `ip netns pids`) whatever still runs in them.
"""
import ipaddress
import json
import os
import signal
import subprocess
import time

NET = ipaddress.ip_network("198.18.0.0/15")
PREFIX = NET.prefixlen


class NetlabError(Exception):
    pass


def run(args, check=True, quiet=False):
    """Run a command; raise NetlabError with its stderr when it fails and check is set."""
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and p.returncode != 0:
        raise NetlabError("%s: %s" % (" ".join(args), p.stderr.strip() or "exit %d" % p.returncode))
    if not quiet and p.returncode != 0:
        return None
    return p.stdout


def host_address(index):
    """Address of host INDEX (0: the publisher): 198.18.0.1, .2, ..."""
    return str(NET[index + 1])


def host_mac(index):
    """A locally administered MAC for host INDEX: 02:00:c6:12:hi:lo (c6:12 = 198.18)."""
    return "02:00:c6:12:%02x:%02x" % ((index >> 8) & 0xff, index & 0xff)


class Host:
    def __init__(self, name, ns, index, addr, port):
        self.name = name
        self.ns = ns
        self.index = index
        self.addr = addr
        self.port = port  # the bridge-side veth of this host


class Topology:
    def __init__(self, tag):
        self.tag = tag
        self.bridge_ns = "nl%s-bridge" % tag
        self.namespaces = []  # every namespace we made, in order, for teardown
        self.hosts = {}
        self.netem = None  # True once netem was added; False: this kernel has none
        self.delay_by = None  # "netem", "nfqueue" (sw_delayline) or None (no delay asked)
        self.pending_delay = []  # hosts that still need a delay line: (ns, one-way ms, jitter ms)

    def ns(self, name):
        return "nl%s-%s" % (self.tag, name)

    def _add_ns(self, ns):
        run(["ip", "netns", "add", ns])
        self.namespaces.append(ns)
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        # IPv4 only: no IPv6 link-local or multicast chatter, and no IPv6 route at all.
        run(["ip", "netns", "exec", ns, "sh", "-c",
             "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; "
             "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; "
             "echo 1 > /proc/sys/net/ipv6/conf/lo/disable_ipv6"])

    def make_bridge(self):
        self._add_ns(self.bridge_ns)
        run(["ip", "-n", self.bridge_ns, "link", "add", "br0", "type", "bridge", "stp_state", "0"])
        run(["ip", "-n", self.bridge_ns, "link", "set", "br0", "up"])

    def _shape(self, ns, dev, mbit, delay_ms, jitter_ms):
        """htb at MBIT on DEV's egress; under it netem (delay, jitter) where the kernel has it,
        else a byte FIFO holding at most ~200 ms at the link's rate (a consumer router's queue)."""
        rate = "%.3fmbit" % mbit
        run(["tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default", "1"])
        run(["tc", "-n", ns, "class", "add", "dev", dev, "parent", "1:", "classid", "1:1", "htb",
             "rate", rate, "ceil", rate, "quantum", "60000"])
        leaf = ["tc", "-n", ns, "qdisc", "add", "dev", dev, "parent", "1:1", "handle", "10:"]
        if delay_ms > 0 and self.netem is not False:
            netem = leaf + ["netem", "limit", "100000", "delay", "%.3fms" % delay_ms]
            if jitter_ms > 0:
                netem += ["%.3fms" % jitter_ms, "distribution", "normal"]
            p = subprocess.run(netem, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if p.returncode == 0:
                self.netem = True
                return
            if "unknown" not in p.stderr.lower():
                raise NetlabError("%s: %s" % (" ".join(netem), p.stderr.strip()))
            # This kernel has no sch_netem: the delay comes from sw_delayline (start_delay_lines).
            self.netem = False
        run(leaf + ["bfifo", "limit", str(max(30000, int(mbit * 1e6 / 8 * 0.2)))])

    def _loss(self, ns, loss_pct):
        """Drop LOSS_PCT of the packets arriving on eth0, at random (nftables numgen), before
        conntrack: loss on the way in, as the network would lose them (a drop on the way out
        would only make the sender's TCP try again at once)."""
        if loss_pct <= 0:
            return
        n = int(round(loss_pct / 100.0 * 1000000))
        rules = ("table inet netlab_loss {\n chain pre {\n  type filter hook prerouting priority -300;"
                 " policy accept;\n  iif \"eth0\" numgen random mod 1000000 < %d drop\n }\n}\n" % n)
        p = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=rules, text=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise NetlabError("nft (loss) in %s: %s" % (ns, p.stderr.strip()))

    def add_host(self, name, index, up_mbit, down_mbit, rtt_ms, jitter_ms, loss_pct):
        ns = self.ns(name)
        self._add_ns(ns)
        addr = host_address(index)
        port = "p%d" % index
        run(["ip", "link", "add", port, "netns", self.bridge_ns, "type", "veth", "peer", "name", "eth0",
             "netns", ns, "address", host_mac(index)])
        run(["ip", "-n", self.bridge_ns, "link", "set", port, "master", "br0", "up"])
        # Segments of one MSS each: a random drop then loses a packet, not a 64 KiB GSO burst.
        for n, d in ((ns, "eth0"), (self.bridge_ns, port)):
            run(["ip", "-n", n, "link", "set", d, "gso_max_size", "1514"], check=False)
        run(["ip", "-n", ns, "addr", "add", "%s/%d" % (addr, PREFIX), "dev", "eth0"])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        self._shape(ns, "eth0", up_mbit, rtt_ms / 4.0, jitter_ms / 4.0)
        self._shape(self.bridge_ns, port, down_mbit, rtt_ms / 4.0, jitter_ms / 4.0)
        self._loss(ns, loss_pct)
        if rtt_ms > 0 and not self.netem:
            self.pending_delay.append((ns, rtt_ms / 2.0, jitter_ms / 2.0))
        self.delay_by = ("netem" if self.netem else "nfqueue") if rtt_ms > 0 else None
        h = Host(name, ns, index, addr, port)
        self.hosts[name] = h
        return h

    def fill_neighbours(self):
        """Permanent neighbour entries on every host for every other host. The kernel's ARP
        table is one for all namespaces (gc_thresh3, 1024 entries by default): a swarm of 50
        hosts, each resolving most others, overflowed it ("arp_cache: neighbor table overflow!"
        in dmesg), and every client that started after some 44 others could not even reach the
        origin. Permanent entries do not count against the threshold, and no ARP crosses the
        shaped links (on the internet a host resolves its own router only)."""
        hosts = sorted(self.hosts.values(), key=lambda h: h.index)
        for h in hosts:
            lines = "".join("neigh replace %s lladdr %s dev eth0 nud permanent\n" % (o.addr, host_mac(o.index))
                            for o in hosts if o is not h)
            if not lines:
                continue
            p = subprocess.run(["ip", "-n", h.ns, "-batch", "-"], input=lines, text=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
            if p.returncode != 0:
                raise NetlabError("ip neigh in %s: %s" % (h.ns, p.stderr.strip()[:300]))

    def start_delay_lines(self, delayline, work):
        """Where netem is missing: one sw_delayline per host, holding what arrives on its eth0."""
        import subprocess as sp
        ready = []
        for ns, one_way, jit in self.pending_delay:
            rf = os.path.join(work, "delay-%s.ready" % ns)
            run(["ip", "netns", "exec", ns, "iptables", "-t", "mangle", "-A", "PREROUTING", "-i", "eth0",
                 "-j", "NFQUEUE", "--queue-num", "0"])
            with open(os.path.join(work, "delay-%s.log" % ns), "w") as lf:
                sp.Popen(["ip", "netns", "exec", ns, delayline, "0", "%.3f" % one_way, "%.3f" % jit, rf],
                         stdin=sp.DEVNULL, stdout=lf, stderr=lf, start_new_session=True)
            ready.append(rf)
        end = time.monotonic() + 10
        while time.monotonic() < end and not all(os.path.exists(r) for r in ready):
            time.sleep(0.05)
        missing = [r for r in ready if not os.path.exists(r)]
        if missing:
            raise NetlabError("sw_delayline did not start: %s" % ", ".join(missing[:3]))
        self.pending_delay = []

    def check_no_route_out(self):
        """Fail unless every namespace we made has only routes inside 198.18.0.0/15 (and
        loopback), no IPv6 route, no interface but lo/eth0 (lo/br0/pN in the bridge's), and
        `ip route get` to an outside address fails."""
        allowed = [NET, ipaddress.ip_network("127.0.0.0/8")]
        for ns in self.namespaces:
            routes = json.loads(run(["ip", "-n", ns, "-j", "route", "show", "table", "all"]) or "[]")
            for r in routes:
                dst = r.get("dst", "")
                if dst == "default":
                    raise NetlabError("namespace %s has a default route: %s" % (ns, r))
                try:
                    net = ipaddress.ip_network(dst, strict=False)
                except ValueError:
                    raise NetlabError("namespace %s has a route we cannot judge: %s" % (ns, r))
                if not any(net.subnet_of(a) for a in allowed):
                    raise NetlabError("namespace %s has a route out of 198.18.0.0/15: %s" % (ns, r))
            r6 = json.loads(run(["ip", "-n", ns, "-6", "-j", "route", "show", "table", "all"]) or "[]")
            if r6:
                raise NetlabError("namespace %s has IPv6 routes: %s" % (ns, r6[:3]))
            links = json.loads(run(["ip", "-n", ns, "-j", "link", "show"]) or "[]")
            for link in links:
                n = link.get("ifname", "")
                ok = n == "lo" or (ns == self.bridge_ns and (n == "br0" or n.startswith("p"))) or \
                    (ns != self.bridge_ns and n == "eth0")
                if not ok:
                    raise NetlabError("namespace %s has an interface we did not make: %s" % (ns, n))
            for outside in ("192.0.2.1", "8.8.8.8"):
                p = subprocess.run(["ip", "-n", ns, "route", "get", outside], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                if p.returncode == 0:
                    raise NetlabError("namespace %s can route to %s" % (ns, outside))

    def pids(self, ns):
        out = run(["ip", "netns", "pids", ns], check=False, quiet=True) or ""
        return [int(x) for x in out.split() if x.isdigit()]

    def teardown(self, grace=3.0):
        """Kill (by PID) whatever runs in our namespaces, then delete them. Never raises."""
        errors = []
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
            left = []
            for ns in self.namespaces:
                for pid in self.pids(ns):
                    if pid == os.getpid():
                        continue
                    try:
                        os.kill(pid, sig)
                        left.append(pid)
                    except ProcessLookupError:
                        pass
                    except OSError as e:
                        errors.append("kill %d: %s" % (pid, e))
            end = time.monotonic() + wait
            while left and time.monotonic() < end:
                left = [p for p in left if _alive(p)]
                time.sleep(0.1)
            if not left:
                break
        for ns in reversed(self.namespaces):
            p = subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
            if p.returncode != 0 and ns in list_namespaces():
                errors.append("ip netns del %s: %s" % (ns, p.stderr.strip()))
        self.namespaces = [ns for ns in self.namespaces if ns in list_namespaces()]
        return errors


def _alive(pid):
    """True while PID exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def list_namespaces():
    out = run(["ip", "netns", "list"], check=False, quiet=True) or ""
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def can_make_namespaces():
    """(True, "") when a network namespace can be made and removed here, else (False, why)."""
    probe = "nlprobe%d" % os.getpid()
    p = subprocess.run(["ip", "netns", "add", probe], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    if p.returncode != 0:
        return False, p.stderr.strip() or "ip netns add failed"
    subprocess.run(["ip", "netns", "del", probe], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return True, ""
