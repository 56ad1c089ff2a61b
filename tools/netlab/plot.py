#!/usr/bin/python3
"""plot.py OUT.png RUN.json... - CDF of install times of tools/netlab runs (swarm vs --https-only).

Each RUN.json is one `tools/netlab/run --json` object; each becomes one step line (label: mode,
N, size, publisher egress in copies), with its capacity bound as a dotted vertical line in the
same colour. Clients that did not install are left out of the curve and counted in the label.
Needs matplotlib (Debian: python3-matplotlib, installed by tools/bootstrap.sh).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    out, runs = argv[1], argv[2:]
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for k, path in enumerate(runs):
        with open(path) as f:
            j = json.load(f)
        xs = sorted(t for t in j["install_s"] if t is not None)
        n = j["clients"]
        ys = [(i + 1) / n for i in range(len(xs))]
        label = "%s, N=%d, %g MiB: %.2f copies, median %s s" % (
            j["mode"], n, j["size_mib"], j["egress_copies"], j["median_s"])
        if j.get("prefer_swarm"):
            label += ", --prefer-swarm"
        if j.get("super_seed"):
            label += " (super-seed)"
        if j["failed"]:
            label += ", %d failed" % j["failed"]
        line, = ax.step([0] + xs, [0] + ys, where="post", label=label)
        ax.axvline(j["capacity_bound_s"], color=line.get_color(), linestyle=":", linewidth=1)
    ax.set_xlabel("time to install, s (from the client's start; dotted: the scenario's capacity bound)")
    ax.set_ylabel("share of clients installed")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    j0 = json.load(open(runs[0]))
    nom = j0.get("nominal") or j0
    ax.set_title("tools/netlab: publisher %g Mbit/s up, clients %g/%g Mbit/s, loss %g%%, RTT %s%s" % (
        nom["publisher_up_mbit"], nom["client_down_mbit"], nom["client_up_mbit"], j0["loss_pct"],
        "%g ms" % j0["rtt_ms"] if j0.get("rtt_emulated") else "not emulated",
        " (size and rates run at 1/%g)" % j0["scale"] if j0.get("scale", 1) != 1 else ""), fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
