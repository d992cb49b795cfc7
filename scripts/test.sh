#!/usr/bin/env bash
# The whole test suite: type-check, lint, then every test. The server tests start a throwaway
# RabbitMQ and PostgreSQL (scripts/services.sh) once for the run and stop them afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== type-check" >&2
npx tsc -b
npx tsc -p bench/tsconfig.json
npx tsc -p packages/server/test/tsconfig.json # every package's tests
echo "== web app build (served at / by the server; the browser test uses it)" >&2
npm run build -w @mercurio/web
echo "== lint" >&2
npx biome check .
echo "== tests" >&2
npx vitest run "$@"
