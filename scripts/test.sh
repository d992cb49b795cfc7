#!/usr/bin/env bash
# The whole test suite: type-check, lint, then every test. The server tests start a throwaway
# RabbitMQ and PostgreSQL (scripts/services.sh) once for the run and stop them afterwards.
# Files named packages/server/test/cluster-*.test.ts also get a 3-node RabbitMQ cluster in network
# namespaces (scripts/cluster.sh; root), started only when such a file is selected.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== type-check" >&2
npx tsc -b
npx tsc -p bench/tsconfig.json
npx tsc -p packages/server/test/tsconfig.json # every package's tests
echo "== web app and SDK browser bundle (the browser tests use both)" >&2
npm run build -w @mercurio/web
npm run build:browser -w @mercurio/sdk
echo "== lint" >&2
npx biome check .
npm run -s lint:deps # the dependency rules of docs/architecture.md (.dependency-cruiser.cjs)
echo "== tests" >&2
if (($# > 0)); then
  npx vitest run "$@"
else
  # Fault tests measure timings and load the machine (several routers, broker and database
  # outages, the cluster's soak): one at a time, after the others, so that none disturbs another.
  npx vitest run --project protocol --project sdk --project server
  echo "== fault tests (one at a time)" >&2
  npx vitest run --project faults
  echo "== cluster tests (3-node RabbitMQ)" >&2
  # The soak runs 5 minutes here so that the whole suite stays under 30 minutes; the figures in
  # docs/scaling.md come from the 10-minute run (MERCURIO_SOAK_SECONDS=600).
  MERCURIO_SOAK_SECONDS="${MERCURIO_SOAK_SECONDS:-300}" npx vitest run --project cluster
fi
