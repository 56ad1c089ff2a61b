// swarm.cpp - the C shim over libtorrent 2.0 (the only C++ translation unit).
//
// Rules kept here: every extern "C" function catches everything and returns an
// sw_err with a message; libtorrent's error_code overloads are used where they
// exist; nothing blocks the libuv loop for long.

// sw_err.h and sw_limits.h are C headers without extern "C" guards.
extern "C" {
#include "sw_err.h"
#include "sw_limits.h"
}
#include "swarm.h"

#include <fcntl.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <memory>

#include <libtorrent/add_torrent_params.hpp>
#include <libtorrent/address.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/bdecode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/file_storage.hpp>
#include <libtorrent/ip_filter.hpp>
#include <libtorrent/posix_disk_io.hpp>
#include <libtorrent/read_resume_data.hpp>
#include <libtorrent/session.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/torrent_handle.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/torrent_status.hpp>
#include <libtorrent/write_resume_data.hpp>

namespace lt = libtorrent;

namespace {

// Limits for decoding a .torrent: a single-file torrent has a small info
// dictionary; these bound the work bdecode does on hostile input.
constexpr int SW_TORRENT_DECODE_DEPTH = 100;
constexpr int SW_TORRENT_DECODE_TOKENS = 3000000;
constexpr int SW_PIECE_SIZE_MIN = 16 * 1024;
constexpr int SW_PIECE_SIZE_MAX = 128 * 1024 * 1024;

void hex_into(char *dst, const char *src, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = static_cast<unsigned char>(src[i]);
    dst[2 * i] = digits[c >> 4];
    dst[2 * i + 1] = digits[c & 15];
  }
  dst[2 * n] = '\0';
}

// A plain basename: what a file name from a torrent must be before it can ever
// be joined to a directory. Printable ASCII-or-UTF-8 bytes, no '/', not . or ..
bool plain_basename(const std::string &s) {
  if (s.empty() || s.size() > SW_FILE_MAX) return false;
  if (s == "." || s == "..") return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\') return false;
  return true;
}

long long pieces_for(long long size, int piece_size) { return (size + piece_size - 1) / piece_size; }

// Measured here with libtorrent 2.0.8 (Debian 12): a peer that joins by magnet
// fetches the v2 piece layer in requests of 512 hashes, and when the piece
// count is 512k+1 (513, 1025, 1537, ...) the seeder's answer is rejected with
// "invalid hashes" and the download never starts. We never publish such a layout.
bool bad_v2_piece_count(long long n) { return n > 512 && n % 512 == 1; }

void fill_made(const lt::torrent_info &ti, sw_swarm_made *out) {
  std::memset(out, 0, sizeof *out);
  lt::info_hash_t const ih = ti.info_hashes();
  if (ih.has_v2()) hex_into(out->btmh_hex, ih.v2.data(), ih.v2.size());
  if (ih.has_v1()) hex_into(out->btih_hex, ih.v1.data(), ih.v1.size());
  out->size = static_cast<uint64_t>(ti.total_size());
  out->piece_size = ti.piece_length();
  out->num_pieces = ti.num_pieces();
}

// Write buf to path atomically: a temp file beside it, fsync, rename, fsync dir.
sw_err write_atomic(const std::string &path, const std::vector<char> &buf, char *msg, size_t msglen) {
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> tmp(tmpl.begin(), tmpl.end());
  tmp.push_back('\0');
  int fd = mkstemp(tmp.data());
  if (fd < 0) return sw_fail(SW_ERR_IO, msg, msglen, "create temp file for %s: %s", path.c_str(), std::strerror(errno));
  size_t off = 0;
  while (off < buf.size()) {
    ssize_t n = write(fd, buf.data() + off, buf.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      close(fd);
      unlink(tmp.data());
      return sw_fail(SW_ERR_IO, msg, msglen, "write %s: %s", tmp.data(), std::strerror(e));
    }
    off += static_cast<size_t>(n);
  }
  // The rename must not publish a file whose bytes are still only in cache.
  if (fsync(fd) != 0 || close(fd) != 0) {
    int e = errno;
    unlink(tmp.data());
    return sw_fail(SW_ERR_IO, msg, msglen, "fsync %s: %s", tmp.data(), std::strerror(e));
  }
  if (rename(tmp.data(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmp.data());
    return sw_fail(SW_ERR_IO, msg, msglen, "rename to %s: %s", path.c_str(), std::strerror(e));
  }
  std::string dir = ".";
  size_t slash = path.rfind('/');
  if (slash != std::string::npos) dir = slash == 0 ? "/" : path.substr(0, slash);
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    (void)fsync(dfd);  // best effort: some filesystems refuse fsync on a directory
    close(dfd);
  }
  return SW_OK;
}

sw_err make_torrent(const sw_swarm_make_opts *o, sw_swarm_made *out, char *msg, size_t msglen) {
  if (o == nullptr || out == nullptr || o->file_path == nullptr || o->torrent_path == nullptr)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "make_torrent: file_path and torrent_path are required");
  if (o->n_trackers > 0 && o->trackers == nullptr)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "make_torrent: n_trackers > 0 but trackers is NULL");
  if (o->piece_size != 0 &&
      (o->piece_size < SW_PIECE_SIZE_MIN || o->piece_size > SW_PIECE_SIZE_MAX ||
       (o->piece_size & (o->piece_size - 1)) != 0))
    return sw_fail(SW_ERR_USAGE, msg, msglen, "make_torrent: piece size %d is not a power of two in [16 KiB, 128 MiB]",
                   o->piece_size);

  std::string const path = o->file_path;
  size_t const slash = path.rfind('/');
  std::string const dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string const base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string const name = o->name ? std::string(o->name) : base;
  if (!plain_basename(base))
    return sw_fail(SW_ERR_USAGE, msg, msglen, "make_torrent: %s does not name a file", path.c_str());
  if (!plain_basename(name))
    return sw_fail(SW_ERR_USAGE, msg, msglen, "make_torrent: name is not a plain file name");

  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    return sw_fail(SW_ERR_IO, msg, msglen, "stat %s: %s", path.c_str(), std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return sw_fail(SW_ERR_USAGE, msg, msglen, "%s is not a regular file", path.c_str());
  if (st.st_size <= 0)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "%s is empty: a torrent needs at least one byte", path.c_str());

  lt::file_storage fs;
  // Named after the file on disk so that set_piece_hashes reads dir/base;
  // renamed to the published name before generate() (hashes don't cover names).
  fs.add_file(base, st.st_size);
  int piece_size = o->piece_size;
  if (piece_size == 0) {
    lt::create_torrent probe(fs, 0);  // libtorrent's automatic choice; no hashing yet
    piece_size = probe.piece_length();
    // Step away from piece counts that libtorrent 2.0.8 cannot fetch by magnet.
    int const candidates[] = {piece_size, piece_size * 2, piece_size / 2, piece_size * 4, piece_size / 4};
    for (int c : candidates) {
      if (c < SW_PIECE_SIZE_MIN || c > SW_PIECE_SIZE_MAX) continue;
      if (!bad_v2_piece_count(pieces_for(st.st_size, c))) {
        piece_size = c;
        break;
      }
    }
  }
  if (bad_v2_piece_count(pieces_for(st.st_size, piece_size)))
    return sw_fail(SW_ERR_USAGE, msg, msglen,
                   "make_torrent: piece size %d gives %lld pieces (512k+1): libtorrent 2.0.8 peers cannot fetch "
                   "its v2 piece layer by magnet; choose another piece size",
                   piece_size, pieces_for(st.st_size, piece_size));
  // Default flags: a hybrid v1+v2 torrent in libtorrent 2.0.
  lt::create_torrent ct(fs, piece_size);
  ct.set_creation_date(0);  // omitted: the same input gives the same bytes
  if (o->creator) ct.set_creator(o->creator);
  for (size_t i = 0; i < o->n_trackers; i++) {
    if (o->trackers[i] == nullptr || o->trackers[i][0] == '\0')
      return sw_fail(SW_ERR_USAGE, msg, msglen, "make_torrent: tracker %zu is empty", i);
    ct.add_tracker(o->trackers[i], 0);
  }

  lt::error_code ec;
  lt::set_piece_hashes(ct, dir, ec);
  if (ec) return sw_fail(SW_ERR_IO, msg, msglen, "hash %s: %s", path.c_str(), ec.message().c_str());
  if (name != base) {
    fs.set_name(name);
    fs.rename_file(lt::file_index_t{0}, name);
  }
  std::vector<char> buf = ct.generate_buf();

  // Read back what we wrote, exactly as a downloader will parse it.
  lt::bdecode_node node = lt::bdecode(buf, ec, nullptr, SW_TORRENT_DECODE_DEPTH, SW_TORRENT_DECODE_TOKENS);
  if (ec) return sw_fail(SW_ERR_SWARM, msg, msglen, "generated torrent does not decode: %s", ec.message().c_str());
  lt::torrent_info ti(node, ec);
  if (ec) return sw_fail(SW_ERR_SWARM, msg, msglen, "generated torrent does not load: %s", ec.message().c_str());
  if (!ti.info_hashes().has_v1() || !ti.info_hashes().has_v2() || ti.num_files() != 1 ||
      ti.files().file_name(lt::file_index_t{0}).to_string() != name)
    return sw_fail(SW_ERR_SWARM, msg, msglen, "generated torrent is not a hybrid single-file torrent named %s",
                   name.c_str());

  sw_err err = write_atomic(o->torrent_path, buf, msg, msglen);
  if (err != SW_OK) return err;
  fill_made(ti, out);
  return SW_OK;
}

