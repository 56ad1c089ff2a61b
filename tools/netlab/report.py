"""report.py - the figures of one tools/netlab scenario: the --json object and a short summary.

capacity_bound_s is the physical limit of the scenario for a typical client, read every install
time against it. With S the release size, D a client's downlink, P the publisher's uplink, U_i
the uplinks of the clients that can upload (corporate ones cannot: their firewall drops every
peer), N the clients and W the spread of their starts:
    max(S / D, S / P, N x S / (P + sum U_i) - W / 2)
The last term: the whole network's upload, used fully from the first start, delivers N copies by
N x S / (P + sum U_i); a client starting in the middle of the spread finishes W / 2 before that.
The bound ignores TCP/TLS/BitTorrent overheads, slow start and loss: nothing can beat it.
"""
import math
import statistics

MBIT = 1e6 / 8  # bytes per second in one Mbit/s


def pct(xs, p):
    """Nearest-rank percentile (None for no data)."""
    if not xs:
        return None
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100.0 * len(s)) - 1)]


def capacity_bound(a, n_corporate):
    size = a.size_bytes
    n = a.clients
    per_client = max(size / (a.client_down * MBIT), size / (a.publisher_up * MBIT))
    if a.https_only:
        uplinks = a.publisher_up
    else:
        uplinks = a.publisher_up + (n - n_corporate) * a.client_up
    aggregate = n * size / (uplinks * MBIT) - a.spread / 2.0
    return round(max(per_client, aggregate), 2)


def r(x, d=2):
    return None if x is None else round(x, d)


def build(a, clients, pub, cpu, extra):
    """The --json object. A: the parsed arguments; CLIENTS: measure.Client list; PUB: publisher
    counters; CPU: CpuSampler.stop(); EXTRA: anything else to keep (namespaces, pids, ...)."""
    size = a.size_bytes
    installs = [c.install_s() for c in clients]
    ok = [t for t in installs if t is not None]
    corp = [c.install_s() for c in clients if c.corporate and c.install_s() is not None]
    corp_https = [c.first_https_after_start() for c in clients if c.corporate]
    n_corp = sum(1 for c in clients if c.corporate)
    per_client = []
    for c in clients:
        ev = c.installed or {}
        per_client.append({
            "i": c.i, "addr": c.host.addr, "corporate": c.corporate, "churn": c.churn,
            "start_s": r(c.start_s, 3), "install_s": r(c.install_s(), 3),
            "first_https_s": r(c.first_https_after_start(), 3),
            "fallback_s": r(None if c.fallback_s is None else c.fallback_s - c.start_s, 3),
            "fallback_why": c.fallback_why,
            # the manifest verified, after the spawn; and from inside the process (the
            # rest of the first is exec and start-up on a busy machine)
            "manifest_s": r(None if c.manifest_s is None else c.manifest_s - c.start_s, 3),
            "manifest_ms": c.manifest_ms, "manifest_verify_ms": c.verify_ms,
            "swarm_bytes": ev.get("swarm_bytes"), "https_bytes": ev.get("https_bytes"),
            "peer_connected": c.peer_connected, "max_peers": c.max_peers, "fw_dropped": c.fw_dropped,
            "sha256_ok": getattr(c, "sha_ok", None),
            "rc": c.rc, "cpu_s": r(c.cpu_s, 2), "errors": c.errors[:3],
        })
    client_cpu = sum(c.cpu_s or 0 for c in clients)
    wall = extra.get("scenario_s") or 0
    cpu = dict(cpu)
    cpu["clients_cpu_s"] = round(client_cpu, 1)
    cpu["publisher_cpu_s"] = r(pub.get("cpu_s"), 1)
    if wall:
        # Our processes' share of the machine: 1.0 = every core busy with them all along.
        cpu["ours_share_of_machine"] = round((client_cpu + (pub.get("cpu_s") or 0)) / (wall * cpu["ncpu"]), 3)
    out = {
        "mode": "https-only" if a.https_only else "swarm",
        "clients": a.clients,
        "size": size,
        "size_mib": round(a.size_mib, 3),
        "scale": a.scale, "nominal": a.nominal,
        "publisher_up_mbit": a.publisher_up, "client_down_mbit": a.client_down, "client_up_mbit": a.client_up,
        "rtt_ms": a.rtt, "jitter_ms": a.jitter, "loss_pct": a.loss, "corporate_pct": a.corporate,
        "corporate": n_corp, "churn_pct": a.churn, "spread_s": a.spread, "seed_time_s": a.seed_time,
        "super_seed": (a.super_seed == "on") and not a.https_only,
        "swarm_timeout_s": None if a.https_only else a.swarm_timeout,
        "prefer_swarm": bool(a.prefer_swarm) and not a.https_only,
        "client_min_rate": a.min_rate,
        "client_rates": a.client_rates,
        "publisher_tx_bytes": pub["tx"],
        "publisher_rx_bytes": pub["rx"],
        "egress_copies": round(pub["tx"] / size, 3),
        "origin_body_bytes": pub.get("origin_body"),
        "seed_upload_bytes": pub.get("seed_upload"),
        "publisher_uplink_queue_drops": pub.get("qdisc_drops"),
        "install_s": [r(t, 3) for t in installs],
        "median_s": r(statistics.median(ok)) if ok else None,
        "p95_s": r(pct(ok, 95)),
        "max_s": r(max(ok)) if ok else None,
        "corporate_install_s": [r(t, 3) for t in corp],
        "corporate_median_s": r(statistics.median(corp)) if corp else None,
        "corporate_first_https_s": [r(t, 3) for t in corp_https],
        "corporate_peer_connected": sum(c.peer_connected for c in clients if c.corporate),
        "corporate_max_peers": max([c.max_peers for c in clients if c.corporate] or [0]),
        "capacity_bound_s": capacity_bound(a, n_corp),
        "failed": sum(1 for t in installs if t is None) + sum(1 for c in clients if getattr(c, "sha_ok", True) is False),
        "cpu": cpu,
        "per_client": per_client,
    }
    out.update(extra)
    return out


def summary(j):
    """A few lines for the terminal."""
    lines = [
        "netlab: %s, %d clients (%d corporate), %g MiB: publisher sent %.1f MiB = %.2f copies "
        "(origin bodies %s MiB, seed payload %s MiB)" % (
            j["mode"], j["clients"], j["corporate"], j["size_mib"], j["publisher_tx_bytes"] / 1048576.0,
            j["egress_copies"], _mib(j.get("origin_body_bytes")), _mib(j.get("seed_upload_bytes"))),
        "netlab: install median %s s, p95 %s s, max %s s; capacity bound %s s; corporate median %s s; "
        "failed %d" % (j["median_s"], j["p95_s"], j["max_s"], j["capacity_bound_s"], j["corporate_median_s"],
                       j["failed"]),
        "netlab: CPU: machine busy %s mean, %s p95 (%d of %d s over 95%%); softirq %s; our processes %s of "
        "the machine (clients %s s, publisher %s s)" % (
            j["cpu"].get("machine_busy_mean"), j["cpu"].get("machine_busy_p95"),
            j["cpu"].get("seconds_over_95pct_busy"), j["cpu"].get("seconds_sampled"),
            j["cpu"].get("machine_softirq_mean"), j["cpu"].get("ours_share_of_machine"),
            j["cpu"].get("clients_cpu_s"), j["cpu"].get("publisher_cpu_s")),
    ]
    return "\n".join(lines)


def _mib(b):
    return "-" if b is None else "%.1f" % (b / 1048576.0)
