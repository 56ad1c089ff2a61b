#!/usr/bin/env bash
# tools/netlab in small: 6 clients (2 behind a corporate firewall) install an 8 MiB release in
# an emulated network (network namespaces, tc, nftables). Correctness only, generous bounds:
# every client installs the verified file, the corporate ones over HTTPS without ever having a
# connected BitTorrent peer, the publisher sends fewer than 6 copies, and nothing the tool made
# (namespace, process, work dir) is left afterwards, after a normal run and after a SIGINT.
# The publisher's uplink is 10 Mbit/s and the starts are spread over 6 s: at the default 100
# Mbit/s its seed alone serves the four swarm clients nearly at their downlink rate, and with
# the clients of today (which take most pieces from the seed) it then sends 5.8-6.1 copies.
. "$(dirname "$0")/lib.sh" "$1"

sw_need_caps "network namespaces and tc for the emulated network" CAP_SYS_ADMIN CAP_NET_ADMIN
probe=swtprobe$$
if ! ip netns add "$probe" 2>"$T/probe.err"; then
  echo "SKIP $(basename "$0" .sh): cannot make a network namespace here: $(cat "$T/probe.err")"
  exit 77
fi
ip netns del "$probe"

NETLAB=$SW_SRC/tools/netlab/run
rc=0
timeout 600 "$NETLAB" --build "$SW_BUILD" --clients 6 --size 8 --scale 1 --corporate 33 --spread 6 --publisher-up 10 \
  --json "$T/small.json" >"$T/small.out" 2>&1 || rc=$?
ok netlab_small_scenario_completes test "$rc" -eq 0
[ "$rc" -eq 0 ] || tail -20 "$T/small.out"
# field NAME: a value of the --json object (python prints it).
field() { /usr/bin/python3 -c 'import json, sys; print(eval("j" + sys.argv[2], {"j": json.load(open(sys.argv[1]))}))' \
  "$T/small.json" "$1"; }
# clients_all EXPR: EXPR (python, over c = one client's figures) holds for every client of SEL.
clients_all() {
  /usr/bin/python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
cs = [c for c in j["per_client"] if eval(sys.argv[2])]
sys.exit(0 if cs and all(eval(sys.argv[3], {"c": c, "j": j}) for c in cs) else 1)' "$T/small.json" "$1" "$2"
}
ok every_client_installed_the_verified_file clients_all True 'c["install_s"] is not None and c["sha256_ok"] is True and c["rc"] in (0, -15, 143)'
ok no_client_failed test "$(field '["failed"]')" = 0
ok tool_checked_no_route_out_before_starting grep -q 'checked: no namespace has a route out' "$T/small.out"
ok links_had_their_rtt test "$(field '["rtt_emulated"]')" = True
ok two_clients_were_corporate test "$(field '["corporate"]')" = 2
ok corporate_clients_installed_over_https_alone clients_all 'c["corporate"]' 'c["https_bytes"] == j["size"] and c["swarm_bytes"] == 0'
# libtorrent's num_peers counts connected peers only (a half-open attempt does not count).
ok corporate_clients_never_had_a_connected_peer clients_all 'c["corporate"]' 'c["max_peers"] == 0'
ok corporate_firewall_dropped_their_swarm_attempts clients_all 'c["corporate"]' '(c["fw_dropped"] or 0) > 0'
ok swarm_clients_got_bytes_from_the_swarm clients_all 'not c["corporate"]' '(c["swarm_bytes"] or 0) > 0'
ok publisher_sent_fewer_than_6_copies /usr/bin/python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["egress_copies"] >= 6)' "$T/small.json"
ok publisher_egress_counted_from_its_interface /usr/bin/python3 -c 'import json, sys
j = json.load(open(sys.argv[1])); sys.exit(not j["publisher_tx_bytes"] >= j["size"])' "$T/small.json"

# Nothing left: namespaces, processes, work dir.
left_ns() { # the namespaces of FILE's run still present
  /usr/bin/python3 -c 'import json, subprocess, sys
have = set(l.split()[0] for l in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines() if l.strip())
sys.exit(1 if have & set(json.load(open(sys.argv[1]))["namespaces"]) else 0)' "$1"
}
# procs_using DIR: fail if a live process has DIR in its command line (everything the tool
# starts names its work dir: state dirs, nginx -p, opentracker -d, gpg-agent --homedir).
procs_using() {
  /usr/bin/python3 -c 'import os, sys
for p in os.listdir("/proc"):
    if not p.isdigit() or int(p) == os.getpid():
        continue
    try:
        st = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()[0]
        cmd = open("/proc/%s/cmdline" % p).read().replace("\0", " ")
    except OSError:
        continue
    if st != "Z" and sys.argv[1] in cmd:
        print("left:", p, cmd[:200]); sys.exit(1)' "$1"
}
ok no_namespace_left_after_the_run left_ns "$T/small.json"
ok no_process_left_after_the_run procs_using "$(field '["workdir"]')"
ok work_dir_removed_after_the_run test ! -e "$(field '["workdir"]')"
ok every_namespace_made_is_named_for_the_run test "$(field '["namespaces"].__len__()')" = 8

# Ctrl-C half way: everything is removed as well.
before=$(ip netns list | wc -l)
"$NETLAB" --build "$SW_BUILD" --clients 3 --size 8 --scale 1 --corporate 0 --spread 2 >"$T/int.out" 2>&1 &
NL=$!
SW_CLEANUPS+=("kill -9 $NL 2>/dev/null")
sw_wait_for "$T/int.out" 'clients started' 120 || true
tag_ns=$(ip netns list | awk -v t="nl$NL-" 'index($1, t) == 1 { n++ } END { print n + 0 }')
kill -INT "$NL"
rc=0
wait "$NL" || rc=$?
ok interrupted_run_had_made_its_namespaces test "$tag_ns" -ge 5
ok interrupted_run_exits_130 test "$rc" -eq 130
ok no_namespace_left_after_an_interrupt test -z "$(ip netns list | awk -v t="nl$NL-" 'index($1, t) == 1')"
wd=$(sed -n 's/.*work dir \(\/[^ ]*\).*/\1/p' "$T/int.out" | head -1)
ok interrupted_run_named_its_work_dir test -n "$wd"
ok no_process_left_after_an_interrupt procs_using "${wd:-/nonexistent}"
ok work_dir_removed_after_an_interrupt test ! -e "${wd:-/nonexistent}"
ok namespace_count_back_to_before test "$(ip netns list | wc -l)" -le "$before"
sw_done