// The signed manifest binds a .torrent only through its btmh, the SHA-256 of
// the info dictionary; the v2 piece layers are bound too, through the pieces
// roots inside it (libtorrent checks each layer against its root when the
// torrent is added). Every other top-level key is the choice of whoever served
// or wrote the file: announce, announce-list, url-list, httpseeds, nodes, ...
// libtorrent would contact all of those. So a .torrent is never loaded as it
// is: *out gets a new one holding the info dictionary's bytes, untouched (same
// info-hashes), and the piece layers, nothing else.
sw_err signed_part(const uint8_t *buf, size_t len, std::vector<char> *out, char *msg, size_t msglen) {
  if (len == 0 || len > static_cast<size_t>(INT_MAX))
    return sw_fail(SW_ERR_SWARM, msg, msglen, "rejected torrent: size %zu", len);
  lt::error_code ec;
  lt::span<char const> span(reinterpret_cast<const char *>(buf), static_cast<std::ptrdiff_t>(len));
  int pos = 0;
  lt::bdecode_node node = lt::bdecode(span, ec, &pos, SW_TORRENT_DECODE_DEPTH, SW_TORRENT_DECODE_TOKENS);
  if (ec) return sw_fail(SW_ERR_SWARM, msg, msglen, "rejected torrent: bdecode at byte %d: %s", pos, ec.message().c_str());
  if (node.type() != lt::bdecode_node::dict_t)
    return sw_fail(SW_ERR_SWARM, msg, msglen, "rejected torrent: not a dictionary");
  // The same lookups libtorrent's own parser makes, so that a file with two
  // "info" keys yields the one libtorrent (and our btmh check) would have used.
  lt::bdecode_node const info = node.dict_find_dict("info");
  if (!info) return sw_fail(SW_ERR_SWARM, msg, msglen, "rejected torrent: no info dictionary");
  lt::bdecode_node const layers = node.dict_find_dict("piece layers");
  static const char k_info[] = "d4:info", k_layers[] = "12:piece layers";
  lt::span<char const> const is = info.data_section();
  out->clear();
  out->reserve(is.size() + (layers ? layers.data_section().size() : 0) + 32);
  out->insert(out->end(), k_info, k_info + sizeof k_info - 1);
  out->insert(out->end(), is.begin(), is.end());
  if (layers) {  // keys in sorted order, as bencoding wants: "info" < "piece layers"
    lt::span<char const> const ls = layers.data_section();
    out->insert(out->end(), k_layers, k_layers + sizeof k_layers - 1);
    out->insert(out->end(), ls.begin(), ls.end());
  }
  out->push_back('e');
  return SW_OK;
}

// Load the signed part of a .torrent (above) and check that it is what we can
// use: exactly one file with a plain basename, a v2 hash. *ti_out may be NULL.
sw_err load_torrent(const uint8_t *buf, size_t len, sw_swarm_made *out, char *name_out, size_t name_cap,
                    std::shared_ptr<lt::torrent_info> *ti_out, char *msg, size_t msglen) {
  if (buf == nullptr || out == nullptr || (name_out == nullptr && name_cap != 0))
    return sw_fail(SW_ERR_USAGE, msg, msglen, "torrent_info: NULL argument");
  if (name_out && name_cap) name_out[0] = '\0';
  std::vector<char> clean;
  sw_err e = signed_part(buf, len, &clean, msg, msglen);
  if (e != SW_OK) return e;
  lt::error_code ec;
  int pos = 0;
  lt::bdecode_node node = lt::bdecode(clean, ec, &pos, SW_TORRENT_DECODE_DEPTH, SW_TORRENT_DECODE_TOKENS);
  if (ec) return sw_fail(SW_ERR_SWARM, msg, msglen, "rejected torrent: bdecode at byte %d: %s", pos, ec.message().c_str());
  // torrent_info copies what it keeps out of the node: clean may go afterwards.
  auto ti = std::make_shared<lt::torrent_info>(node, ec);
  if (ec) return sw_fail(SW_ERR_SWARM, msg, msglen, "rejected torrent: %s", ec.message().c_str());
  if (ti->num_files() != 1)
    return sw_fail(SW_ERR_TORRENT_MISMATCH, msg, msglen, "rejected torrent: %d files, want exactly 1", ti->num_files());
  if (!ti->info_hashes().has_v2())
    return sw_fail(SW_ERR_TORRENT_MISMATCH, msg, msglen, "rejected torrent: no v2 info-hash");
  std::string const name = ti->files().file_path(lt::file_index_t{0});
  if (!plain_basename(name))
    return sw_fail(SW_ERR_TORRENT_MISMATCH, msg, msglen, "rejected torrent: file name is not a plain basename");
  if (name_out && name_cap) {
    if (name.size() + 1 > name_cap)
      return sw_fail(SW_ERR_TORRENT_MISMATCH, msg, msglen, "rejected torrent: file name longer than %zu bytes",
                     name_cap - 1);
    std::memcpy(name_out, name.c_str(), name.size() + 1);
  }
  fill_made(*ti, out);
  if (ti_out) *ti_out = std::move(ti);
  return SW_OK;
}

sw_err torrent_info(const uint8_t *buf, size_t len, sw_swarm_made *out, char *name_out, size_t name_cap, char *msg,
                    size_t msglen) {
  return load_torrent(buf, len, out, name_out, name_cap, nullptr, msg, msglen);
}

}  // namespace

extern "C" sw_err sw_swarm_make_torrent(const sw_swarm_make_opts *o, sw_swarm_made *out, char *msg, size_t msglen) {
  try {
    return make_torrent(o, out, msg, msglen);
  } catch (std::exception const &e) {
    return sw_fail(SW_ERR_SWARM, msg, msglen, "make_torrent: %s", e.what());
  } catch (...) {
    return sw_fail(SW_ERR_SWARM, msg, msglen, "make_torrent: unknown exception");
  }
}

extern "C" sw_err sw_swarm_torrent_info(const uint8_t *buf, size_t len, sw_swarm_made *out, char *name_out,
                                        size_t name_cap, char *msg, size_t msglen) {
  try {
    return torrent_info(buf, len, out, name_out, name_cap, msg, msglen);
  } catch (std::exception const &e) {
    return sw_fail(SW_ERR_SWARM, msg, msglen, "rejected torrent: %s", e.what());
  } catch (...) {
    return sw_fail(SW_ERR_SWARM, msg, msglen, "rejected torrent: unknown exception");
  }
}

extern "C" sw_err sw_swarm_torrent_signed(const uint8_t *buf, size_t len, uint8_t **out, size_t *out_len, char *msg,
                                          size_t msglen) {
  try {
    if (buf == nullptr || out == nullptr || out_len == nullptr)
      return sw_fail(SW_ERR_USAGE, msg, msglen, "torrent_signed: NULL argument");
    *out = nullptr;
    *out_len = 0;
    std::vector<char> clean;
    sw_err e = signed_part(buf, len, &clean, msg, msglen);
    if (e != SW_OK) return e;
    uint8_t *p = static_cast<uint8_t *>(std::malloc(clean.size()));
    if (p == nullptr) return sw_fail(SW_ERR_NOMEM, msg, msglen, "torrent_signed: out of memory");
    std::memcpy(p, clean.data(), clean.size());
    *out = p;
    *out_len = clean.size();
    return SW_OK;
  } catch (std::exception const &e) {
    return sw_fail(SW_ERR_SWARM, msg, msglen, "rejected torrent: %s", e.what());
  } catch (...) {
    return sw_fail(SW_ERR_SWARM, msg, msglen, "rejected torrent: unknown exception");
  }
}

// ===================================================================== session

// A resume file is ours but lives on disk: cap what we read back.
#define SW_SWARM_RESUME_MAX (64u * 1024u * 1024u)

struct sw_swarm {
  uv_loop_t *loop = nullptr;
  uv_async_t async;        // woken by libtorrent's alert notify (any thread)
  uv_timer_t timer;        // status updates + periodic resume saving
  uv_timer_t close_timer;  // close: deferral and the bound on waiting for resume data
  uv_work_t work;          // close: destroys the session_proxy off the loop thread
  sw_swarm_settings set;
  sw_swarm_callbacks cb;
  std::unique_ptr<lt::session> ses;
  lt::session_proxy *proxy = nullptr;
  std::vector<sw_swarm_torrent *> torrents;
  std::vector<lt::alert *> alerts;
  uint64_t ms_since_resume = 0;
  int pending_saves = 0;
  int open_handles = 0;
  bool closing = false;
  bool stopping = false;  // finish_close ran: the session is going away
};

struct sw_swarm_torrent {
  sw_swarm *s = nullptr;
  lt::torrent_handle h;
  void *arg = nullptr;
  bool is_seed = false;
  bool meta_ok = false;    // metadata present and checked against expected name/size
  bool failed = false;
  bool finished_reported = false;
  int restarts = 0;          // recoveries from libtorrent's spurious inconsistent-hashes error
  bool restart_pending = false;  // removed after that error; added again when the removal is done
  lt::info_hash_t ih;            // to recognise our torrent_removed_alert
  lt::add_torrent_params atp;    // how it was added, to add it again
  bool save_pending = false;
  bool meta_notify = false;  // metadata came from resume data: announce it from the loop
  std::string expected_name;
  uint64_t expected_size = 0;
  std::string resume_path;
  sw_swarm_status last{};
  // The pieces libtorrent verified, kept from piece_finished_alert: asking
  // libtorrent (status with query_pieces) costs its network thread a walk over
  // the v2 hash tree: perf put 2-3 s of SHA-256 on that thread in a 512 MiB
  // download asked once a second. One full query refreshes it after a check or a restart.
  std::vector<std::uint8_t> have;
  bool have_stale = true;
  // The torrent with its v2 piece layers, taken as soon as libtorrent has them
  // all (keep_hashes) and written by sw_swarm_write_torrent.
  std::shared_ptr<const lt::torrent_info> with_hashes;
  std::chrono::steady_clock::time_point hashes_tried{};
};

