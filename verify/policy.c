/* policy.c - freshness and rollback policy (see policy.h).
 *
 * An authentic manifest can still be the wrong one: for another product, a
 * stale copy replayed by a mirror (freeze), an older release (rollback), or a
 * second, different manifest signed under a sequence already used
 * (equivocation). The checks run in a fixed order; the first failure wins. */
#include "policy.h"

#include <stdio.h>
#include <string.h>

/* Copy at most 40 bytes of s into out, printable ASCII only, "..." if cut. */
static void pol_quote(char out[44], const char *s) {
  size_t len = strlen(s), n = len < 40 ? len : 40, i;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    out[i] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
  }
  if (len > n) {
    memcpy(out + i, "...", 3);
    i += 3;
  }
  out[i] = '\0';
}

/* A human duration: "45 s", "12 minutes", "5.0 hours", "3.2 days", "3.9 years". */
static void pol_duration(uint64_t s, char *out, size_t outlen) {
  if (s < 120)
    snprintf(out, outlen, "%u s", (unsigned)s);
  else if (s < 2 * 3600)
    snprintf(out, outlen, "%u minutes", (unsigned)(s / 60));
  else if (s < 2 * 86400)
    snprintf(out, outlen, "%.1f hours", (double)s / 3600.0);
  else if (s < 2 * 31557600ull)
    snprintf(out, outlen, "%.1f days", (double)s / 86400.0);
  else
    snprintf(out, outlen, "%.1f years", (double)s / 31557600.0);
}

int64_t sw_policy_valid_until(const sw_policy *p, int64_t date, int64_t expires) {
  /* date + max_validity without signed overflow: compare in the unsigned domain. */
  if (p == NULL || p->max_validity <= 0) return expires;
  if (date > expires) return expires;
  if ((uint64_t)expires - (uint64_t)date > (uint64_t)p->max_validity) return date + p->max_validity;
  return expires;
}

int64_t sw_policy_effective_now(const sw_policy *p, const sw_policy_prev *prev) {
  if (prev != NULL && prev->have && prev->latest_known_time > p->now) return prev->latest_known_time;
  return p->now;
}

sw_err sw_policy_check_clock(const sw_policy *p, const sw_policy_prev *prev, char *msg, size_t msglen) {
  char t1[21], t2[21], dur[48];
  uint64_t behind, skew;
  if (p == NULL) return sw_fail(SW_ERR_INTERNAL, msg, msglen, "sw_policy_check_clock: missing argument");
  if (prev == NULL || !prev->have || p->now >= prev->latest_known_time) return SW_OK;
  /* The latest known time may be up to the skew ahead of a good clock (it
   * includes accepted Dates, which may be that far in the future). */
  behind = (uint64_t)prev->latest_known_time - (uint64_t)p->now;
  skew = p->max_clock_skew > 0 ? (uint64_t)p->max_clock_skew : 0;
  if (behind <= skew) return SW_OK;
  sw_manifest_format_time(p->now, t1);
  sw_manifest_format_time(prev->latest_known_time, t2);
  pol_duration(behind, dur, sizeof dur);
  return sw_fail(SW_ERR_CLOCK, msg, msglen,
                 "the clock (%s) is behind the latest known time %s by %s (more than --max-clock-skew %llu s): "
                 "was it set back? Fix the clock; an expired manifest is not accepted again",
                 t1, t2, dur, (unsigned long long)skew);
}

