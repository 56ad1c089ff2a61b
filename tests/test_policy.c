/* test_policy.c - freshness/rollback policy: product, channel, the clock
 * against the latest known time, clock skew, expiry (and the --max-validity
 * cap), rollback, equivocation, replay, in that order. */
#include "sw_test.h"

#include "policy.h"

#define NOW 1795694400LL /* 2026-11-26T12:00:00Z */
#define DAY 86400LL

static char msg[SW_MSG_MAX];
static sw_manifest *M;
static uint8_t HASH[32];
static sw_policy P;
static sw_policy_prev PREV;
static sw_fresh V;

/* A manifest for hello/stable, sequence 42, signed an hour ago, valid 30 days;
 * the accepted state: sequence 41, signed a week ago. */
static void setup(void) {
  if (M == NULL) M = calloc(1, sizeof *M);
  SW_ASSERT(M != NULL);
  memset(M, 0, sizeof *M);
  strcpy(M->product, "hello");
  strcpy(M->channel, "stable");
  M->sequence = 42;
  M->date = NOW - 3600;
  M->expires = NOW + 30 * DAY;
  memset(HASH, 0xab, sizeof HASH);
  P.product = "hello";
  P.channel = "stable";
  P.now = NOW;
  P.max_clock_skew = 3600;
  memset(&PREV, 0, sizeof PREV);
  PREV.have = 1;
  PREV.sequence = 41;
  PREV.date = NOW - 7 * DAY;
  PREV.latest_known_time = NOW - DAY; /* the last check was yesterday */
  memset(PREV.manifest_sha256, 0xcd, 32);
  V = SW_FRESH_NEWER; /* must be overwritten with REJECTED on every failure */
  msg[0] = '\0';
}

static sw_err check(void) {
  return sw_policy_check(&P, M, HASH, &PREV, &V, msg, sizeof msg);
}

#define EXPECT_FAIL(code, needle)                                                                  \
  do {                                                                                             \
    SW_ASSERT_EQ_INT(check(), (code));                                                             \
    SW_ASSERT_EQ_INT(V, SW_FRESH_REJECTED);                                                        \
    SW_ASSERT_CONTAINS(msg, (needle));                                                             \
  } while (0)
#define EXPECT_STALE(needle) EXPECT_FAIL(SW_ERR_STALE, needle)
#define EXPECT_CLOCK(needle) EXPECT_FAIL(SW_ERR_CLOCK, needle)

#define EXPECT_REJECT(needle)                                                                      \
  do {                                                                                             \
    SW_ASSERT_EQ_INT(check(), SW_ERR_MANIFEST_POLICY);                                             \
    SW_ASSERT_EQ_INT(V, SW_FRESH_REJECTED);                                                        \
    SW_ASSERT_CONTAINS(msg, (needle));                                                             \
  } while (0)