namespace {

void copy_settings_defaults(sw_swarm_settings *s) {
  std::memset(s, 0, sizeof *s);
  s->listen_interfaces = "0.0.0.0:6881,[::]:6881";
  s->enable_dht = 1;
  s->enable_lsd = 1;
  s->enable_upnp = 0;
  s->enable_natpmp = 0;
  s->enable_utp = 1;
  s->encryption = SW_SWARM_ENC_ENABLED;
  s->tick_interval_ms = 100;
  s->stats_interval_ms = 1000;
  s->resume_interval_s = 30;
  s->close_timeout_ms = 5000;
  s->dht_bootstrap = 1;
}

// "1.2.3.4:5" or "[::1]:5", numeric only: a name here would need a blocking lookup.
bool parse_peer(const char *text, lt::tcp::endpoint *ep) {
  if (text == nullptr) return false;
  std::string const str(text);
  if (str.empty() || str.size() > SW_PEER_MAX) return false;
  size_t const colon = str.rfind(':');
  if (colon == std::string::npos || colon + 1 >= str.size() || str.size() - colon - 1 > 5) return false;
  std::string host = str.substr(0, colon);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return false;  // a bare IPv6 address is ambiguous with its port
  }
  unsigned port = 0;
  for (size_t i = colon + 1; i < str.size(); i++) {
    if (str[i] < '0' || str[i] > '9') return false;
    port = port * 10 + static_cast<unsigned>(str[i] - '0');
  }
  if (port == 0 || port > 65535) return false;
  lt::error_code ec;
  lt::address addr = lt::make_address(host, ec);
  if (ec) return false;
  *ep = lt::tcp::endpoint(addr, static_cast<unsigned short>(port));
  return true;
}

std::string endpoint_text(lt::tcp::endpoint const &ep) {
  std::string a = ep.address().to_string();
  if (ep.address().is_v6()) a = "[" + a + "]";
  return a + ":" + std::to_string(ep.port());
}

lt::settings_pack make_pack(const sw_swarm_settings &c) {
  lt::settings_pack p;
  p.set_str(lt::settings_pack::listen_interfaces, c.listen_interfaces);
  p.set_str(lt::settings_pack::user_agent, "swarmup/" "0.1");
  p.set_str(lt::settings_pack::peer_fingerprint, "-SU0010-");
  p.set_bool(lt::settings_pack::enable_dht, c.enable_dht != 0);
  // The router list is the only place libtorrent's DHT goes to by itself (a
  // name lookup and a public host); without it the DHT knows only what peers tell it.
  if (!c.enable_dht || !c.dht_bootstrap) p.set_str(lt::settings_pack::dht_bootstrap_nodes, "");
  p.set_bool(lt::settings_pack::enable_lsd, c.enable_lsd != 0);
  p.set_bool(lt::settings_pack::enable_upnp, c.enable_upnp != 0);
  p.set_bool(lt::settings_pack::enable_natpmp, c.enable_natpmp != 0);
  p.set_bool(lt::settings_pack::enable_outgoing_utp, c.enable_utp != 0);
  p.set_bool(lt::settings_pack::enable_incoming_utp, c.enable_utp != 0);
  p.set_bool(lt::settings_pack::enable_outgoing_tcp, true);
  p.set_bool(lt::settings_pack::enable_incoming_tcp, true);
  int pol = lt::settings_pack::pe_enabled;
  if (c.encryption == SW_SWARM_ENC_FORCED) pol = lt::settings_pack::pe_forced;
  if (c.encryption == SW_SWARM_ENC_DISABLED) pol = lt::settings_pack::pe_disabled;
  p.set_int(lt::settings_pack::out_enc_policy, pol);
  p.set_int(lt::settings_pack::in_enc_policy, pol);
  p.set_int(lt::settings_pack::allowed_enc_level, lt::settings_pack::pe_both);
  p.set_int(lt::settings_pack::upload_rate_limit, c.upload_rate_limit);
  p.set_int(lt::settings_pack::download_rate_limit, c.download_rate_limit);
  // Several peers of one host (NAT, loopback tests) are normal for an update swarm.
  p.set_bool(lt::settings_pack::allow_multiple_connections_per_ip, true);
  p.set_int(lt::settings_pack::tick_interval, c.tick_interval_ms);
  // A fixed kernel receive buffer per peer socket (SO_RCVBUF) bounds
  // libtorrent's own. When a read fills a peer's receive buffer, libtorrent
  // 2.0.8 asks the socket how many bytes wait (available()) and grows the
  // buffer to take them all in one read (peer_connection::on_receive_data,
  // receive_buffer::reserve): bounded by the rate limit's quota, not by
  // max_peer_recv_buffer_size. With Linux autotuning a fast peer's socket
  // holds up to tcp_rmem's maximum (32 MiB here), so each read allocated,
  // filled and freed buffers of 1-26 MB (heaptrack: 47 live at once, 68 MiB,
  // with 3 seeders on loopback), page faults and copies included. With
  // 1 MiB (tools/bench/swarm.sh, 512 MiB, 3 rounds): private memory 51-82 ->
  // 18-21 MiB with 3 seeders, 19-22 -> 13-14 with 1; the download itself
  // 1.2x -> 1.01x plain libtorrent's time. A 1 MiB buffer still carries
  // ~10 MB/s per peer at 100 ms of round trip (docs/bench-swarm.md).
  p.set_int(lt::settings_pack::recv_socket_buffer_size, 1024 * 1024);
  // The choker stays libtorrent's default, fixed slots (unchoke_slots_limit 8,
  // with its optimistic unchokes), in every role. The rate-based choker (as
  // many slots as the upload rate serves, recomputed every 15 s) opened slots
  // too slowly over rate-limited links: a super-seed under it sent nothing at
  // all, and clients under it uploaded to almost no one in their first 20 s,
  // so a young swarm starved and its clients took the rest from the origin.
  // tools/netlab, 50 clients, --prefer-swarm, no corporate ones: 14.9 copies
  // of egress with the rate-based choker, 2.1 with fixed slots (unlimited
  // slots: 4.5); on loopback (tools/bench/savings.sh, N = 25) 3.07 copies in
  // the foreground default against 4.45, --prefer-swarm 1.01 either way
  // (docs/bench-netlab.md).
  // Bounds the session's shutdown (it waits for "stopped" announces).
  p.set_int(lt::settings_pack::stop_tracker_timeout, 2);
  // Super-seeding (a publisher's `swarmup seed --super-seed`) the traditional
  // way, BEP 16: a peer is shown its next piece once the piece it was given has
  // been seen at another peer, not as soon as it has it. libtorrent 2.0.8's
  // default hands the next one at once, and a peer whose uplink is slower than
  // the seed's then takes piece after piece the swarm never got from it.
  // Deprecated in libtorrent's API, still read by 2.0.8 (Debian builds the
  // deprecated settings in): set by name, skipped where it is gone.
  if (int const strict = lt::setting_by_name("strict_super_seeding"); strict >= 0) p.set_bool(strict, true);
  // Keeps the piece picker once the torrent is complete. libtorrent 2.0.8 frees
  // it then, but set_piece_deadline() on a piece whose hash check is in flight
  // queues cancel_non_critical(), which walks the peers' request queues through
  // the picker: if the last piece passes in between, the network thread
  // dereferences the freed picker (SIGSEGV; fixed upstream in 2.0.11, "fix race
  // condition when cancelling requests after becoming a seed", bb08bdb). The
  // gate sets deadlines while HTTPS add_piece()s and peers still have requests
  // out, so it happened: tools/bench/savings.sh --prefer-swarm N = 25 with the
  // deadlines just past the verified prefix lost 4 of 75 clients this way, 0 of
  // 75 with this setting. Its other effect is SUGGEST messages for pieces just
  // read or passed, which is what a seed of an update swarm wants anyway.
  p.set_int(lt::settings_pack::suggest_mode, lt::settings_pack::suggest_read_cache);
  p.set_int(lt::settings_pack::alert_mask,
            static_cast<int>(static_cast<std::uint32_t>(
                lt::alert_category::error | lt::alert_category::status | lt::alert_category::storage |
                lt::alert_category::connect | lt::alert_category::peer | lt::alert_category::piece_progress |
                lt::alert_category::file_progress | lt::alert_category::tracker)));
  return p;
}

sw_swarm_torrent *find_torrent(sw_swarm *s, lt::torrent_handle const &h) {
  for (sw_swarm_torrent *t : s->torrents)
    if (!t->failed && t->h == h) return t;
  return nullptr;
}

