#!/usr/bin/python3
"""savings_report.py RES_DIR OUT.png - the report and plot of tools/bench/savings.sh.

Reads RES_DIR/MODE-N/ (MODE swarm, prefer or https; the pairs that were run): scen.json (the publisher's seed upload during
the scenario), access.log (nginx's lines of the scenario: "$server_port $status
$body_bytes_sent ..."), cN.json (memwatch.py's result per client), cN.lines (its
timestamped --json events), cN.start (its spawn offset in the scenario). Prints the
markdown tables to stdout, writes the plot to OUT.png and, with SW_B_SUMMARY set, the
headline figures as JSON to that file. Settings come from the SW_B_* environment.
"""
import glob
import json
import math
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def pct(xs, p):
    """Nearest-rank percentile."""
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100.0 * len(s)) - 1)]


def load_scen(d, name):
    with open(os.path.join(d, "scen.json")) as f:
        sc = json.load(f)
    origin = 0
    reqs = 0
    with open(os.path.join(d, "access.log")) as f:
        for line in f:
            p = line.split()
            if len(p) > 3 and p[1] in ("200", "206") and name in line:
                origin += int(p[2])
                reqs += 1
    sc["origin"] = origin
    sc["origin_requests"] = reqs
    clients = []
    for sf in sorted(glob.glob(os.path.join(d, "c*.start")), key=lambda s: int(os.path.basename(s)[1:-6])):
        base = sf[:-6]
        try:
            with open(base + ".json") as f:
                c = json.load(f)
        except (OSError, ValueError):  # killed by the timeout: memwatch wrote nothing
            c = {"rc": "killed", "wall": float("nan"), "cpu": 0.0, "peak_anon_kib": 0}
        for k, v in (("wall", float("nan")), ("cpu", 0.0), ("peak_anon_kib", 0)):
            c.setdefault(k, v)
        with open(base + ".start") as f:
            c["start"] = float(f.read())
        c["ev"] = {}
        with open(base + ".lines") if os.path.exists(base + ".lines") else open(os.devnull) as f:
            for line in f:
                t, _, rest = line.partition(" ")
                rest = rest.strip()
                if not rest.startswith("{"):
                    continue
                try:
                    o = json.loads(rest)
                except ValueError:
                    continue
                ev = o.get("event")
                c["ev"].setdefault(ev, float(t))
                if ev == "peer-disconnected" and "finished" in str(o.get("reason", "")):
                    c["ev"].setdefault("swarm-finished", float(t))
                if ev == "installed":
                    c["swarm_bytes"] = o.get("swarm_bytes", 0)
                    c["https_bytes"] = o.get("https_bytes", 0)
                if ev == "fallback":
                    c["fallback"] = o.get("message", "")
                if ev == "error":
                    c["error"] = "exit %s: %s" % (o.get("exit"), o.get("message", "")[:160])
        c["failed"] = os.path.exists(base + ".failed") or "installed" not in c["ev"]
        c["install"] = c["ev"].get("installed")
        if c["failed"]:
            c["error"] = c.get("fallback", "") + (" -> " if c.get("fallback") else "") + (
                c.get("error") or "no error event; exit %s (after %.0f s)" % (c.get("rc"), c["wall"]))
        clients.append(c)
    sc["clients"] = clients
    return sc


MODES = ("swarm", "prefer", "https")
LABEL = {"swarm": "swarm, foreground default (+ HTTPS)", "prefer": "swarm, `--prefer-swarm` (+ HTTPS)",
         "https": "HTTPS only (`--no-swarm`)"}
SHORT = {"swarm": "swarm (default)", "prefer": "--prefer-swarm", "https": "HTTPS only"}
COLOR = {"swarm": "#2b7bba", "prefer": "#31a354", "https": "#e6550d"}


def fell_back(c):
    return c.get("https_bytes", 0) > 0 or bool(c.get("fallback"))


