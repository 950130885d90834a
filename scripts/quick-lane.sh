#!/usr/bin/env bash
# The second half of `npm run test:quick`: lint beside the quick jest lane (jest.quick.config.js).
# The suites mostly wait on sockets and timers, so lint's CPU fits beside them; typecheck runs
# first because it builds client/dist, which some suites read. When a suite fails, it prints
# which, how to run just those again alone, and how to tell a timing failure from a real one
# (scripts/quick-lane-report.mjs).
set -uo pipefail
tmp="${TMPDIR:-/tmp}"
npm run --silent lint > "$tmp/bff-quick-lint.$$" 2>&1 &
lint=$!
npx jest -c jest.quick.config.js --json --outputFile="$tmp/bff-quick-results.$$.json"
tests=$?
wait "$lint"
linted=$?
cat "$tmp/bff-quick-lint.$$"
rm -f "$tmp/bff-quick-lint.$$"
if [ "$tests" -ne 0 ] && [ -s "$tmp/bff-quick-results.$$.json" ]; then
  node scripts/quick-lane-report.mjs "$tmp/bff-quick-results.$$.json"
fi
rm -f "$tmp/bff-quick-results.$$.json"
[ "$linted" -eq 0 ] || echo "npm run test:quick: lint failed (above)" >&2
[ "$tests" -eq 0 ] && [ "$linted" -eq 0 ]