void fill_status(sw_swarm_torrent *t, lt::torrent_status const &st, sw_swarm_status *out) {
  std::memset(out, 0, sizeof *out);
  out->has_metadata = t->meta_ok ? 1 : 0;
  out->size = t->expected_size;
  out->bytes_done = t->meta_ok ? static_cast<uint64_t>(st.total_wanted_done) : 0;
  out->total_payload_download = static_cast<uint64_t>(st.total_payload_download);
  out->total_payload_upload = static_cast<uint64_t>(st.total_payload_upload);
  out->download_rate = st.download_payload_rate;
  out->upload_rate = st.upload_payload_rate;
  out->num_peers = st.num_peers;
  out->num_seeds = st.num_seeds;
  switch (st.state) {
    case lt::torrent_status::downloading_metadata: out->state = SW_SWARM_METADATA; break;
    case lt::torrent_status::checking_files:
    case lt::torrent_status::checking_resume_data: out->state = SW_SWARM_CHECKING; break;
    case lt::torrent_status::finished:
    case lt::torrent_status::seeding: out->state = SW_SWARM_SEEDING; break;
    default: out->state = SW_SWARM_DOWNLOADING; break;
  }
  if (st.flags & lt::torrent_flags::paused) out->state = SW_SWARM_PAUSED;
  if (t->failed) out->state = SW_SWARM_FAILED;
}

void schedule_close(sw_swarm *s, uint64_t ms);

// Stop a torrent for good and tell the caller why. The handle goes away; t stays
// (state FAILED) until the caller removes it.
void fail_torrent(sw_swarm_torrent *t, sw_err err, const std::string &why) {
  sw_swarm *s = t->s;
  if (t->failed) return;
  t->failed = true;
  t->last.state = SW_SWARM_FAILED;
  if (t->save_pending) {
    t->save_pending = false;
    s->pending_saves--;
  }
  // Files stay: the save directory is the caller's partial area to clean.
  s->ses->remove_torrent(t->h);
  char msg[SW_MSG_MAX];
  sw_fail(err, msg, sizeof msg, "%s", why.c_str());
  if (!s->closing && s->cb.on_error) s->cb.on_error(s->cb.arg, t, t->arg, err, msg);
}

// Takes the torrent with its piece layers while that is cheap. libtorrent
// 2.0.8 turns a file's hash tree into its bare block layer once every block is
// verified, and from then on torrent_file_with_hashes() rebuilds each piece's
// hash from the whole rest of that layer (merkle_tree::get_piece_layer() hands
// merkle_root_scratch() the layer from the piece to its end, not the piece's
// leaves): ~67 million SHA-256 calls for 512 MiB in 256 KiB pieces, 3.3 s on
// the network thread while the loop thread waits in the call. Caught under gdb
// in 3 of 18 `swarmup fetch` runs of tools/bench/swarm.sh (user CPU 5.3 s
// instead of 1.9), whenever the call at the end of the download came after
// that conversion. Before it, the tree is whole (or just its piece layer) and
// the call copies it. Until every piece-layer hash is in (from a magnet they
// arrive with the pieces) it returns nothing at the first missing one: tried
// at the metadata, then at most every kHashesTryMs as pieces pass.
constexpr std::chrono::milliseconds kHashesTryMs{200};
// Every v2 file longer than a piece has its whole piece layer. libtorrent
// returns a torrent without them while a file's tree is still empty (just
// after the metadata of a magnet), and create_torrent then quietly generates
// the v1 part alone: the same info-hashes, but a torrent nobody can seed v2 from.
bool has_piece_layers(lt::torrent_info const &ti) {
  if (!ti.info_hashes().has_v2()) return true;
  lt::file_storage const &fs = ti.files();
  std::int64_t const plen = ti.piece_length();
  for (lt::file_index_t f : fs.file_range()) {
    if (fs.pad_file_at(f) || fs.file_size(f) <= plen) continue;
    std::int64_t const n = (fs.file_size(f) + plen - 1) / plen;
    if (static_cast<std::int64_t>(ti.piece_layer(f).size()) != n * 32) return false;
  }
  return true;
}
void keep_hashes(sw_swarm_torrent *t, bool now) {
  if (t->with_hashes || !t->meta_ok || t->failed || !t->h.is_valid()) return;
  auto const tnow = std::chrono::steady_clock::now();
  if (!now && tnow - t->hashes_tried < kHashesTryMs) return;
  t->hashes_tried = tnow;
  std::shared_ptr<const lt::torrent_info> ti = t->h.torrent_file_with_hashes();
  if (ti && ti->is_valid() && has_piece_layers(*ti)) t->with_hashes = std::move(ti);
}

// The one place where untrusted metadata meets the manifest's promise.
void check_metadata(sw_swarm_torrent *t) {
  std::shared_ptr<const lt::torrent_info> ti = t->h.torrent_file();
  if (!ti || !ti->is_valid()) return;
  if (ti->num_files() != 1) {
    fail_torrent(t, SW_ERR_TORRENT_MISMATCH,
                 "rejected metadata: " + std::to_string(ti->num_files()) + " files, want exactly 1");
    return;
  }
  std::string const name = ti->files().file_path(lt::file_index_t{0});
  if (name != t->expected_name) {
    fail_torrent(t, SW_ERR_TORRENT_MISMATCH,
                 "rejected metadata: file name differs from the manifest's \"" + t->expected_name + "\"");
    return;
  }
  if (static_cast<uint64_t>(ti->total_size()) != t->expected_size) {
    fail_torrent(t, SW_ERR_TORRENT_MISMATCH,
                 "rejected metadata: size " + std::to_string(ti->total_size()) + " differs from the manifest's " +
                     std::to_string(t->expected_size));
    return;
  }
  t->meta_ok = true;
  keep_hashes(t, true);
  sw_swarm *s = t->s;
  if (!s->closing && s->cb.on_metadata) s->cb.on_metadata(s->cb.arg, t, t->arg);
}

void request_save(sw_swarm_torrent *t) {
  if (t->failed || t->resume_path.empty() || t->save_pending || !t->h.is_valid()) return;
  if (!t->meta_ok) return;  // a magnet without metadata has nothing worth resuming
  t->h.save_resume_data(lt::torrent_handle::save_info_dict);
  t->save_pending = true;
  t->s->pending_saves++;
}

void on_save_done(sw_swarm *s, sw_swarm_torrent *t) {
  if (t && t->save_pending) {
    t->save_pending = false;
    s->pending_saves--;
  }
  if (s->closing && s->pending_saves <= 0) schedule_close(s, 0);
}

void note_have(sw_swarm_torrent *t, int piece) {
  if (piece < 0) return;
  size_t const byte = static_cast<size_t>(piece) / 8;
  if (t->have.size() <= byte) t->have.resize(byte + 1, 0);
  t->have[byte] = static_cast<std::uint8_t>(t->have[byte] | (1u << (piece % 8)));
}

