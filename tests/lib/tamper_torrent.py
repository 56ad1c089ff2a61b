#!/usr/bin/python3
"""Add unsigned fields to a .torrent, leaving its info dictionary byte-identical (tests only).

  tamper_torrent.py IN OUT [--announce URL] [--announce-list URL]... [--url-list URL]...
                    [--httpseeds URL]... [--nodes HOST:PORT]...

What a hostile server of the Torrent: URL can do without touching what the
signed btmh binds: the top-level keys outside "info" (and "piece layers",
which libtorrent checks against the pieces root). Each --announce-list URL is
its own tier. OUT is written only if libtorrent reads it back with the same
v1 and v2 info-hashes and the same info-dictionary bytes; exit 1 otherwise.
Run it with /usr/bin/python3 (Debian's python3-libtorrent).
"""
import argparse
import os
import sys

import libtorrent as lt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--announce")
    ap.add_argument("--announce-list", action="append", default=[])
    ap.add_argument("--url-list", action="append", default=[])
    ap.add_argument("--httpseeds", action="append", default=[])
    ap.add_argument("--nodes", action="append", default=[])
    a = ap.parse_args()

    raw = open(a.inp, "rb").read()
    orig = lt.torrent_info(lt.bdecode(raw))
    d = lt.bdecode(raw)
    if a.announce:
        d[b"announce"] = a.announce.encode()
    if a.announce_list:
        d[b"announce-list"] = [[u.encode()] for u in a.announce_list]
    if a.url_list:
        d[b"url-list"] = [u.encode() for u in a.url_list]
    if a.httpseeds:
        d[b"httpseeds"] = [u.encode() for u in a.httpseeds]
    if a.nodes:
        nodes = []
        for n in a.nodes:
            host, _, port = n.rpartition(":")
            nodes.append([host.encode(), int(port)])
        d[b"nodes"] = nodes
    out = lt.bencode(d)

    again = lt.torrent_info(lt.bdecode(out))
    same = (again.info_hashes().v1 == orig.info_hashes().v1 and again.info_hashes().v2 == orig.info_hashes().v2
            and bytes(again.info_section()) == bytes(orig.info_section()) and bytes(orig.info_section()) in out)
    if not same:
        sys.stderr.write("tamper_torrent.py: the info dictionary changed; not writing %s\n" % a.out)
        sys.stderr.flush()
        os._exit(1)
    # libtorrent must see the extra fields, or the test would prove nothing.
    # (libtorrent reads "announce" only when there is no "announce-list", as BEP 12 says.)
    want_trackers = len(a.announce_list) if a.announce_list else (1 if a.announce else 0)
    if len(list(again.trackers())) != want_trackers:
        sys.stderr.write("tamper_torrent.py: libtorrent reads %d trackers, not %d\n" % (len(list(again.trackers())), want_trackers))
        sys.stderr.flush()
        os._exit(1)
    if len(list(again.web_seeds())) != len(a.url_list) + len(a.httpseeds) or len(list(again.nodes())) != len(a.nodes):
        sys.stderr.write("tamper_torrent.py: libtorrent does not read the web seeds or nodes given\n")
        sys.stderr.flush()
        os._exit(1)
    with open(a.out + ".tmp", "wb") as f:
        f.write(out)
        f.flush()
        os.fsync(f.fileno())
    os.rename(a.out + ".tmp", a.out)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