sw_err sw_policy_check(const sw_policy *p, const sw_manifest *m, const uint8_t manifest_sha256[32],
                       const sw_policy_prev *prev, sw_fresh *verdict, char *msg, size_t msglen) {
  char a[44], b[44], t1[21], t2[21], t3[21], dur[48];
  uint64_t skew;
  int64_t until, now_eff;
  sw_err err;

  if (verdict) *verdict = SW_FRESH_REJECTED;
  if (msg && msglen) msg[0] = '\0';
  if (p == NULL || m == NULL || verdict == NULL || p->product == NULL || p->channel == NULL)
    return sw_fail(SW_ERR_INTERNAL, msg, msglen, "sw_policy_check: missing argument");

  if (strcmp(m->product, p->product) != 0) {
    pol_quote(a, m->product);
    pol_quote(b, p->product);
    return sw_fail(SW_ERR_MANIFEST_POLICY, msg, msglen, "product is \"%s\", expected \"%s\"", a, b);
  }
  if (strcmp(m->channel, p->channel) != 0) {
    pol_quote(a, m->channel);
    pol_quote(b, p->channel);
    return sw_fail(SW_ERR_MANIFEST_POLICY, msg, msglen, "channel is \"%s\", expected \"%s\"", a, b);
  }

  /* A clock set back must not make an expired manifest valid again. */
  err = sw_policy_check_clock(p, prev, msg, msglen);
  if (err) return err;

  /* A Date from the future means a wrong clock on one side or a manifest
   * prepared to outlive its welcome; allow only the configured skew.
   * Unsigned differences: no signed overflow whatever the clock says. */
  skew = p->max_clock_skew > 0 ? (uint64_t)p->max_clock_skew : 0;
  if (m->date > p->now) {
    uint64_t ahead = (uint64_t)m->date - (uint64_t)p->now;
    if (ahead > skew) {
      sw_manifest_format_time(m->date, t1);
      pol_duration(ahead, dur, sizeof dur);
      return sw_fail(SW_ERR_MANIFEST_POLICY, msg, msglen,
                     "Date %s is %s in the future (clock skew limit %llu s)", t1, dur, (unsigned long long)skew);
    }
  }
  /* Expires guards against a mirror serving an old, validly signed manifest
   * forever; the client's own cap (max_validity) against an Expires set far
   * out. Judged at the effective now: a clock a little behind the latest
   * known time does not move an expiry back either. */
  until = sw_policy_valid_until(p, m->date, m->expires);
  now_eff = sw_policy_effective_now(p, prev);
  if (until <= now_eff) {
    sw_manifest_format_time(until, t1);
    if (until == m->expires)
      return sw_fail(SW_ERR_STALE, msg, msglen, "manifest expired at %s (freeze attack?)", t1);
    sw_manifest_format_time(m->date, t2);
    sw_manifest_format_time(m->expires, t3);
    return sw_fail(SW_ERR_STALE, msg, msglen,
                   "manifest expired at %s by --max-validity %llu s after its Date %s (its Expires is %s; "
                   "freeze attack?)",
                   t1, (unsigned long long)p->max_validity, t2, t3);
  }

  if (prev == NULL || !prev->have) {
    *verdict = SW_FRESH_NEWER;
    return SW_OK;
  }
  if (m->sequence < prev->sequence)
    return sw_fail(SW_ERR_MANIFEST_POLICY, msg, msglen, "sequence %llu is lower than accepted %llu (rollback)",
                   (unsigned long long)m->sequence, (unsigned long long)prev->sequence);
  if (m->sequence == prev->sequence) {
    if (manifest_sha256 == NULL)
      return sw_fail(SW_ERR_INTERNAL, msg, msglen, "sw_policy_check: no manifest hash to compare");
    if (memcmp(manifest_sha256, prev->manifest_sha256, 32) != 0)
      return sw_fail(SW_ERR_MANIFEST_POLICY, msg, msglen,
                     "sequence %llu was already accepted with other content (equivocation)",
                     (unsigned long long)m->sequence);
    *verdict = SW_FRESH_SAME;
    return SW_OK;
  }
  /* A higher sequence with an older Date is not how a publisher moves forward. */
  if (m->date < prev->date) {
    sw_manifest_format_time(m->date, t1);
    sw_manifest_format_time(prev->date, t2);
    return sw_fail(SW_ERR_MANIFEST_POLICY, msg, msglen, "Date %s is older than the accepted Date %s (replay)", t1,
                   t2);
  }
  *verdict = SW_FRESH_NEWER;
  return SW_OK;
}