void dispatch(sw_swarm *s, lt::alert *a) {
  bool const quiet = s->closing;  // after sw_swarm_free: no callback but on_closed
  if (auto *sa = lt::alert_cast<lt::save_resume_data_alert>(a)) {
    sw_swarm_torrent *t = find_torrent(s, sa->handle);
    if (t && t->save_pending && !t->resume_path.empty()) {
      char msg[SW_MSG_MAX];
      std::vector<char> buf = lt::write_resume_data_buf(sa->params);
      sw_err e = write_atomic(t->resume_path, buf, msg, sizeof msg);
      // A failed resume save costs a recheck later, not the download.
      (void)e;
    }
    on_save_done(s, t);
    return;
  }
  if (auto *fa = lt::alert_cast<lt::save_resume_data_failed_alert>(a)) {
    on_save_done(s, find_torrent(s, fa->handle));
    return;
  }
  if (auto *su = lt::alert_cast<lt::state_update_alert>(a)) {
    for (lt::torrent_status const &st : su->status) {
      sw_swarm_torrent *t = find_torrent(s, st.handle);
      if (!t) continue;
      fill_status(t, st, &t->last);
      if (!quiet && s->cb.on_status) s->cb.on_status(s->cb.arg, t, t->arg, &t->last);
      if (s->closing && !quiet) return;  // the callback closed the session
    }
    return;
  }
  if (auto *la = lt::alert_cast<lt::listen_failed_alert>(a)) {
    if (!quiet && s->cb.on_error) {
      char msg[SW_MSG_MAX];
      sw_fail(SW_ERR_SWARM, msg, sizeof msg, "listen on %s failed: %s", la->listen_interface(),
              la->error.message().c_str());
      s->cb.on_error(s->cb.arg, nullptr, nullptr, SW_ERR_SWARM, msg);
    }
    return;
  }
  if (auto *tr = lt::alert_cast<lt::torrent_removed_alert>(a)) {
    // The second half of a restart: the old torrent is gone, add it again.
    // libtorrent checks what is on disk and goes on from there, like after a
    // restart of the program (which is what cures its inconsistent-hashes state).
    for (sw_swarm_torrent *t : s->torrents) {
      if (!t->restart_pending || t->failed || !(t->ih == tr->info_hashes)) continue;
      t->restart_pending = false;
      lt::error_code ec;
      lt::add_torrent_params p = t->atp;
      t->h = s->ses->add_torrent(std::move(p), ec);
      if (ec) {
        fail_torrent(t, SW_ERR_SWARM, "restarting the torrent failed: " + ec.message());
      } else {
        t->meta_ok = false;
        t->finished_reported = false;
        if (t->atp.ti) check_metadata(t);
      }
      break;
    }
    return;
  }
  auto *ta = dynamic_cast<lt::torrent_alert *>(a);
  if (ta == nullptr) return;
  sw_swarm_torrent *t = find_torrent(s, ta->handle);
  if (t == nullptr) return;

  if (lt::alert_cast<lt::metadata_received_alert>(a)) {
    if (!t->is_seed && !t->meta_ok) check_metadata(t);
  } else if (auto *pc = lt::alert_cast<lt::peer_connect_alert>(a)) {
    if (!quiet && s->cb.on_peer) s->cb.on_peer(s->cb.arg, t, t->arg, 1, endpoint_text(pc->endpoint).c_str(), "");
  } else if (auto *pd = lt::alert_cast<lt::peer_disconnected_alert>(a)) {
    if (!quiet && s->cb.on_peer)
      s->cb.on_peer(s->cb.arg, t, t->arg, 0, endpoint_text(pd->endpoint).c_str(), pd->error.message().c_str());
  } else if (auto *pe = lt::alert_cast<lt::peer_error_alert>(a)) {
    if (!quiet && s->cb.on_peer)
      s->cb.on_peer(s->cb.arg, t, t->arg, 0, endpoint_text(pe->endpoint).c_str(), pe->error.message().c_str());
  } else if (auto *pf = lt::alert_cast<lt::piece_finished_alert>(a)) {
    if (t->meta_ok) note_have(t, static_cast<int>(static_cast<std::int32_t>(pf->piece_index)));
    keep_hashes(t, false);
    if (!quiet && t->meta_ok && s->cb.on_piece)
      s->cb.on_piece(s->cb.arg, t, t->arg, static_cast<int>(static_cast<std::int32_t>(pf->piece_index)));
  } else if (lt::alert_cast<lt::torrent_checked_alert>(a)) {
    t->have_stale = true;  // the check may have found pieces that raised no piece_finished_alert
  } else if (auto *hf = lt::alert_cast<lt::hash_failed_alert>(a)) {
    if (!quiet && t->meta_ok && s->cb.on_piece_failed)
      s->cb.on_piece_failed(s->cb.arg, t, t->arg, static_cast<int>(static_cast<std::int32_t>(hf->piece_index)));
  } else if (auto *tre = lt::alert_cast<lt::tracker_error_alert>(a)) {
    if (!quiet && s->cb.on_tracker)
      s->cb.on_tracker(s->cb.arg, t, t->arg, 0, tre->tracker_url(), tre->error.message().c_str());
  } else if (auto *trr = lt::alert_cast<lt::tracker_reply_alert>(a)) {
    if (!quiet && s->cb.on_tracker) s->cb.on_tracker(s->cb.arg, t, t->arg, 1, trr->tracker_url(), "");
  } else if (lt::alert_cast<lt::torrent_finished_alert>(a)) {
    // A magnet is "finished" only after its metadata passed check_metadata.
    if (t->meta_ok && !t->is_seed && !t->finished_reported) {
      t->finished_reported = true;
      request_save(t);
      if (!quiet && s->cb.on_finished) s->cb.on_finished(s->cb.arg, t, t->arg);
    }
  } else if (auto *fe = lt::alert_cast<lt::file_error_alert>(a)) {
    fail_torrent(t, SW_ERR_IO,
                 std::string("file error (") + lt::operation_name(fe->op) + "): " + fe->error.message());
  } else if (auto *te = lt::alert_cast<lt::torrent_error_alert>(a)) {
    // libtorrent 2.0.8 sometimes raises this for a hybrid torrent whose peers
    // are all honest (arvidn/libtorrent#6394): it drops every piece and pauses.
    // The data is re-checked piece by piece anyway, so start again, a few times.
    if (te->error == lt::errors::torrent_inconsistent_hashes && t->restarts < 3 && !t->is_seed) {
      // Remove it (files stay) and add it again when the removal is done.
      t->restarts++;
      t->finished_reported = false;
      t->restart_pending = true;
      t->meta_ok = false;
      t->have.clear();
      t->have_stale = true;
      s->ses->remove_torrent(t->h);
      if (!quiet && s->cb.on_reset) s->cb.on_reset(s->cb.arg, t, t->arg, te->error.message().c_str());
      return;
    }
    fail_torrent(t, SW_ERR_SWARM, "torrent error: " + te->error.message());
  }
}

void async_cb(uv_async_t *h) {
  sw_swarm *s = static_cast<sw_swarm *>(h->data);
  if (s->stopping || !s->ses) return;
  try {
    for (size_t i = 0; i < s->torrents.size() && !s->closing; i++) {
      sw_swarm_torrent *t = s->torrents[i];
      if (!t->meta_notify) continue;
      t->meta_notify = false;
      if (s->cb.on_metadata) s->cb.on_metadata(s->cb.arg, t, t->arg);
      i = static_cast<size_t>(-1);  // the callback may have removed torrents: rescan
    }
    s->alerts.clear();
    s->ses->pop_alerts(&s->alerts);
    // The alert objects live until the next pop_alerts: copy the vector out so
    // a callback that reaches pop_alerts indirectly cannot pull it from under us.
    std::vector<lt::alert *> batch;
    batch.swap(s->alerts);
    for (lt::alert *a : batch) {
      if (s->stopping) break;
      dispatch(s, a);
    }
  } catch (std::exception const &e) {
    if (!s->closing && s->cb.on_error) {
      char msg[SW_MSG_MAX];
      sw_fail(SW_ERR_SWARM, msg, sizeof msg, "alert handling: %s", e.what());
      s->cb.on_error(s->cb.arg, nullptr, nullptr, SW_ERR_SWARM, msg);
    }
  } catch (...) {
  }
}

void timer_cb(uv_timer_t *h) {
  sw_swarm *s = static_cast<sw_swarm *>(h->data);
  if (s->closing || !s->ses) return;
  try {
    // No optional fields: fill_status needs none, and query_pieces (part of the
    // default "all") walks the v2 hash tree on the network thread each time.
    s->ses->post_torrent_updates(lt::status_flags_t{});
    s->ms_since_resume += static_cast<uint64_t>(s->set.stats_interval_ms);
    if (s->ms_since_resume >= static_cast<uint64_t>(s->set.resume_interval_s) * 1000u) {
      s->ms_since_resume = 0;
      for (sw_swarm_torrent *t : s->torrents)
        if (!t->failed && t->h.is_valid() && t->h.need_save_resume_data()) request_save(t);
    }
  } catch (...) {
    // A torrent vanishing between the check and the call is harmless here.
  }
}

void free_all(sw_swarm *s) {
  for (sw_swarm_torrent *t : s->torrents) delete t;
  s->torrents.clear();
  sw_swarm_callbacks cb = s->cb;
  delete s;
  if (cb.on_closed) cb.on_closed(cb.arg);
}

void handle_closed(uv_handle_t *h) {
  sw_swarm *s = static_cast<sw_swarm *>(h->data);
  if (--s->open_handles == 0) free_all(s);
}

void proxy_work(uv_work_t *w) {
  sw_swarm *s = static_cast<sw_swarm *>(w->data);
  // Joins libtorrent's threads; bounded by stop_tracker_timeout.
  delete s->proxy;
  s->proxy = nullptr;
}

void proxy_after(uv_work_t *w, int status) {
  (void)status;
  sw_swarm *s = static_cast<sw_swarm *>(w->data);
  s->open_handles = 3;
  uv_close(reinterpret_cast<uv_handle_t *>(&s->async), handle_closed);
  uv_close(reinterpret_cast<uv_handle_t *>(&s->timer), handle_closed);
  uv_close(reinterpret_cast<uv_handle_t *>(&s->close_timer), handle_closed);
}

void finish_close(sw_swarm *s) {
  if (s->stopping) return;
  s->stopping = true;
  uv_timer_stop(&s->close_timer);
  try {
    // abort() also clears the notify function: no more uv_async_send from
    // libtorrent's thread once the handle may be closing.
    s->ses->set_alert_notify({});
    s->proxy = new lt::session_proxy(s->ses->abort());
    s->ses.reset();  // does not join while the proxy holds the thread
  } catch (...) {
  }
  s->work.data = s;
  if (uv_queue_work(s->loop, &s->work, proxy_work, proxy_after) != 0) {
    proxy_work(&s->work);  // no thread pool: block (bounded) rather than leak
    proxy_after(&s->work, 0);
  }
}

void close_timer_cb(uv_timer_t *h) { finish_close(static_cast<sw_swarm *>(h->data)); }

void schedule_close(sw_swarm *s, uint64_t ms) {
  if (!s->stopping) uv_timer_start(&s->close_timer, close_timer_cb, ms, 0);
}

std::string read_small_file(const std::string &path, size_t max, bool *ok) {
  *ok = false;
  std::string out;
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) return out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    if (out.size() + n > max) {
      std::fclose(f);
      return std::string();
    }
    out.append(buf, n);
  }
  *ok = !std::ferror(f);
  std::fclose(f);
  return out;
}

void set_flags_for_us(lt::add_torrent_params &p) {
  // We decide when a torrent runs; libtorrent's queue must not pause it.
  p.flags &= ~lt::torrent_flags::auto_managed;
  p.flags &= ~lt::torrent_flags::paused;
  p.flags &= ~lt::torrent_flags::upload_mode;
  p.flags &= ~lt::torrent_flags::share_mode;
  p.flags |= lt::torrent_flags::update_subscribe;
}

// Decode resume data raw[0..len) (at most SW_SWARM_RESUME_MAX, read back from
// disk) for the download of ih (v1 compared too when want_v1), a single file
// name of size bytes. Resume data is only a hint: another torrent's, or
// metadata that does not match the manifest, is ignored (false; libtorrent then
// rechecks files). true and *out when it is usable. Also behind
// sw_swarm_resume_check (tests/fuzz/fuzz_resume.c).
bool resume_for(const char *raw, size_t len, lt::info_hash_t const &ih, bool want_v1, const char *name, uint64_t size,
                lt::add_torrent_params *out) {
  lt::error_code ec;
  lt::add_torrent_params r = lt::read_resume_data(lt::span<char const>(raw, static_cast<long>(len)), ec);
  bool match = !ec && r.info_hashes.v2 == ih.v2 && (!want_v1 || r.info_hashes.v1 == ih.v1);
  if (match && r.ti) {
    match = r.ti->num_files() == 1 && r.ti->files().file_path(lt::file_index_t{0}) == std::string(name) &&
            static_cast<uint64_t>(r.ti->total_size()) == size;
  }
  if (match) *out = std::move(r);
  return match;
}

