/* pgp_pump.c - gpg's verify run on our own poll loop, the message written into its pipe by us.
 *
 * Why: gpgme 1.18 copies the message into gpg's pipe itself
 * (_gpgme_data_outbound_handler -> _gpgme_io_write), and _gpgme_io_write
 * formats every byte it writes for the trace log even with tracing off
 * (TRACE_LOGBUFX; _gpgme_debug_trace() is the constant 1): perf put ~28% of
 * the gate's CPU there, 0.56 CPU-s per 512 MiB (docs/cpu.md). gpgme's public
 * API for a caller's event loop (gpgme_set_io_cbs) hands us every fd of the
 * operation with the handler gpgme would run on it. We run the handlers of
 * the inbound fds (gpg's status and diagnostics) unchanged, so gpgme still
 * parses gpg's status lines and builds the verify result; the one outbound
 * fd (the message, the only data object of a `gpg --verify` on a one-pass
 * signed message) we fill ourselves with plain write(2)s from the framer.
 * At the end of the message, or if gpg closed its end early, the rest is
 * left to gpgme's own handler, which reads the framer's end (0 bytes) or
 * meets the same EPIPE and closes its end as it would have.
 *
 * The verdict does not depend on this file: gpgme still decides what gpg
 * said. If gpgme ever registered a second outbound fd, that one would be
 * served by gpgme's handler as usual. */
#include "pgp_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What one write(2) carries at most: a quarter of the 1 MiB pipe
 * (widen_pipes), so gpg can read while we fill the rest. */
#define PUMP_BUF (256u * 1024u)
/* A gpg verify registers 3 fds (status, diagnostics, the message). */
#define PUMP_FDS 8

struct pump_io {
  int fd, dir, live;
  gpgme_io_cb_t fnc;
  void *fnc_data;
};

struct pump {
  struct pump_io io[PUMP_FDS];
  struct pump_io *ours; /* the message's fd while we write it */
  int done;
  gpgme_error_t err;
};

static gpgme_error_t pump_add(void *priv, int fd, int dir, gpgme_io_cb_t fnc, void *fnc_data, void **r_tag) {
  struct pump *pp = priv;
  for (int i = 0; i < PUMP_FDS; i++) {
    struct pump_io *io = &pp->io[i];
    if (io->live) continue;
    io->fd = fd;
    io->dir = dir;
    io->fnc = fnc;
    io->fnc_data = fnc_data;
    io->live = 1;
    *r_tag = io;
    return 0;
  }
  return gpg_error(GPG_ERR_GENERAL);
}

static void pump_remove(void *tag) {
  struct pump_io *io = tag;
  io->live = 0;
}

static void pump_event(void *priv, gpgme_event_io_t type, void *type_data) {
  struct pump *pp = priv;
  if (type == GPGME_EVENT_DONE) {
    const struct gpgme_io_event_done_data *d = type_data;
    pp->done = 1;
    if (d != NULL) pp->err = d->err ? d->err : d->op_err;
  }
}

/* The first outbound fd, once; NULL when there is none or more than one. */
static struct pump_io *message_fd(struct pump *pp) {
  struct pump_io *found = NULL;
  for (int i = 0; i < PUMP_FDS; i++) {
    if (!pp->io[i].live || pp->io[i].dir != 0) continue;
    if (found != NULL) return NULL;
    found = &pp->io[i];
  }
  return found;
}

gpgme_error_t sw_pgp__verify_pumped(gpgme_ctx_t ctx, gpgme_data_t md, struct framer *f) {
  struct pump pp;
  struct gpgme_io_cbs cbs;
  struct pollfd pfd[PUMP_FDS];
  struct pump_io *at[PUMP_FDS];
  uint8_t *buf = NULL;
  size_t len = 0, off = 0;
  gpgme_error_t e;

  memset(&pp, 0, sizeof pp);
  buf = malloc(PUMP_BUF);
  if (buf == NULL) return gpgme_error_from_errno(errno);
  cbs.add = pump_add;
  cbs.add_priv = &pp;
  cbs.remove = pump_remove;
  cbs.event = pump_event;
  cbs.event_priv = &pp;
  gpgme_set_io_cbs(ctx, &cbs);
  e = gpgme_op_verify_start(ctx, md, NULL, NULL);
  if (e) goto out;
  pp.ours = message_fd(&pp);
  while (!pp.done) {
    nfds_t n = 0;
    int r;
    if (pp.ours != NULL && off == len) {
      ssize_t got = sw_pgp__framer_read(f, buf, PUMP_BUF);
      if (got < 0) {
        /* The framer marked f->failed; the caller reports it. */
        gpgme_cancel(ctx);
        e = gpg_error(GPG_ERR_CANCELED);
        goto out;
      }
      if (got == 0) {
        pp.ours = NULL; /* gpgme's handler reads the end and closes */
      } else {
        len = (size_t)got;
        off = 0;
      }
    }
    for (int i = 0; i < PUMP_FDS; i++) {
      if (!pp.io[i].live) continue;
      pfd[n].fd = pp.io[i].fd;
      pfd[n].events = pp.io[i].dir ? POLLIN : POLLOUT;
      pfd[n].revents = 0;
      at[n++] = &pp.io[i];
    }
    if (n == 0) {
      /* Every fd closed but no DONE event: not what gpgme does. */
      e = gpg_error(GPG_ERR_BUG);
      goto out;
    }
    r = poll(pfd, n, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      e = gpgme_error_from_errno(errno);
      gpgme_cancel(ctx);
      goto out;
    }
    for (nfds_t i = 0; i < n && !pp.done; i++) {
      struct pump_io *io = at[i];
      if (pfd[i].revents == 0 || !io->live || io->fd != pfd[i].fd) continue;
      if (io == pp.ours) {
        ssize_t w = write(io->fd, buf + off, len - off);
        if (w > 0) {
          off += (size_t)w;
          continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        /* gpg closed its end (EPIPE) or the pipe failed: gpgme's handler
         * meets the same error and closes its end, as without us. */
        pp.ours = NULL;
      }
      (void)io->fnc(io->fnc_data, io->fd);
    }
  }
  e = pp.err;
out:
  /* gpgme keeps our tags (pointers into pp) until it removes each fd; an fd
   * still registered here (gpgme's engine start failing halfway leaves them)
   * would be removed later through callbacks that are gone: cancel now, while
   * pp is alive, so every fd is closed and removed before we return. */
  for (int i = 0; i < PUMP_FDS; i++)
    if (pp.io[i].live) {
      gpgme_cancel(ctx);
      break;
    }
  gpgme_set_io_cbs(ctx, NULL);
  free(buf);
  return e;
}
