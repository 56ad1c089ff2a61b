#!/usr/bin/env bash
# The systemd units as built (build/systemd/, ExecStart with the install path):
# `systemd-analyze security --offline=true` rates each service 2.0 or lower
# ("OK"; docs/systemd.md records the scores), `systemd-analyze verify` finds
# nothing wrong with the units and the timer, and the hardening the issue asks
# for is in them. The timer is checked for apt-daily's shape. Skipped (77) only
# when systemd-analyze cannot analyse offline (systemd before 250); no systemd
# needs to run (none does in a container).
. "$(dirname "$0")/lib.sh" "$1"

U=$SW_BUILD/systemd
command -v systemd-analyze >/dev/null ||
  { echo "systemd_units.sh needs systemd-analyze (package systemd; tools/bootstrap.sh installs it)"; exit 1; }
systemd-analyze security --help 2>/dev/null | grep -q -- '--offline' ||
  { echo "SKIP systemd_units: systemd-analyze $(systemd-analyze --version | head -1) has no --offline"; exit 77; }
mkdir -p "$T/u"
cp "$U/swarmup-seed.service" "$U/swarmup-update@.service" "$SW_SRC/tools/systemd/swarmup-update@.timer" "$T/u/"
# An instance of the template, as systemd would load it.
cp "$T/u/swarmup-update@.service" "$T/u/swarmup-update@hello.service"

score() { # score UNIT: the overall exposure, e.g. 1.2
  (cd "$T/u" && systemd-analyze security --offline=true --no-pager "$1" 2>&1) |
    sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p'
}
for unit in swarmup-seed.service swarmup-update@hello.service; do
  s=$(score "$unit")
  echo "   $unit: exposure $s"
  ok "${unit%%.*}_is_rated_2_0_or_lower" awk -v s="$s" 'BEGIN { exit !(s != "" && s + 0 <= 2.0) }'
done
# verify: the only complaints allowed are the binary not being installed here and man pages
# not being installed (both true of a build tree).
(cd "$T/u" && systemd-analyze verify swarmup-seed.service swarmup-update@hello.service swarmup-update@hello.timer \
  >"$T/verify.log" 2>&1) || true
grep -v -e 'is not executable: No such file' -e "Command 'man " "$T/verify.log" >"$T/verify.rest" || true
ok units_verify_cleanly test ! -s "$T/verify.rest"
[ -s "$T/verify.rest" ] && sed 's/^/   | /' "$T/verify.rest"
has() { grep -qxF -- "$2" "$T/u/$1"; }
for line in "User=_swarmup" "StateDirectory=swarmup-seed" "ProtectSystem=strict" "PrivateTmp=yes" \
  "NoNewPrivileges=yes" "SystemCallFilter=@system-service" "CapabilityBoundingSet=" "MemoryMax=1G" \
  "Environment=GNUPGHOME=%S/swarmup-seed/gnupg" "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK"; do
  ok "seed_unit_has_${line%%=*}" has swarmup-seed.service "$line"
done
ok seed_unit_runs_the_installed_binary grep -q '^ExecStart=/.*/swarmup seed --config /etc/swarmup/seed.conf --state-dir %S/swarmup-seed' \
  "$T/u/swarmup-seed.service"
ok update_unit_is_a_oneshot has swarmup-update@.service "Type=oneshot"
ok update_unit_runs_fetch_with_the_instance_config grep -q '^ExecStart=/.*/swarmup fetch --config /etc/swarmup/%i.conf' \
  "$T/u/swarmup-update@.service"
ok update_unit_state_is_not_the_daemons has swarmup-update@.service "StateDirectory=swarmup"
for line in "OnCalendar=*-*-* 6,18:00" "RandomizedDelaySec=12h" "Persistent=true" "WantedBy=timers.target"; do
  ok "timer_has_${line%%=*}" has swarmup-update@.timer "$line"
done
# The example configs the package ships take only options their command knows
# (the config is parsed before --help is acted on).
expect example_seed_conf_parses 0 "usage: swarmup seed" -- \
  "$SWARMUP" seed --config "$SW_SRC/docs/examples/seed.conf" --help
expect example_client_conf_parses 0 "usage: swarmup fetch" -- \
  "$SWARMUP" fetch --config "$SW_SRC/docs/examples/hello.conf" --help
sw_done