// Resume data is a file in the store, and libtorrent's format carries more than
// progress: trackers, web seeds, peers, banned peers, file renames (an absolute
// path writes the download outside the store), a save path, flags, priorities
// and rate limits. Only what describes our own progress on this torrent is
// taken from it; trackers, web seeds and peers come from the signed manifest,
// the rest from us. Its metadata, if any, is loaded again from the info
// dictionary alone and must have our info-hashes (false if not: then no resume
// at all). The info-hashes are ours (the manifest's), never the file's.
bool resume_kept(lt::add_torrent_params &r, lt::info_hash_t const &ih, lt::add_torrent_params *p) {
  *p = lt::add_torrent_params();
  p->info_hashes = ih;
  if (r.ti) {
    lt::span<char const> const is = r.ti->info_section();
    std::vector<char> buf;
    static const char k_info[] = "d4:info";
    buf.insert(buf.end(), k_info, k_info + sizeof k_info - 1);
    buf.insert(buf.end(), is.begin(), is.end());
    buf.push_back('e');
    lt::error_code ec;
    lt::bdecode_node node = lt::bdecode(buf, ec, nullptr, SW_TORRENT_DECODE_DEPTH, SW_TORRENT_DECODE_TOKENS);
    if (ec) return false;
    auto ti = std::make_shared<lt::torrent_info>(node, ec);
    if (ec || ti->info_hashes().v2 != ih.v2 || (ih.has_v1() && ti->info_hashes().v1 != ih.v1)) return false;
    p->ti = std::move(ti);
  }
  // Progress claims: libtorrent trusts them for what is on disk (it checks only
  // that the file is there). A false claim costs a failed payload gate (it hashes
  // every byte against the manifest), never a wrong install.
  p->have_pieces = std::move(r.have_pieces);
  p->unfinished_pieces = std::move(r.unfinished_pieces);
  p->merkle_trees = std::move(r.merkle_trees);
  p->merkle_tree_mask = std::move(r.merkle_tree_mask);
  p->verified_leaf_hashes = std::move(r.verified_leaf_hashes);
  p->total_uploaded = r.total_uploaded;
  p->total_downloaded = r.total_downloaded;
  p->active_time = r.active_time;
  p->finished_time = r.finished_time;
  p->seeding_time = r.seeding_time;
  p->added_time = r.added_time;
  p->completed_time = r.completed_time;
  p->last_seen_complete = r.last_seen_complete;
  p->last_download = r.last_download;
  p->last_upload = r.last_upload;
  return true;
}

sw_err add_download(sw_swarm *s, const sw_swarm_download *d, sw_swarm_torrent **out, char *msg, size_t msglen) {
  if (s == nullptr || d == nullptr || out == nullptr || d->btmh == nullptr || d->save_dir == nullptr ||
      d->expected_name == nullptr || d->expected_size == 0)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "add_download: btmh, expected name/size and save_dir are required");
  if (s->closing) return sw_fail(SW_ERR_USAGE, msg, msglen, "add_download: session is closing");
  if (!plain_basename(d->expected_name))
    return sw_fail(SW_ERR_USAGE, msg, msglen, "add_download: expected name is not a plain file name");
  if ((d->n_trackers && !d->trackers) || (d->n_peers && !d->peers))
    return sw_fail(SW_ERR_USAGE, msg, msglen, "add_download: NULL tracker/peer array");

  lt::info_hash_t ih;
  ih.v2 = lt::sha256_hash(reinterpret_cast<const char *>(d->btmh));
  if (d->btih) ih.v1 = lt::sha1_hash(reinterpret_cast<const char *>(d->btih));

  std::vector<lt::tcp::endpoint> peers;
  for (size_t i = 0; i < d->n_peers; i++) {
    lt::tcp::endpoint ep;
    if (!parse_peer(d->peers[i], &ep))
      return sw_fail(SW_ERR_USAGE, msg, msglen, "add_download: peer %zu is not numeric host:port", i);
    peers.push_back(ep);
  }

  lt::add_torrent_params p;
  bool resumed = false;
  if (d->resume_path) {
    bool ok = false;
    std::string const raw = read_small_file(d->resume_path, SW_SWARM_RESUME_MAX, &ok);
    if (ok && !raw.empty()) {
      lt::add_torrent_params r;
      if (resume_for(raw.data(), raw.size(), ih, d->btih != nullptr, d->expected_name, d->expected_size, &r))
        resumed = resume_kept(r, ih, &p);
    }
  }
  if (!resumed) {
    p = lt::add_torrent_params();
    p.info_hashes = ih;
  }
  bool given = false;
  if (d->torrent != nullptr && d->torrent_len > 0) {
    // A .torrent the caller checked against the manifest (btmh, name, size):
    // libtorrent gets the metadata and the v2 piece layers without a peer.
    lt::error_code tec;
    auto ti = std::make_shared<lt::torrent_info>(reinterpret_cast<const char *>(d->torrent),
                                                 static_cast<int>(d->torrent_len), tec);
    if (tec || ti->info_hashes().v2 != ih.v2)
      return sw_fail(SW_ERR_TORRENT_MISMATCH, msg, msglen, "add_download: the torrent given is not this download's");
    p.ti = ti;
    p.info_hashes = ti->info_hashes();
    given = true;
  }
  p.name = d->expected_name;
  p.save_path = d->save_dir;
  set_flags_for_us(p);
  // Trackers, web seeds and peers: the manifest's below, and none from elsewhere.
  p.flags |= lt::torrent_flags::override_trackers | lt::torrent_flags::override_web_seeds;
  p.flags &= ~lt::torrent_flags::seed_mode;
  // In order: lets the payload gate verify the file's prefix while it downloads.
  if (d->sequential) p.flags |= lt::torrent_flags::sequential_download;
  for (size_t i = 0; i < d->n_trackers; i++) {
    if (d->trackers[i] == nullptr || !*d->trackers[i])
      return sw_fail(SW_ERR_USAGE, msg, msglen, "add_download: tracker %zu is empty", i);
    p.trackers.push_back(d->trackers[i]);
  }
  for (auto const &ep : peers) p.peers.push_back(ep);

  std::unique_ptr<sw_swarm_torrent> t(new sw_swarm_torrent);
  t->s = s;
  t->arg = d->arg;
  t->expected_name = d->expected_name;
  t->expected_size = d->expected_size;
  if (d->resume_path) t->resume_path = d->resume_path;
  t->meta_ok = (resumed || given) && p.ti != nullptr;
  t->last.size = d->expected_size;
  t->ih = ih;
  t->atp = p;
  // Added again after a restart, it must learn what is on disk by checking it.
  t->atp.have_pieces.clear();
  t->atp.verified_pieces.clear();
  t->atp.unfinished_pieces.clear();

  lt::error_code ec;
  t->h = s->ses->add_torrent(std::move(p), ec);
  if (ec) return sw_fail(SW_ERR_SWARM, msg, msglen, "add_download: %s", ec.message().c_str());
  t->meta_notify = t->meta_ok;
  keep_hashes(t.get(), true);
  s->torrents.push_back(t.get());
  if (t->meta_notify) uv_async_send(&s->async);
  *out = t.release();
  return SW_OK;
}

sw_err add_seed(sw_swarm *s, const sw_swarm_seed *sd, sw_swarm_torrent **out, char *msg, size_t msglen) {
  if (s == nullptr || sd == nullptr || out == nullptr || sd->torrent == nullptr || sd->save_dir == nullptr)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "add_seed: torrent and save_dir are required");
  if (s->closing) return sw_fail(SW_ERR_USAGE, msg, msglen, "add_seed: session is closing");
  sw_swarm_made made;
  char name[SW_FILE_MAX + 1];
  // Only the signed part of the file is loaded: its trackers, web seeds and
  // DHT nodes are not ours (a Torrent: URL or the store may have added them).
  std::shared_ptr<lt::torrent_info> ti;
  sw_err e = load_torrent(sd->torrent, sd->torrent_len, &made, name, sizeof name, &ti, msg, msglen);
  if (e != SW_OK) return e;
  lt::error_code ec;

  std::string const path = std::string(sd->save_dir) + "/" + name;
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    return sw_fail(SW_ERR_IO, msg, msglen, "add_seed: %s: %s", path.c_str(), std::strerror(errno));
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != made.size)
    return sw_fail(SW_ERR_IO, msg, msglen, "add_seed: %s is not a regular file of %llu bytes", path.c_str(),
                   static_cast<unsigned long long>(made.size));

  lt::add_torrent_params p;
  p.ti = ti;
  p.save_path = sd->save_dir;
  set_flags_for_us(p);
  // The file passed our payload gate: no need to hash it all before serving.
  p.flags |= lt::torrent_flags::seed_mode;
  if (sd->super_seed) p.flags |= lt::torrent_flags::super_seeding;
  // The caller's trackers (the signed magnet's) and no others; no web seeds.
  // ti carries none anyway; the flags say so once more to libtorrent.
  p.flags |= lt::torrent_flags::override_trackers | lt::torrent_flags::override_web_seeds;
  for (size_t i = 0; i < sd->n_trackers; i++)
    if (sd->trackers && sd->trackers[i]) p.trackers.emplace_back(sd->trackers[i]);

  std::unique_ptr<sw_swarm_torrent> t(new sw_swarm_torrent);
  t->s = s;
  t->arg = sd->arg;
  t->is_seed = true;
  t->meta_ok = true;
  t->finished_reported = true;
  t->expected_name = name;
  t->expected_size = made.size;
  if (sd->resume_path) t->resume_path = sd->resume_path;
  t->last.size = made.size;
  t->h = s->ses->add_torrent(std::move(p), ec);
  if (ec) return sw_fail(SW_ERR_SWARM, msg, msglen, "add_seed: %s", ec.message().c_str());
  keep_hashes(t.get(), true);
  s->torrents.push_back(t.get());
  *out = t.release();
  return SW_OK;
}

