#!/usr/bin/env bash
# Runs a mercurio command (default: serve = router + webhooks + HTTP API) on this machine. Without MERCURIO_AMQP_URL it
# uses a local RabbitMQ + PostgreSQL started by scripts/services.sh (installed from Debian's
# packages when missing), so `npm start` works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${MERCURIO_AMQP_URL:-}" ]; then
  eval "$(bash scripts/services.sh start)"
  export MERCURIO_AMQP_URL="$MERCURIO_TEST_AMQP_URL"
  export MERCURIO_DATABASE_URL="${MERCURIO_DATABASE_URL:-$MERCURIO_TEST_PG_URL}"
  export MERCURIO_JWT_SECRET="${MERCURIO_JWT_SECRET:-$MERCURIO_TEST_JWT_SECRET}"
  local_services=1
fi

npx tsc -b
command="${1:-serve}"
if [ "$command" = "serve" ] && [ -n "${local_services:-}" ]; then
  cat >&2 <<INFO

Mercurio is running on local services (state in .services/; stop them with: npm run services -- stop)
  MQTT over TCP        ${MERCURIO_TEST_MQTT_URL}
  MQTT over WebSocket  ${MERCURIO_TEST_WS_URL}
  HTTP API             http://127.0.0.1:${MERCURIO_HTTP_PORT:-8004}/api   (OpenAPI: /api/openapi.json)
  a client token       npm run token -- --app tilechat --user alice
  subscribe to         apps/tilechat/users/alice/#   (password: the token; any username)
  send to bob          apps/tilechat/outgoing/users/alice/messages/bob/outgoing  {"text":"hi"}

INFO
fi
exec node packages/server/dist/main.js "$@"