SW_TEST(first_manifest_without_state_is_newer) {
  setup();
  PREV.have = 0;
  PREV.sequence = 1000; /* ignored when have == 0 */
  SW_ASSERT_EQ_INT(check(), SW_OK);
  SW_ASSERT_EQ_INT(V, SW_FRESH_NEWER);
  V = SW_FRESH_REJECTED;
  SW_ASSERT_EQ_INT(sw_policy_check(&P, M, HASH, NULL, &V, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(V, SW_FRESH_NEWER);
}

SW_TEST(accepts_higher_sequence) {
  setup();
  SW_ASSERT_EQ_INT(check(), SW_OK);
  SW_ASSERT_EQ_INT(V, SW_FRESH_NEWER);
}

SW_TEST(accepts_higher_sequence_with_same_date) {
  setup();
  M->date = PREV.date;
  SW_ASSERT_EQ_INT(check(), SW_OK);
  SW_ASSERT_EQ_INT(V, SW_FRESH_NEWER);
}

SW_TEST(rejects_wrong_product) {
  setup();
  strcpy(M->product, "other");
  EXPECT_REJECT("product is \"other\", expected \"hello\"");
}

SW_TEST(rejects_wrong_channel) {
  setup();
  strcpy(M->channel, "beta");
  EXPECT_REJECT("channel is \"beta\", expected \"stable\"");
}

SW_TEST(product_is_checked_before_expiry) {
  setup();
  strcpy(M->product, "other");
  M->expires = NOW - DAY;
  EXPECT_REJECT("product is \"other\"");
}

SW_TEST(rejects_date_far_in_future) {
  setup();
  M->date = NOW + 1428 * DAY; /* ~3.9 years */
  M->expires = M->date + 30 * DAY;
  EXPECT_REJECT("is 3.9 years in the future (clock skew limit 3600 s)");
  SW_ASSERT_CONTAINS(msg, "Date 2030-");
}

SW_TEST(rejects_date_hours_in_future) {
  setup();
  M->date = NOW + 5 * 3600;
  EXPECT_REJECT("Date 2026-11-26T17:00:00Z is 5.0 hours in the future");
}

SW_TEST(rejects_date_just_over_skew) {
  setup();
  M->date = NOW + 3601;
  EXPECT_REJECT("60 minutes in the future (clock skew limit 3600 s)");
}

SW_TEST(accepts_date_within_skew) {
  setup();
  M->date = NOW + 3600;
  SW_ASSERT_EQ_INT(check(), SW_OK);
  SW_ASSERT_EQ_INT(V, SW_FRESH_NEWER);
}

SW_TEST(zero_skew_rejects_any_future_date) {
  setup();
  P.max_clock_skew = 0;
  M->date = NOW + 1;
  EXPECT_REJECT("1 s in the future (clock skew limit 0 s)");
}

SW_TEST(rejects_expired) {
  setup();
  M->date = NOW - 40 * DAY;
  M->expires = NOW - 10 * DAY;
  EXPECT_STALE("manifest expired at 2026-11-16T12:00:00Z (freeze attack?)");
}

SW_TEST(rejects_expiry_equal_to_now) {
  setup();
  M->expires = NOW;
  EXPECT_STALE("manifest expired at 2026-11-26T12:00:00Z");
}

SW_TEST(accepts_expiry_one_second_ahead) {
  setup();
  M->expires = NOW + 1;
  SW_ASSERT_EQ_INT(check(), SW_OK);
}

SW_TEST(rejects_rollback_to_lower_sequence) {
  setup();
  M->sequence = 41;
  PREV.sequence = 42;
  EXPECT_REJECT("sequence 41 is lower than accepted 42 (rollback)");
}

SW_TEST(rejects_equivocation_same_sequence_other_content) {
  setup();
  PREV.sequence = 42;
  EXPECT_REJECT("sequence 42 was already accepted with other content (equivocation)");
}

SW_TEST(same_sequence_same_bytes_is_up_to_date) {
  setup();
  PREV.sequence = 42;
  memcpy(PREV.manifest_sha256, HASH, 32);
  SW_ASSERT_EQ_INT(check(), SW_OK);
  SW_ASSERT_EQ_INT(V, SW_FRESH_SAME);
}

SW_TEST(same_sequence_same_bytes_expired_is_rejected) {
  setup();
  PREV.sequence = 42;
  memcpy(PREV.manifest_sha256, HASH, 32);
  M->expires = NOW - 1;
  EXPECT_STALE("manifest expired at");
}

SW_TEST(rejects_older_date_with_higher_sequence) {
  setup();
  M->sequence = 43;
  PREV.sequence = 42;
  M->date = NOW - 30 * DAY;
  PREV.date = NOW - 7 * DAY;
  EXPECT_REJECT("Date 2026-10-27T12:00:00Z is older than the accepted Date 2026-11-19T12:00:00Z (replay)");
}

SW_TEST(rollback_is_reported_before_replay) {
  setup();
  M->sequence = 40;
  M->date = NOW - 30 * DAY;
  EXPECT_REJECT("(rollback)");
}

SW_TEST(missing_arguments_are_internal_errors) {
  setup();
  SW_ASSERT_EQ_INT(sw_policy_check(NULL, M, HASH, &PREV, &V, msg, sizeof msg), SW_ERR_INTERNAL);
  SW_ASSERT_EQ_INT(V, SW_FRESH_REJECTED);
  V = SW_FRESH_NEWER;
  SW_ASSERT_EQ_INT(sw_policy_check(&P, NULL, HASH, &PREV, &V, msg, sizeof msg), SW_ERR_INTERNAL);
  SW_ASSERT_EQ_INT(V, SW_FRESH_REJECTED);
  PREV.sequence = 42;
  SW_ASSERT_EQ_INT(sw_policy_check(&P, M, NULL, &PREV, &V, msg, sizeof msg), SW_ERR_INTERNAL);
  SW_ASSERT_EQ_INT(V, SW_FRESH_REJECTED);
}

SW_TEST(extreme_clock_values_do_not_overflow) {
  setup();
  PREV.have = 0; /* with a state, a clock this far back is a clock error first (below) */
  P.now = INT64_MIN;
  M->date = INT64_MAX;
  M->expires = INT64_MAX;
  EXPECT_REJECT("years in the future");
  setup();
  P.now = INT64_MAX;
  EXPECT_STALE("manifest expired at");
  setup();
  P.now = INT64_MIN; /* and a latest known time: the difference must not overflow */
  PREV.latest_known_time = INT64_MAX;
  EXPECT_CLOCK("is behind the latest known time");
  setup();
  P.max_validity = INT64_MAX;
  M->date = INT64_MIN;
  M->expires = INT64_MAX;
  SW_ASSERT_EQ_INT(sw_policy_valid_until(&P, M->date, M->expires), -1); /* INT64_MIN + INT64_MAX */
  P.max_validity = 1;
  SW_ASSERT_EQ_INT(sw_policy_valid_until(&P, M->date, M->expires), INT64_MIN + 1);
}

/* ---- the clock against the latest known time ------------------------------- */

SW_TEST(clock_set_back_beyond_skew_is_a_clock_error) {
  setup();
  PREV.latest_known_time = NOW + 3601; /* a check was made 3601 s "later" than now */
  EXPECT_CLOCK("the clock (2026-11-26T12:00:00Z) is behind the latest known time 2026-11-26T13:00:01Z");
  SW_ASSERT_CONTAINS(msg, "more than --max-clock-skew 3600 s");
}

SW_TEST(clock_set_back_is_reported_before_the_manifest_is_judged) {
  setup();
  PREV.latest_known_time = NOW + 10 * DAY;
  M->expires = NOW + 5 * DAY; /* valid at the clock, expired at the latest known time */
  EXPECT_CLOCK("by 10.0 days");
}

SW_TEST(clock_behind_within_skew_is_accepted) {
  setup();
  PREV.latest_known_time = NOW + 3600;
  SW_ASSERT_EQ_INT(check(), SW_OK);
  SW_ASSERT_EQ_INT(V, SW_FRESH_NEWER);
}

SW_TEST(clock_behind_within_skew_does_not_revive_an_expiry) {
  setup();
  PREV.latest_known_time = NOW + 1800;
  M->expires = NOW + 1000; /* after the clock, but before the latest known time */
  EXPECT_STALE("manifest expired at 2026-11-26T12:16:40Z");
}

SW_TEST(no_state_means_no_clock_check) {
  setup();
  PREV.have = 0;
  PREV.latest_known_time = NOW + 100 * DAY;
  SW_ASSERT_EQ_INT(check(), SW_OK);
  SW_ASSERT_EQ_INT(sw_policy_check_clock(&P, NULL, msg, sizeof msg), SW_OK);
  SW_ASSERT_EQ_INT(sw_policy_effective_now(&P, &PREV), NOW);
}

SW_TEST(effective_now_is_the_later_of_clock_and_latest_known_time) {
  setup();
  SW_ASSERT_EQ_INT(sw_policy_effective_now(&P, &PREV), NOW);
  PREV.latest_known_time = NOW + 5;
  SW_ASSERT_EQ_INT(sw_policy_effective_now(&P, &PREV), NOW + 5);
}

/* ---- --max-validity ------------------------------------------------------------ */

SW_TEST(max_validity_caps_a_long_expiry) {
  setup();
  M->date = NOW - 2 * DAY;
  M->expires = NOW + 365 * DAY;
  P.max_validity = DAY;
  EXPECT_STALE("manifest expired at 2026-11-25T12:00:00Z by --max-validity 86400 s after its Date");
  SW_ASSERT_CONTAINS(msg, "its Expires is 2027-11-26T12:00:00Z");
}

SW_TEST(max_validity_longer_than_the_age_accepts) {
  setup();
  M->date = NOW - 2 * DAY;
  M->expires = NOW + 365 * DAY;
  P.max_validity = 3 * DAY;
  SW_ASSERT_EQ_INT(check(), SW_OK);
  SW_ASSERT_EQ_INT(V, SW_FRESH_NEWER);
}

SW_TEST(max_validity_never_extends_expires) {
  setup();
  M->date = NOW - 2 * DAY;
  M->expires = NOW - DAY;
  P.max_validity = 30 * DAY;
  EXPECT_STALE("manifest expired at 2026-11-25T12:00:00Z (freeze attack?)");
  SW_ASSERT_EQ_INT(sw_policy_valid_until(&P, M->date, M->expires), M->expires);
}

SW_TEST(max_validity_zero_means_expires_alone) {
  setup();
  P.max_validity = 0;
  SW_ASSERT_EQ_INT(sw_policy_valid_until(&P, NOW, NOW + 400 * DAY), NOW + 400 * DAY);
}