sw_err swarm_new(uv_loop_t *loop, const sw_swarm_settings *set, const sw_swarm_callbacks *cb, sw_swarm **out,
                 char *msg, size_t msglen) {
  if (loop == nullptr || out == nullptr) return sw_fail(SW_ERR_USAGE, msg, msglen, "sw_swarm_new: NULL argument");
  *out = nullptr;
  std::unique_ptr<sw_swarm> s(new sw_swarm);
  s->loop = loop;
  if (set) {
    s->set = *set;
  } else {
    copy_settings_defaults(&s->set);
  }
  if (cb) {
    s->cb = *cb;
  } else {
    std::memset(&s->cb, 0, sizeof s->cb);
  }
  sw_swarm_settings &c = s->set;
  if (c.listen_interfaces == nullptr) c.listen_interfaces = "0.0.0.0:6881,[::]:6881";
  if (c.tick_interval_ms <= 0) c.tick_interval_ms = 100;
  if (c.stats_interval_ms <= 0) c.stats_interval_ms = 1000;
  if (c.resume_interval_s <= 0) c.resume_interval_s = 30;
  if (c.close_timeout_ms <= 0) c.close_timeout_ms = 5000;
  if (c.upload_rate_limit < 0 || c.download_rate_limit < 0 || c.encryption < 0 || c.encryption > 2)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "sw_swarm_new: bad rate limit or encryption setting");

#ifdef __GLIBC__
  // Piece-sized buffers (256 KiB for a 512 MiB file; when this was measured,
  // read_piece's and the gate's copies of each piece, since gone) straight from
  // mmap and back on free. glibc's default moves its mmap
  // threshold up after the first such free, and from then on they fragment its
  // per-thread arenas: peak private memory of a 3-seeder download fell from
  // 87-121 MiB to 60-65 MiB with this (tools/bench/swarm.sh, docs/bench-swarm.md).
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
  lt::session_params params(make_pack(c));
  if (c.posix_disk_io) params.disk_io_constructor = lt::posix_disk_io_constructor;
  s->ses.reset(new lt::session(std::move(params)));
  // libtorrent exempts local-network peers (127/8, 10/8, 192.168/16, ...) from
  // rate limits. A user who sets a limit means it for every peer, LAN included.
  if (c.upload_rate_limit > 0 || c.download_rate_limit > 0) {
    lt::ip_filter f;
    f.add_rule(lt::make_address("0.0.0.0"), lt::make_address("255.255.255.255"),
               1u << static_cast<std::uint32_t>(lt::session::global_peer_class_id));
    f.add_rule(lt::make_address("::"), lt::make_address("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
               1u << static_cast<std::uint32_t>(lt::session::global_peer_class_id));
    s->ses->set_peer_class_filter(f);
  }

  // Handles cannot fail to initialise on a valid loop; check anyway and, if so,
  // stop the session synchronously (the only blocking path, and an error path).
  if (uv_async_init(loop, &s->async, async_cb) != 0) {
    s->ses.reset();
    return sw_fail(SW_ERR_SWARM, msg, msglen, "sw_swarm_new: uv_async_init failed");
  }
  s->async.data = s.get();
  uv_timer_init(loop, &s->timer);
  s->timer.data = s.get();
  uv_timer_init(loop, &s->close_timer);
  s->close_timer.data = s.get();
  sw_swarm *raw = s.get();
  s->ses->set_alert_notify([raw] { uv_async_send(&raw->async); });
  // The notify fires only when the queue goes from empty to non-empty: alerts
  // queued before it was set would otherwise wait forever.
  uv_async_send(&s->async);
  uv_timer_start(&s->timer, timer_cb, static_cast<uint64_t>(c.stats_interval_ms),
                 static_cast<uint64_t>(c.stats_interval_ms));
  *out = s.release();
  return SW_OK;
}

}  // namespace

#define SW_SWARM_TRY(label, body)                                                 \
  try {                                                                           \
    body                                                                          \
  } catch (std::exception const &e) {                                             \
    return sw_fail(SW_ERR_SWARM, msg, msglen, "%s: %s", label, e.what());          \
  } catch (...) {                                                                 \
    return sw_fail(SW_ERR_SWARM, msg, msglen, "%s: unknown exception", label);     \
  }

extern "C" void sw_swarm_settings_init(sw_swarm_settings *s) {
  if (s) copy_settings_defaults(s);
}

extern "C" sw_err sw_swarm_new(uv_loop_t *loop, const sw_swarm_settings *s, const sw_swarm_callbacks *cb,
                               sw_swarm **out, char *msg, size_t msglen) {
  SW_SWARM_TRY("sw_swarm_new", return swarm_new(loop, s, cb, out, msg, msglen);)
}

extern "C" void sw_swarm_free(sw_swarm *s) {
  if (s == nullptr || s->closing) return;
  try {
    s->closing = true;
    uv_timer_stop(&s->timer);
    for (sw_swarm_torrent *t : s->torrents)
      if (!t->failed && t->h.is_valid() && t->h.need_save_resume_data()) request_save(t);
    schedule_close(s, s->pending_saves > 0 ? static_cast<uint64_t>(s->set.close_timeout_ms) : 0);
  } catch (...) {
    schedule_close(s, 0);
  }
}

extern "C" int sw_swarm_listen_port(sw_swarm *s) {
  if (s == nullptr || !s->ses) return 0;
  try {
    return s->ses->is_listening() ? static_cast<int>(s->ses->listen_port()) : 0;
  } catch (...) {
    return 0;
  }
}

extern "C" sw_err sw_swarm_resume_check(const uint8_t *buf, size_t len, const uint8_t btmh[32], const uint8_t *btih,
                                        const char *name, uint64_t size, int *usable, char *msg, size_t msglen) {
  if (usable) *usable = 0;
  if ((buf == nullptr && len > 0) || btmh == nullptr || name == nullptr || usable == nullptr)
    return sw_fail(SW_ERR_USAGE, msg, msglen, "resume_check: bad arguments");
  if (len > SW_SWARM_RESUME_MAX) return SW_OK; // add_download never reads more
  SW_SWARM_TRY("resume_check", {
    lt::info_hash_t ih;
    lt::add_torrent_params r;
    lt::add_torrent_params p;
    ih.v2 = lt::sha256_hash(reinterpret_cast<const char *>(btmh));
    if (btih) ih.v1 = lt::sha1_hash(reinterpret_cast<const char *>(btih));
    // The same two steps as add_download: does it match, then keep only the progress.
    *usable = len > 0 && resume_for(reinterpret_cast<const char *>(buf), len, ih, btih != nullptr, name, size, &r) &&
              resume_kept(r, ih, &p);
    return SW_OK;
  })
}

extern "C" sw_err sw_swarm_add_download(sw_swarm *s, const sw_swarm_download *d, sw_swarm_torrent **out, char *msg,
                                        size_t msglen) {
  SW_SWARM_TRY("add_download", return add_download(s, d, out, msg, msglen);)
}

extern "C" sw_err sw_swarm_add_seed(sw_swarm *s, const sw_swarm_seed *sd, sw_swarm_torrent **out, char *msg,
                                    size_t msglen) {
  SW_SWARM_TRY("add_seed", return add_seed(s, sd, out, msg, msglen);)
}

extern "C" sw_err sw_swarm_add_peer(sw_swarm_torrent *t, const char *peer, char *msg, size_t msglen) {
  SW_SWARM_TRY("add_peer", {
    if (t == nullptr) return sw_fail(SW_ERR_USAGE, msg, msglen, "add_peer: NULL torrent");
    if (t->failed) return sw_fail(SW_ERR_SWARM, msg, msglen, "add_peer: torrent has failed");
    lt::tcp::endpoint ep;
    if (!parse_peer(peer, &ep)) return sw_fail(SW_ERR_USAGE, msg, msglen, "add_peer: not a numeric host:port");
    t->h.connect_peer(ep);
    return SW_OK;
  })
}

extern "C" sw_err sw_swarm_pause(sw_swarm_torrent *t, int paused, char *msg, size_t msglen) {
  SW_SWARM_TRY("pause", {
    if (t == nullptr) return sw_fail(SW_ERR_USAGE, msg, msglen, "pause: NULL torrent");
    if (t->failed) return sw_fail(SW_ERR_SWARM, msg, msglen, "pause: torrent has failed");
    if (paused) {
      t->h.pause(lt::torrent_handle::graceful_pause);
    } else {
      t->h.resume();
    }
    return SW_OK;
  })
}

extern "C" sw_err sw_swarm_get_status(sw_swarm_torrent *t, sw_swarm_status *st, char *msg, size_t msglen) {
  SW_SWARM_TRY("get_status", {
    if (t == nullptr || st == nullptr) return sw_fail(SW_ERR_USAGE, msg, msglen, "get_status: NULL argument");
    if (!t->failed && t->h.is_valid()) fill_status(t, t->h.status(lt::status_flags_t{}), &t->last);
    *st = t->last;
    return SW_OK;
  })
}

