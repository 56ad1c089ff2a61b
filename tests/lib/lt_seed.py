#!/usr/bin/python3
"""A plain libtorrent peer for tests, on 127.0.0.1 only (Debian's python3-libtorrent).

  lt_seed.py seed --torrent T --dir D --port-file F [--upload-limit BPS]
      Seed D/<name> (checked first); write the listen port to F once listening;
      run until killed (SIGTERM/SIGKILL by PID).
      --port P: listen on 127.0.0.1:P (default: a free port).
      --seed-mode: serve D/<name> without checking it first (a malicious peer
      seeding a corrupted copy uses this: libtorrent then sends what is on disk).
      --stats-file S: write {"seeding", "payload_upload", "upload"} as JSON to S every
      second and once more on SIGTERM (bytes sent since the start: payload only, and
      payload plus protocol overhead), for benchmarks that count a seeder's egress.
  lt_seed.py get --torrent T --dir D --peer 127.0.0.1:PORT [--timeout S]
  lt_seed.py peek --torrent T --dir D --peer 127.0.0.1:PORT: print "HAVE NUM_PIECES", the
      pieces the peer announces to a new leecher that downloads nothing
      Download into D from the given peer; exit 0 when complete,
      exit 1 on timeout or error.

DHT, LSD, UPnP, NAT-PMP and uTP are off; it listens on 127.0.0.1 with a free port.
Run it with /usr/bin/python3: a python3 earlier on PATH may lack libtorrent.
"""
import argparse
import os
import signal
import sys
import time

import libtorrent as lt
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from swexit import hard_exit  # noqa: E402


def make_session(upload_limit=0, port=0, download_limit=0):
    pack = {
        "listen_interfaces": "127.0.0.1:%d" % port,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_outgoing_utp": False,
        "enable_incoming_utp": False,
        "allow_multiple_connections_per_ip": True,
        "dht_bootstrap_nodes": "",
        "upload_rate_limit": upload_limit,
        "download_rate_limit": download_limit,
        "alert_mask": int(lt.alert.category_t.error_notification | lt.alert.category_t.status_notification),
        "user_agent": "lt_seed/1",
    }
    ses = lt.session(pack)
    if upload_limit or download_limit:
        # By default 127.0.0.1 is in libtorrent's "local" peer class, which has
        # no rate limit: put every address in the global class so the limit holds.
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        ses.set_peer_class_filter(f)
    return ses


def wait_listening(ses, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if ses.is_listening() and ses.listen_port() != 0:
            return ses.listen_port()
        time.sleep(0.05)
    raise SystemExit("lt_seed: not listening")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["seed", "get", "peek"])
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file")
    ap.add_argument("--peer")
    ap.add_argument("--upload-limit", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--seed-mode", action="store_true")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--stats-file")
    ap.add_argument("--super-seed", action="store_true")
    a = ap.parse_args()

    h = None

    def write_stats():
        if not a.stats_file or h is None:
            return
        st = h.status()
        tmp = a.stats_file + ".tmp"
        with open(tmp, "w") as f:
            f.write('{"seeding": %s, "payload_upload": %d, "upload": %d}\n' % (
                "true" if st.is_seeding else "false", st.total_payload_upload, st.total_upload))
        os.rename(tmp, a.stats_file)

    def on_term(*_):
        try:
            write_stats()
        finally:
            hard_exit(0)

    signal.signal(signal.SIGTERM, on_term)
    # peek: a leecher that stays one (1 KiB/s): an upload-only peer (libtorrent's
    # upload_mode) was dropped by the seed at once as "upload to upload", often
    # before the 0.1 s poll below saw what the seed had announced.
    ses = make_session(a.upload_limit, a.port, 1024 if a.mode == "peek" else 0)
    ti = lt.torrent_info(a.torrent)
    params = lt.add_torrent_params()
    params.ti = ti
    params.save_path = a.dir
    params.flags &= ~lt.torrent_flags.auto_managed
    params.flags &= ~lt.torrent_flags.paused
    if a.seed_mode:
        params.flags |= lt.torrent_flags.seed_mode
    if a.super_seed:
        params.flags |= lt.torrent_flags.super_seeding
    h = ses.add_torrent(params)
    port = wait_listening(ses)

    if a.mode == "seed":
        # Say the port only once the torrent is checked: a peer that connects while
        # libtorrent still checks the file is turned away, and libtorrent waits about
        # a minute before it dials a peer that refused it again (test_swarm timed out
        # at 60 s that way once, on a loaded machine).
        end = time.time() + 60
        while h.status().state in (lt.torrent_status.states.checking_files,
                                   lt.torrent_status.states.checking_resume_data) and time.time() < end:
            time.sleep(0.05)
        if a.port_file:
            tmp = a.port_file + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % port)
            os.rename(tmp, a.port_file)
        while True:
            time.sleep(1)
            write_stats()
            for al in ses.pop_alerts():
                if isinstance(al, (lt.torrent_error_alert, lt.file_error_alert)):
                    print("lt_seed: %s" % al.message(), file=sys.stderr)

    host, _, pport = a.peer.rpartition(":")
    h.connect_peer((host.strip("[]"), int(pport)))
    if a.mode == "peek":
        # Download (almost) nothing; after 2 s connected, print how many pieces the
        # peer says it has: "PIECES NUM_PIECES" (a super-seed shows a few, a seed all).
        end = time.time() + a.timeout
        seen, most, connected = None, 0, False
        next_dial = time.time() + 1.0
        while time.time() < end:
            peers = h.get_peer_info()
            if not peers and time.time() >= next_dial:
                # libtorrent waits a minute before it dials a peer that refused it
                # again (the seed may still be starting): dial again now, each second.
                h.connect_peer((host.strip("[]"), int(pport)))
                next_dial = time.time() + 1.0
            connected = connected or bool(peers)
            for p in peers:
                if p.pieces is not None and len(p.pieces) > 0:
                    seen = seen or time.time()
                    most = max(most, sum(1 for b in p.pieces if b))
            if seen is not None and time.time() - seen >= 2.0:
                print("%d %d" % (most, ti.num_pieces()))
                hard_exit(0)
            time.sleep(0.1)
        print("lt_seed: %s" % ("connected, but the peer announced no piece" if connected else "no peer connected"),
              file=sys.stderr)
        hard_exit(1)
    end = time.time() + a.timeout
    while time.time() < end:
        st = h.status()
        if st.is_seeding:
            hard_exit(0)
        if st.errc.value() != 0:
            print("lt_seed: error %s" % st.errc.message(), file=sys.stderr)
            hard_exit(1)
        time.sleep(0.1)
    print("lt_seed: timeout at %d of %d bytes" % (h.status().total_wanted_done, ti.total_size()), file=sys.stderr)
    hard_exit(1)


if __name__ == "__main__":
    main()