def main():
    res, png = sys.argv[1], sys.argv[2]
    mib = int(os.environ["SW_B_MIB"])
    size = mib << 20
    name = os.environ.get("SW_B_NAME", "hello-1.0.tar.gz")
    ns = [int(x) for x in os.environ["SW_B_NS"].split()]
    S = {}
    for n in ns:
        for mode in MODES:
            d = os.path.join(res, "%s-%d" % (mode, n))
            if os.path.isdir(d):
                S[(mode, n)] = load_scen(d, name)
    modes = [m for m in MODES if any((m, n) in S for n in ns)]

    print("| N | mode | publisher egress (copies) | seed upload (copies) | origin (copies) | origin requests |"
          " installed / FAILED | clients that fell back to HTTPS | median install s | p95 install s | max install s |"
          " client CPU s (sum) | median peak anon MiB | scenario s |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    summ = {"mib": mib, "n": {}, "modes": modes}
    for n in ns:
        v = {}
        for mode in MODES:
            if (mode, n) not in S:
                continue
            sc = S[(mode, n)]
            cl = sc["clients"]
            inst = [c["install"] for c in cl if not c["failed"]] or [float("nan")]
            nf = sum(1 for c in cl if c["failed"])
            sc["failed"] = nf
            eg = (sc["seed_upload"] + sc["origin"]) / size
            fb = sum(1 for c in cl if fell_back(c)) if mode != "https" else len(cl)
            sc["egress"] = eg
            sc["median"] = statistics.median(inst)
            sc["p95"] = pct(inst, 95)
            sc["fellback"] = fb
            print("| %d | %s | **%.2f** | %.2f | %.2f | %d | %s | %s | %.2f | %.2f | %.2f | %.1f | %.1f | %.1f |" % (
                n, LABEL[mode], eg, sc["seed_upload"] / size, sc["origin"] / size, sc["origin_requests"],
                "%d / %s" % (len(cl) - nf, ("**%d**" % nf) if nf else "0"),
                "%d of %d" % (fb, len(cl)) if mode != "https" else "(all HTTPS)",
                sc["median"], sc["p95"], max(inst), sum(c["cpu"] for c in cl),
                statistics.median(c["peak_anon_kib"] for c in cl) / 1024, sc["elapsed"]))
            v.update({mode + "_egress": eg, mode + "_origin": sc["origin"] / size,
                      mode + "_median": sc["median"], mode + "_p95": sc["p95"], mode + "_failed": nf})
            if mode != "https":
                v[mode + "_seed_payload"] = sc["seed_payload_upload"] / size
                v[mode + "_fellback"] = fb
        if ("swarm", n) in S:  # the names tools/bench/run has always read
            v["seed_payload"] = v["swarm_seed_payload"]
            v["fellback"] = v["swarm_fellback"]
        summ["n"][str(n)] = v
    print()
    nmax = max(ns)

    # What each mode costs the origin, from this run.
    print("**What each mode costs the origin** (the HTTPS origin's bytes, in copies of the release,"
          " and the publisher's whole egress, seed included; this run):")
    print()
    for n in ns:
        parts = []
        for mode in modes:
            if (mode, n) not in S:
                continue
            sc = S[(mode, n)]
            parts.append("%s: origin **%.2f** copies (%.0f%% of the %d installs' bytes), egress %.2f, median"
                         " install %.1f s" % (SHORT[mode], sc["origin"] / size,
                                              100.0 * sc["origin"] / (size * n), n, sc["egress"], sc["median"]))
        print("- N = %d: %s." % (n, "; ".join(parts)))
    print()
    print("Why: in the foreground default HTTPS joins once the swarm's rate, observed for a second,"
          " would not finish the file within the 3 s head start; on loopback the origin moves the"
          " file in a few seconds while a swarm that is still forming does not, so clients take"
          " from the origin whatever the swarm has not delivered by the time their HTTPS ranges"
          " finish (most of all the first wave, who have only the publisher's seed to trade with)."
          " With `--prefer-swarm` the swarm has 30 s alone and is waited for whenever it would"
          " finish within 10 minutes, so a working swarm costs the origin nothing and the clients"
          " wait for it instead; HTTPS only costs one copy per client.")
    print()
    if ("swarm", nmax) in S and ("https", nmax) in S:
        sw, hs = S[("swarm", nmax)], S[("https", nmax)]
        ok = sw["failed"] == 0 and hs["failed"] == 0
        em = ok and sw["egress"] <= 2
        mm = ok and sw["median"] <= hs["median"]
        print("**Targets (N = %d, the foreground default):** publisher egress at most 2 copies: **%s** (%.2f copies,"
              " against %.2f for HTTPS only, so %.1fx less); median install time no worse than HTTPS only: **%s**"
              " (%.2f s against %.2f s, %.2fx)%s." % (
                  nmax, "met" if em else "not met", sw["egress"], hs["egress"],
                  hs["egress"] / sw["egress"] if sw["egress"] else float("inf"),
                  "met" if mm else "not met", sw["median"], hs["median"], sw["median"] / hs["median"],
                  "" if ok else "; **%d of %d swarm clients and %d of %d HTTPS-only clients FAILED to install**, so"
                  " neither target counts as met" % (sw["failed"], len(sw["clients"]), hs["failed"], len(hs["clients"]))))
        if ("prefer", nmax) in S:
            pr = S[("prefer", nmax)]
            print("With `--prefer-swarm`: %.2f copies (%s), median install %.2f s (%.2fx HTTPS only)%s." % (
                pr["egress"], "at most 2" if pr["egress"] <= 2 else "more than 2", pr["median"],
                pr["median"] / hs["median"], "; **%d of %d clients FAILED**" % (pr["failed"], len(pr["clients"]))
                if pr["failed"] else ""))
        summ["targets"] = {"egress_met": em, "median_met": mm, "n": nmax}
    fails = [(mode, n, i + 1, c) for n in ns for mode in MODES if (mode, n) in S
             for i, c in enumerate(S[(mode, n)]["clients"]) if c["failed"]]
    if fails:
        print()
        print("Failed clients (exit status, the fallback and the error they reported):")
        print()
        for mode, n, i, c in fails:
            print("- %s N = %d, client %d: %s" % (mode, n, i, c.get("error") or "no error event (exit %s)" % c.get("rc")))
    print()
    print("Seed upload counts payload only (libtorrent's count, from the seed's final `upload` event).")
    print()
    for n in ns:
        for mode in ("swarm", "prefer"):
            if (mode, n) not in S:
                continue
            ok_sw = [c for c in S[(mode, n)]["clients"] if not c["failed"] and "swarm-finished" in c["ev"]]
            if ok_sw:
                dl = statistics.median(c["ev"]["swarm-finished"] for c in ok_sw)
                tail = statistics.median(c["install"] - c["ev"]["swarm-finished"] for c in ok_sw)
                print("Where the time goes, %s N = %d (the %d clients whose swarm download finished; medians):"
                      " the swarm download was done %.1f s after the spawn (first `peer-disconnected`"
                      " with reason \"torrent finished\"), installed %.1f s after that (the payload gate's tail:"
                      " gpg and SHA-256 reading the file, the fsync before the install, on a machine where every other"
                      " client and its gpg compete for the same 2 cores)." % (SHORT[mode], n, len(ok_sw), dl, tail))
                print()
    print("Per client (swarm modes): where each got its bytes and when. Times are seconds from"
          " the scenario's start; \"install\" is from the client's own spawn.")
    print()
    for n in ns:
        for mode in ("swarm", "prefer"):
            if (mode, n) not in S:
                continue
            cl = S[(mode, n)]["clients"]
            print("- %s, N = %d: %s" % (SHORT[mode], n, "; ".join(
                "#%d at %.0f s: %s%s" % (i + 1, c["start"], "FAILED" if c["failed"] else "%.1f s" % c["install"],
                                         ", %.0f MiB over HTTPS" % (c["https_bytes"] / 1048576.0)
                                         if c.get("https_bytes") else "")
                for i, c in enumerate(cl))))
    print()
    if any(("https", n) in S for n in ns):
        print("HTTPS only, install s: %s" % "; ".join(
            "N = %d: %s" % (n, ", ".join("FAILED" if c["failed"] else "%.1f" % c["install"]
                                         for c in S[("https", n)]["clients"])) for n in ns if ("https", n) in S))

    # ---- the plot: egress per N and mode, and every client's install time against its start ----
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.4))
    w = 0.8 / len(modes)
    top = max(S[k]["egress"] for k in S) or 1.0
    labelled = set()
    for i, n in enumerate(ns):
        for k, mode in enumerate(modes):
            x = i + (k - (len(modes) - 1) / 2.0) * w
            if (mode, n) not in S:
                a1.text(x, top * 0.02, "%s: not run" % SHORT[mode], rotation=90, ha="center", va="bottom",
                        fontsize=7, color="#777777")
                continue
            sc = S[(mode, n)]
            seed, orig = sc["seed_upload"] / size, sc["origin"] / size
            if mode == "https":
                a1.bar(x, orig, w, color=COLOR[mode], label=None if mode in labelled else "HTTPS only: origin")
            else:
                a1.bar(x, seed, w, color=COLOR[mode], label=None if mode in labelled else "%s: publisher seed" % SHORT[mode])
                a1.bar(x, orig, w, bottom=seed, color=COLOR[mode], alpha=0.45, hatch="//",
                       label=None if mode in labelled else "%s: HTTPS origin" % SHORT[mode])
            labelled.add(mode)
            a1.text(x, seed + orig + top * 0.01, "%.1f" % (seed + orig), ha="center", va="bottom", fontsize=8)
    a1.axhline(2, color="k", ls="--", lw=0.8)
    a1.text(-0.5, 2, " target: 2 copies", ha="left", va="bottom", fontsize=8)
    a1.set_xticks(list(range(len(ns))))
    a1.set_xticklabels(["N = %d" % n for n in ns])
    a1.set_ylabel("publisher egress (copies of the %d MiB release)" % mib)
    a1.set_title("What the publisher sends")
    a1.legend(fontsize=7, loc="upper left", ncol=2)
    a1.set_ylim(top=top * 1.45)
    marks = {ns[0]: "o", nmax: "s"}
    for mode in modes:
        for n in ns:
            if (mode, n) not in S:
                continue
            cl = S[(mode, n)]["clients"]
            bad = [c for c in cl if c["failed"]]
            cl = [c for c in cl if not c["failed"]]
            if bad:
                a2.scatter([c["start"] for c in bad], [c["wall"] for c in bad], s=30, color=COLOR[mode], marker="x",
                           label="%s, N = %d: FAILED (at its exit)" % (SHORT[mode], n))
            a2.scatter([c["start"] for c in cl], [c["install"] for c in cl], s=18, color=COLOR[mode],
                       marker=marks.get(n, "^"), alpha=0.8,
                       label="%s, N = %d (median %.1f s)" % (SHORT[mode], n, S[(mode, n)]["median"]))
    a2.set_xlabel("client started at (s into the scenario; waves of %s every %s s)" % (
        os.environ.get("SW_B_WAVE", "?"), os.environ.get("SW_B_GAP", "?")))
    a2.set_ylabel("time to install (s)")
    a2.set_ylim(bottom=0)
    a2.set_title("Time to install, every client")
    a2.legend(fontsize=7)
    fig.suptitle("swarmup: %d clients installing a %d MiB release on a %s-core machine (loopback)" % (
        nmax, mib, os.environ.get("SW_B_NPROC", "?")), fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=90)

    if os.environ.get("SW_B_SUMMARY"):
        with open(os.environ["SW_B_SUMMARY"], "w") as f:
            json.dump(summ, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