extern "C" sw_err sw_swarm_write_torrent(sw_swarm_torrent *t, const char *path, char *msg, size_t msglen) {
  SW_SWARM_TRY("write_torrent", {
    if (t == nullptr || path == nullptr) return sw_fail(SW_ERR_USAGE, msg, msglen, "write_torrent: NULL argument");
    if (t->failed || !t->h.is_valid()) return sw_fail(SW_ERR_SWARM, msg, msglen, "write_torrent: torrent has failed");
    // With hashes: a v2 torrent file must carry its piece layers to be seedable.
    keep_hashes(t, true);
    std::shared_ptr<const lt::torrent_info> ti = t->with_hashes;
    if (!ti) return sw_fail(SW_ERR_SWARM, msg, msglen, "write_torrent: no metadata (or piece layers) yet");
    lt::create_torrent ct(*ti);
    std::vector<char> gen;
    std::vector<char> buf;
    lt::bencode(std::back_inserter(gen), ct.generate());
    // create_torrent copies the torrent's trackers, web seeds and nodes: keep
    // only the signed part, as every loader does (signed_part above).
    sw_err e = signed_part(reinterpret_cast<const uint8_t *>(gen.data()), gen.size(), &buf, msg, msglen);
    if (e != SW_OK) return e;
    // Refuse to keep a file that would not be the same torrent.
    lt::error_code ec;
    lt::torrent_info check(buf.data(), static_cast<int>(buf.size()), ec);
    if (ec || check.info_hashes() != ti->info_hashes())
      return sw_fail(SW_ERR_SWARM, msg, msglen, "write_torrent: regenerated torrent has other info-hashes");
    return write_atomic(path, buf, msg, msglen);
  })
}

extern "C" sw_err sw_swarm_piece_deadline(sw_swarm_torrent *t, int piece, int ms, char *msg, size_t msglen) {
  SW_SWARM_TRY("piece_deadline", {
    if (t == nullptr) return sw_fail(SW_ERR_USAGE, msg, msglen, "piece_deadline: NULL torrent");
    if (t->failed || !t->meta_ok) return sw_fail(SW_ERR_SWARM, msg, msglen, "piece_deadline: no checked metadata");
    t->h.set_piece_deadline(lt::piece_index_t(piece), ms);
    return SW_OK;
  })
}

extern "C" sw_err sw_swarm_layout(sw_swarm_torrent *t, int *piece_len, int *num_pieces, char *msg, size_t msglen) {
  SW_SWARM_TRY("layout", {
    if (t == nullptr || piece_len == nullptr || num_pieces == nullptr)
      return sw_fail(SW_ERR_USAGE, msg, msglen, "layout: NULL argument");
    if (t->failed || !t->meta_ok) return sw_fail(SW_ERR_SWARM, msg, msglen, "layout: no checked metadata");
    std::shared_ptr<const lt::torrent_info> ti = t->h.torrent_file();
    if (!ti) return sw_fail(SW_ERR_SWARM, msg, msglen, "layout: no metadata");
    *piece_len = ti->piece_length();
    *num_pieces = ti->num_pieces();
    return SW_OK;
  })
}

extern "C" sw_err sw_swarm_have_pieces(sw_swarm_torrent *t, uint8_t *bits, size_t nbytes, char *msg, size_t msglen) {
  SW_SWARM_TRY("have_pieces", {
    if (t == nullptr || bits == nullptr) return sw_fail(SW_ERR_USAGE, msg, msglen, "have_pieces: NULL argument");
    if (t->failed || !t->meta_ok) return sw_fail(SW_ERR_SWARM, msg, msglen, "have_pieces: no checked metadata");
    std::shared_ptr<const lt::torrent_info> ti = t->h.torrent_file();
    if (!ti) return sw_fail(SW_ERR_SWARM, msg, msglen, "have_pieces: no metadata");
    int const n = ti->num_pieces();
    if (static_cast<size_t>(n + 7) / 8 > nbytes) return sw_fail(SW_ERR_USAGE, msg, msglen, "have_pieces: buffer too small");
    if (t->have_stale) {
      // After a check (resume data, files on disk) or a restart: ask once.
      lt::torrent_status st = t->h.status(lt::torrent_handle::query_pieces);
      for (int i = 0; i < st.pieces.size(); i++)
        if (st.pieces.get_bit(lt::piece_index_t(i))) note_have(t, i);
      t->have_stale = false;
    }
    std::memset(bits, 0, nbytes);
    if (!t->have.empty()) std::memcpy(bits, t->have.data(), std::min(t->have.size(), static_cast<size_t>(n + 7) / 8));
    return SW_OK;
  })
}

extern "C" sw_err sw_swarm_add_piece(sw_swarm_torrent *t, int piece, const uint8_t *data, size_t len, char *msg,
                                     size_t msglen) {
  SW_SWARM_TRY("add_piece", {
    if (t == nullptr || data == nullptr) return sw_fail(SW_ERR_USAGE, msg, msglen, "add_piece: NULL argument");
    if (t->failed || !t->meta_ok) return sw_fail(SW_ERR_SWARM, msg, msglen, "add_piece: no checked metadata");
    std::shared_ptr<const lt::torrent_info> ti = t->h.torrent_file();
    if (!ti || piece < 0 || piece >= ti->num_pieces() ||
        static_cast<size_t>(ti->piece_size(lt::piece_index_t(piece))) != len)
      return sw_fail(SW_ERR_USAGE, msg, msglen, "add_piece: piece %d of %zu bytes does not fit the torrent", piece, len);
    // libtorrent copies the data, hashes it against the v1 and v2 piece hashes and
    // writes it only if it matches (hash_failed_alert otherwise).
    t->h.add_piece(lt::piece_index_t(piece), reinterpret_cast<const char *>(data));
    return SW_OK;
  })
}

typedef std::vector<std::pair<lt::piece_index_t, lt::download_priority_t>> prio_list;

extern "C" sw_err sw_swarm_piece_priority(sw_swarm_torrent *t, int first, int last, int on, char *msg,
                                          size_t msglen) {
  SW_SWARM_TRY("piece_priority", {
    if (t == nullptr) return sw_fail(SW_ERR_USAGE, msg, msglen, "piece_priority: NULL torrent");
    if (t->failed || !t->meta_ok) return sw_fail(SW_ERR_SWARM, msg, msglen, "piece_priority: no checked metadata");
    std::shared_ptr<const lt::torrent_info> ti = t->h.torrent_file();
    if (!ti || first < 0 || last < first || last >= ti->num_pieces())
      return sw_fail(SW_ERR_USAGE, msg, msglen, "piece_priority: pieces %d-%d do not fit the torrent", first, last);
    // One call with the whole list: libtorrent updates its picker once. Not
    // dont_download (0): libtorrent 2.0.8 calls a torrent finished once every
    // piece it still wants is there, so 0 on all missing pieces raised
    // torrent_finished before a byte of them arrived (and the file was never
    // opened). low_priority (1): peers are asked only when nothing else is left.
    prio_list v;
    for (int i = first; i <= last; i++)
      v.emplace_back(lt::piece_index_t(i), on ? lt::default_priority : lt::low_priority);
    t->h.prioritize_pieces(v);
    return SW_OK;
  })
}

extern "C" sw_err sw_swarm_set_sequential(sw_swarm_torrent *t, int on, char *msg, size_t msglen) {
  SW_SWARM_TRY("set_sequential", {
    if (t == nullptr) return sw_fail(SW_ERR_USAGE, msg, msglen, "set_sequential: NULL torrent");
    if (t->failed) return sw_fail(SW_ERR_SWARM, msg, msglen, "set_sequential: the torrent failed");
    if (on)
      t->h.set_flags(lt::torrent_flags::sequential_download);
    else
      t->h.unset_flags(lt::torrent_flags::sequential_download);
    return SW_OK;
  })
}

extern "C" sw_err sw_swarm_queued_pieces(sw_swarm_torrent *t, uint8_t *bits, size_t nbytes, char *msg,
                                         size_t msglen) {
  SW_SWARM_TRY("queued_pieces", {
    if (t == nullptr || bits == nullptr) return sw_fail(SW_ERR_USAGE, msg, msglen, "queued_pieces: NULL argument");
    if (t->failed || !t->meta_ok) return sw_fail(SW_ERR_SWARM, msg, msglen, "queued_pieces: no checked metadata");
    std::memset(bits, 0, nbytes);
    std::vector<lt::partial_piece_info> q;
    t->h.get_download_queue(q);
    for (auto const &pp : q) {
      int const i = static_cast<int>(static_cast<std::int32_t>(pp.piece_index));
      if (i >= 0 && static_cast<size_t>(i / 8) < nbytes) bits[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
    }
    return SW_OK;
  })
}

extern "C" void sw_swarm_remove(sw_swarm_torrent *t) {
  if (t == nullptr) return;
  sw_swarm *s = t->s;
  try {
    if (!t->failed && s->ses) s->ses->remove_torrent(t->h);
  } catch (...) {
  }
  if (t->save_pending) {
    t->save_pending = false;
    s->pending_saves--;
    if (s->closing && s->pending_saves <= 0) schedule_close(s, 0);
  }
  for (size_t i = 0; i < s->torrents.size(); i++)
    if (s->torrents[i] == t) {
      s->torrents.erase(s->torrents.begin() + static_cast<long>(i));
      break;
    }
  delete t;
}
