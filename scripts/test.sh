#!/usr/bin/env bash
# Runs the whole test suite: sets up what the tests need (scripts/setup.sh, idempotent),
# lints, builds and runs every test with Node's test runner. Needs root for the kernel tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent lint
node scripts/run-tests.mjs "$@"
