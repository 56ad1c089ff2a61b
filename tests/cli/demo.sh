#!/usr/bin/env bash
# The README's demo runs to the end on this build (every refusal it shows is checked there).
set -euo pipefail
out=$(SW_BUILD=$(cd "$1" && pwd) bash "$(dirname "$0")/../../tools/demo.sh" 2>&1) || { echo "$out" | tail -20; echo "0 passed, 1 failed"; exit 1; }
grep -q "every forgery was refused" <<<"$out" && grep -q "^sequence 2$" <<<"$out"
echo "1 passed, 0 failed"
