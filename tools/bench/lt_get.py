#!/usr/bin/python3
"""lt_get.py - a minimal plain libtorrent client for tools/bench/swarm.sh (Debian's
/usr/bin/python3 with python3-libtorrent; 127.0.0.1 only, TCP only).

  lt_get.py get (--torrent T | --magnet URI) --dir D [--peer 127.0.0.1:PORT ...] [--timeout S]
             [--set KEY=VALUE ...]   (settings_pack overrides, for experiments)
      Download into D (a fresh directory) and exit 0 as soon as libtorrent reports the
      torrent finished; exit 1 on an error or timeout. With --magnet the metadata comes
      from the peers (and x.pe peers in the URI are used, as swarmup does). Prints one
      line per milestone to stdout (added, peer, metadata, finished) for timestamping.
  lt_get.py seed --torrent T [--torrent T2 ...] --dir D --port-file F [--upload-limit BPS]
      Seed every torrent from D; write the listen port to F only once every torrent has
      been checked and is seeding (tests/lib/lt_seed.py writes it before the check ends,
      which would let a benchmark start against a seeder that has nothing yet). Runs
      until killed by PID. Session settings are those of tests/lib/lt_seed.py; with
      --upload-limit the seeder sends at most BPS bytes/s in all, 127.0.0.1 peers included.

The `get` session uses the settings pack that torrent/swarm.cpp (make_pack) gives
libtorrent for `swarmup fetch --listen 127.0.0.1:0 --no-dht --no-lsd --no-utp`, so that
the comparison is engine against engine: same listen interface, DHT/LSD/UPnP/NAT-PMP/uTP
off, encryption enabled (not forced), several connections per IP allowed, tick interval
100 ms, stop_tracker_timeout 2, and the same alert categories (which it drains).
"""
import argparse
import os
import signal
import sys
import time

import libtorrent as lt
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "lib"))
from swexit import hard_exit  # noqa: E402


def get_session():
    cat = lt.alert.category_t
    pack = {
        "listen_interfaces": "127.0.0.1:0",
        "user_agent": "lt_get/1",
        "enable_dht": False,
        "dht_bootstrap_nodes": "",
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_tcp": True,
        "enable_incoming_tcp": True,
        "out_enc_policy": int(lt.enc_policy.enabled),
        "in_enc_policy": int(lt.enc_policy.enabled),
        "allowed_enc_level": int(lt.enc_level.both),
        "upload_rate_limit": 0,
        "download_rate_limit": 0,
        "allow_multiple_connections_per_ip": True,
        "tick_interval": 100,
        "stop_tracker_timeout": 2,
        "alert_mask": int(cat.error_notification | cat.status_notification | cat.storage_notification
                          | cat.connect_notification | cat.peer_notification | cat.piece_progress_notification
                          | cat.file_progress_notification),
    }
    return lt.session(pack)


def seed_session(upload_limit=0):
    # As tests/lib/lt_seed.py make_session().
    pack = {
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        "dht_bootstrap_nodes": "",
        "upload_rate_limit": upload_limit,
        "alert_mask": int(lt.alert.category_t.error_notification | lt.alert.category_t.status_notification),
        "user_agent": "lt_seed/1",
    }
    ses = lt.session(pack)
    if upload_limit:
        # 127.0.0.1 is in libtorrent's "local" peer class, which has no rate limit:
        # put every address in the global class so that the limit holds.
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        ses.set_peer_class_filter(f)
    return ses


def say(what):
    sys.stdout.write(what + "\n")
    sys.stdout.flush()


def peer_endpoint(text):
    host, _, port = text.rpartition(":")
    return (host.strip("[]"), int(port))


def do_get(a):
    ses = get_session()
    if a.set:  # experiments only (KEY=INT|true|false|STR); the benchmark passes none
        pack = {}
        for kv in a.set:
            k, _, v = kv.partition("=")
            pack[k] = True if v == "true" else False if v == "false" else int(v) if v.lstrip("-").isdigit() else v
        ses.apply_settings(pack)
    if a.magnet:
        params = lt.parse_magnet_uri(a.magnet)
    else:
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(a.torrent)
    params.save_path = a.dir
    params.flags &= ~lt.torrent_flags.auto_managed
    params.flags &= ~lt.torrent_flags.paused
    h = ses.add_torrent(params)
    say("added")
    for p in a.peer:
        h.connect_peer(peer_endpoint(p))
    end = time.monotonic() + a.timeout
    peers = 0
    while time.monotonic() < end:
        # Not ses.wait_for_alert(): with python3-libtorrent 2.0.8 the alert object it
        # returns made this script crash (SIGSEGV) in about 1 run out of 6 here.
        time.sleep(0.02)
        for al in ses.pop_alerts():
            if isinstance(al, lt.peer_connect_alert):
                peers += 1
                if peers == 1:
                    say("peer")
            elif isinstance(al, lt.metadata_received_alert):
                say("metadata")
            elif isinstance(al, lt.torrent_finished_alert):
                say("finished")
                hard_exit(0)
            elif isinstance(al, (lt.torrent_error_alert, lt.file_error_alert)):
                print("lt_get: %s" % al.message(), file=sys.stderr)
                hard_exit(1)
    st = h.status()
    print("lt_get: timeout at %d bytes" % st.total_wanted_done, file=sys.stderr)
    hard_exit(1)


def do_seed(a):
    ses = seed_session(a.upload_limit)
    handles = []
    for t in a.torrent:
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(t)
        params.save_path = a.dir
        params.flags &= ~lt.torrent_flags.auto_managed
        params.flags &= ~lt.torrent_flags.paused
        handles.append(ses.add_torrent(params))
    end = time.monotonic() + a.timeout
    while True:
        if time.monotonic() > end:
            print("lt_get seed: not seeding after %.0f s" % a.timeout, file=sys.stderr)
            hard_exit(1)
        for al in ses.pop_alerts():
            if isinstance(al, (lt.torrent_error_alert, lt.file_error_alert)):
                print("lt_get seed: %s" % al.message(), file=sys.stderr)
                hard_exit(1)
        if all(h.status().is_seeding for h in handles) and ses.is_listening() and ses.listen_port():
            break
        time.sleep(0.05)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ses.listen_port())
    os.rename(tmp, a.port_file)
    while True:
        time.sleep(1)
        for al in ses.pop_alerts():
            if isinstance(al, (lt.torrent_error_alert, lt.file_error_alert)):
                print("lt_get seed: %s" % al.message(), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["get", "seed"])
    ap.add_argument("--torrent", action="append", default=[])
    ap.add_argument("--magnet")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--peer", action="append", default=[])
    ap.add_argument("--port-file")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--upload-limit", type=int, default=0, help="seed: bytes/s in all, 0: none")
    ap.add_argument("--set", action="append", default=[], help="get: override a setting, KEY=VALUE")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: hard_exit(0))
    if a.mode == "get":
        if (len(a.torrent) == 1) == bool(a.magnet):
            ap.error("get wants exactly one of --torrent and --magnet")
        a.torrent = a.torrent[0] if a.torrent else None
        do_get(a)
    else:
        if not a.torrent or not a.port_file:
            ap.error("seed wants --torrent and --port-file")
        do_seed(a)


if __name__ == "__main__":
    main()
