#!/usr/bin/env bash
# Smoke test of the image without a Docker engine: reproduces the Dockerfile's build and runtime
# stages in a temporary folder and runs the CLI from them as uid 10001 with Node 24 from npm
# (test/image/smoke.test.ts). The test runner provides the PostgreSQL it needs (an embedded one,
# or TEST_DATABASE_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
exec node --import tsx scripts/run-tests.ts test/image/
