#!/usr/bin/env bash
# Runs a mercurio command (default: serve = router + webhooks + HTTP API) on this machine. Without
# MERCURIO_AMQP_URL it uses a local RabbitMQ + PostgreSQL started by scripts/services.sh (installed
# from Debian's packages when missing), so `npm start` works on a fresh machine.
#   scripts/mercurio.sh services stop|status   manages those local services
set -euo pipefail
cd "$(dirname "$0")/.."

# The local services of `npm start` have their own folder, node name and ports, apart from the
# test suite's (.services/), so that tests never meet this router.
export MERCURIO_SERVICES_DIR="${MERCURIO_SERVICES_DIR:-$PWD/.services-dev}"
export MERCURIO_SVC_NODENAME=mercurio-dev
export MERCURIO_SVC_AMQP_PORT="${MERCURIO_SVC_AMQP_PORT:-36672}" MERCURIO_SVC_MQTT_PORT="${MERCURIO_SVC_MQTT_PORT:-1883}"
export MERCURIO_SVC_WS_PORT="${MERCURIO_SVC_WS_PORT:-15675}" MERCURIO_SVC_DIST_PORT="${MERCURIO_SVC_DIST_PORT:-36673}"
export MERCURIO_SVC_EPMD_PORT="${MERCURIO_SVC_EPMD_PORT:-36369}" MERCURIO_SVC_PG_PORT="${MERCURIO_SVC_PG_PORT:-36432}"
export MERCURIO_SVC_CTL_DIST_PORT_MIN="${MERCURIO_SVC_CTL_DIST_PORT_MIN:-36690}"

if [ "${1:-}" = "services" ]; then
  shift
  exec bash scripts/services.sh "$@"
fi

if [ -z "${MERCURIO_AMQP_URL:-}" ]; then
  # The local broker verifies tokens with the operator's secret when one is set.
  if [ -n "${MERCURIO_JWT_SECRET:-}" ]; then export MERCURIO_SVC_JWT_SECRET="$MERCURIO_JWT_SECRET"; fi
  eval "$(bash scripts/services.sh start)"
  export MERCURIO_AMQP_URL="$MERCURIO_TEST_AMQP_URL"
  export MERCURIO_DATABASE_URL="${MERCURIO_DATABASE_URL:-$MERCURIO_TEST_PG_URL}"
  export MERCURIO_JWT_SECRET="${MERCURIO_JWT_SECRET:-$MERCURIO_TEST_JWT_SECRET}"
  local_services=1
fi

npx tsc -b
npm run -s build -w @mercurio/web >&2 # the web chat app, served at /
command="${1:-serve}"
if [ "$command" = "serve" ] && [ -n "${local_services:-}" ]; then
  cat >&2 <<INFO

Mercurio is running on local services (state in .services-dev/; stop them with: npm run services:stop)
  MQTT over TCP        ${MERCURIO_TEST_MQTT_URL}
  MQTT over WebSocket  ${MERCURIO_TEST_WS_URL}
  HTTP API             http://127.0.0.1:${MERCURIO_HTTP_PORT:-8004}/api   (OpenAPI: /api/openapi.json)
  a client token       npm run token -- --app tilechat --user alice
  subscribe to         apps/tilechat/users/alice/#   (password: the token; any username)
  send to bob          apps/tilechat/outgoing/users/alice/messages/bob/outgoing  {"text":"hi"}

INFO
fi
exec node packages/server/dist/main.js "$@"
