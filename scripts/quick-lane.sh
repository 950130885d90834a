#!/usr/bin/env bash
# The second half of `npm run test:quick`: lint beside the quick jest lane (jest.quick.config.js).
# The suites mostly wait on sockets and timers, so lint's CPU fits beside them; typecheck runs
# first because it builds client/dist, which some suites read.
set -uo pipefail
npm run --silent lint > "${TMPDIR:-/tmp}/bff-quick-lint.$$" 2>&1 &
lint=$!
npx jest -c jest.quick.config.js
tests=$?
wait "$lint"
linted=$?
cat "${TMPDIR:-/tmp}/bff-quick-lint.$$"
rm -f "${TMPDIR:-/tmp}/bff-quick-lint.$$"
[ "$linted" -eq 0 ] || echo "npm run test:quick: lint failed (above)" >&2
[ "$tests" -eq 0 ] && [ "$linted" -eq 0 ]
