#!/usr/bin/env bash
# Throwaway RabbitMQ node + PostgreSQL cluster for Mercurio tests and benchmarks.
#
#   scripts/services.sh start          start both (idempotent), then print `export` lines on stdout
#   scripts/services.sh stop [--purge] stop both (idempotent); --purge also deletes the state folder
#   scripts/services.sh status         say what runs; exit 0 = all running, 1 = partly, 3 = nothing
#   scripts/services.sh env            print eval-able `export` lines (MERCURIO_TEST_*)
#
# All state lives in ONE folder: ${MERCURIO_SERVICES_DIR:-<repo>/.services}. Loopback only, private ports
# (override with MERCURIO_SVC_{AMQP,MQTT,WS,DIST,EPMD,PG}_PORT and MERCURIO_SVC_CTL_DIST_PORT_MIN).
# The broker's HS256 secret is generated once, or MERCURIO_SVC_JWT_SECRET (an operator's own, e.g. a Chat21
# deployment's: ≥ 32 characters, or shorter with MERCURIO_JWT_ALLOW_WEAK_SECRET=true and a loud warning).
# Progress goes to stderr, env lines to stdout.
# Never touches a system-wide RabbitMQ/PostgreSQL: it only signals processes whose pid files live in the folder.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${MERCURIO_SERVICES_DIR:-$REPO/.services}"
# shellcheck source=lib/rabbitmq.sh
source "$REPO/scripts/lib/rabbitmq.sh" # RMQ_BIN, the config writers, alive, elapsed, sq, the JWT secret rules
NODENAME="${MERCURIO_SVC_NODENAME:-mercurio-test}@localhost"
RMQ_BOOT_TIMEOUT="${MERCURIO_SVC_BOOT_TIMEOUT:-60}"

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- ports: what `start` recorded in $DIR/ports.env wins for stop/status/env (that is what runs) -------------
load_ports() {
  AMQP_PORT="${MERCURIO_SVC_AMQP_PORT:-35672}"
  MQTT_PORT="${MERCURIO_SVC_MQTT_PORT:-31883}"
  WS_PORT="${MERCURIO_SVC_WS_PORT:-35675}"
  DIST_PORT="${MERCURIO_SVC_DIST_PORT:-35673}"
  EPMD_PORT="${MERCURIO_SVC_EPMD_PORT:-34369}"
  PG_PORT="${MERCURIO_SVC_PG_PORT:-35432}"
  # rabbitmqctl's own Erlang distribution listens in [min, min+10]; its default (35672..35682) would
  # collide with our AMQP/Web-MQTT ports while we poll the booting node.
  CTL_DIST_PORT_MIN="${MERCURIO_SVC_CTL_DIST_PORT_MIN:-35690}"
  if [[ "${1:-}" == saved && -f "$DIR/ports.env" ]]; then
    # shellcheck disable=SC1091
    source "$DIR/ports.env"
  fi
}
save_ports() {
  cat >"$DIR/ports.env" <<EOF
AMQP_PORT=$AMQP_PORT
MQTT_PORT=$MQTT_PORT
WS_PORT=$WS_PORT
DIST_PORT=$DIST_PORT
EPMD_PORT=$EPMD_PORT
PG_PORT=$PG_PORT
CTL_DIST_PORT_MIN=$CTL_DIST_PORT_MIN
EOF
}

set_paths() {
  RMQ_DIR="$DIR/rabbitmq"
  RMQ_HOME="$RMQ_DIR/home"
  RMQ_PID_FILE="$RMQ_DIR/rabbitmq.pid"
  PG_DIR="$DIR/postgres"
  # Chosen at the first start when postgres cannot traverse to $DIR (e.g. a checkout under a
  # private temporary folder): then the cluster lives under /tmp, and this file says where.
  [[ -f "$DIR/pg-dir" ]] && PG_DIR="$(cat "$DIR/pg-dir")"
  PG_DATA="$PG_DIR/data"
  PG_SOCK="$PG_DIR/run"
  PG_LOG="$PG_DIR/postgres.log"
  JWT_FILE="$DIR/jwt-secret"
  CTL_WRAPPER="$DIR/rabbitmqctl"
}

pg_bindir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [[ -n "$d" && -x "$d/initdb" ]] && printf '%s\n' "$d"
}

# Run a PostgreSQL tool as the postgres OS user when we are root (initdb/pg_ctl refuse root).
as_pg() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- RabbitMQ environment -----------------------------------------------------------------------------------
rmq_export_env() {
  export HOME="$RMQ_HOME"
  export RABBITMQ_NODENAME="$NODENAME"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$AMQP_PORT"
  export RABBITMQ_DIST_PORT="$DIST_PORT"
  export ERL_EPMD_PORT="$EPMD_PORT"
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_CTL_DIST_PORT_MIN="$CTL_DIST_PORT_MIN"
  export RABBITMQ_CTL_DIST_PORT_MAX="$((CTL_DIST_PORT_MIN + 10))"
  export RABBITMQ_MNESIA_BASE="$RMQ_DIR/mnesia"
  export RABBITMQ_LOG_BASE="$RMQ_DIR/log"
  export RABBITMQ_PID_FILE="$RMQ_PID_FILE"
  export RABBITMQ_CONFIG_FILE="$RMQ_DIR/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$RMQ_DIR/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$RMQ_DIR/enabled_plugins"
  export RABBITMQ_CONF_ENV_FILE="$RMQ_DIR/empty-env.conf"
  # No scheduler busy-waiting: on a small machine shared with the router, PostgreSQL and the load
  # generators, a spinning VM takes CPU they need, and its CPU figures in the bench would be spin.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none"
  unset RABBITMQ_USE_LONGNAME RABBITMQ_ENABLED_PLUGINS RABBITMQ_PLUGINS_DIR
}

# Runs in a subshell so HOME etc. do not leak into the rest of the script.
rmqctl() { (rmq_export_env && exec "$RMQ_BIN/rabbitmqctl" "$@"); }
# Same, killed after $1 seconds (a hung VM makes the CLI hang too).
rmqctl_t() {
  local t="$1"
  shift
  (rmq_export_env && exec timeout -k 2 "$t" "$RMQ_BIN/rabbitmqctl" "$@")
}

# Our VM process is alive (pid file) and the node answers within a few seconds.
rmq_running() {
  rmq_pid >/dev/null || return 1
  rmqctl_t 10 -q await_startup --timeout 5 >/dev/null 2>&1
}

rmq_pid() {
  local pid
  [[ -f "$RMQ_PID_FILE" ]] || return 1
  pid="$(tr -dc '0-9' <"$RMQ_PID_FILE")"
  [[ -n "$pid" ]] && alive "$pid" || return 1
  # Only ours if the VM's command line names our state folder.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$RMQ_DIR/" || return 1
  printf '%s\n' "$pid"
}

write_rmq_config() {
  mkdir -p "$RMQ_HOME" "$RMQ_DIR/mnesia" "$RMQ_DIR/log"
  : >"$RMQ_DIR/empty-env.conf"
  rmq_write_cookie "$RMQ_HOME"
  rmq_write_enabled_plugins "$RMQ_DIR/enabled_plugins"
  rmq_write_conf "$RMQ_DIR/rabbitmq.conf" scripts/services.sh 127.0.0.1 "$AMQP_PORT" "$MQTT_PORT" "$WS_PORT"
  rmq_write_advanced "$RMQ_DIR/advanced.config" scripts/services.sh "$JWT_FILE"

  # Wrapper so tests can run e.g. `$MERCURIO_TEST_RABBITMQCTL list_queues` or stop_app/start_app.
  local q
  q() { printf '%q' "$1"; }
  cat >"$CTL_WRAPPER" <<EOF
#!/usr/bin/env bash
# Generated by scripts/services.sh: rabbitmqctl for the throwaway node.
export HOME=$(q "$RMQ_HOME")
export RABBITMQ_NODENAME=$(q "$NODENAME")
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$(q "$AMQP_PORT")
export RABBITMQ_DIST_PORT=$(q "$DIST_PORT")
export ERL_EPMD_PORT=$(q "$EPMD_PORT")
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_CTL_DIST_PORT_MIN=$(q "$CTL_DIST_PORT_MIN")
export RABBITMQ_CTL_DIST_PORT_MAX=$(q "$((CTL_DIST_PORT_MIN + 10))")
export RABBITMQ_MNESIA_BASE=$(q "$RMQ_DIR/mnesia")
export RABBITMQ_LOG_BASE=$(q "$RMQ_DIR/log")
export RABBITMQ_PID_FILE=$(q "$RMQ_PID_FILE")
export RABBITMQ_CONFIG_FILE=$(q "$RMQ_DIR/rabbitmq.conf")
export RABBITMQ_ADVANCED_CONFIG_FILE=$(q "$RMQ_DIR/advanced.config")
export RABBITMQ_ENABLED_PLUGINS_FILE=$(q "$RMQ_DIR/enabled_plugins")
export RABBITMQ_CONF_ENV_FILE=$(q "$RMQ_DIR/empty-env.conf")
unset RABBITMQ_USE_LONGNAME
exec $(q "$RMQ_BIN/rabbitmqctl") "\$@"
EOF
  chmod 755 "$CTL_WRAPPER"
}

# Stops our VM: SIGTERM is a graceful shutdown (same as `rabbitmqctl shutdown`, without the ~2 s of CLI
# start-up); SIGKILL if it is still there after 30 s. Never signals anything but the VM of our pid file.
rmq_terminate() {
  local pid i
  pid="$(rmq_pid)" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  kill -CONT "$pid" 2>/dev/null || true
  for i in $(seq 1 300); do alive "$pid" || return 0; sleep 0.1; done
  log "RabbitMQ VM (pid $pid) still there after 30 s: killing it"
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do alive "$pid" || return 0; sleep 0.1; done
  die "could not kill RabbitMQ VM pid $pid"
}

# Kill a VM of ours that does not answer (stale/hung).
rmq_kill_ours() {
  local pid
  pid="$(rmq_pid)" || return 0
  log "RabbitMQ VM (pid $pid) does not answer: terminating it"
  rmq_terminate
}

epmd_kill() {
  ERL_EPMD_PORT="$EPMD_PORT" epmd -kill >/dev/null 2>&1 || true
}

rmq_start() {
  local t0 i pid
  t0=$(now_ms)
  write_rmq_config
  # A previous run may have died: kill a hung VM of ours, drop its pid file.
  rmq_kill_ours
  rm -f "$RMQ_PID_FILE"
  for p in "$AMQP_PORT" "$MQTT_PORT" "$WS_PORT" "$DIST_PORT"; do
    port_open "$p" && die "port 127.0.0.1:$p is already in use by another process (not ours); set MERCURIO_SVC_*_PORT"
  done

  local attempt
  for attempt in 1 2; do
    local node_log="$RMQ_DIR/log/$NODENAME.log" log_offset=0
    [[ -f "$node_log" ]] && log_offset=$(stat -c %s "$node_log")
    log "starting RabbitMQ ($NODENAME, amqp $AMQP_PORT, mqtt $MQTT_PORT, ws $WS_PORT)…"
    # cwd = state folder: Mnesia drops its core dumps into the VM's working directory.
    (cd "$RMQ_DIR" && rmq_export_env && exec "$RMQ_BIN/rabbitmq-server" -detached) >>"$RMQ_DIR/log/startup.log" 2>&1 ||
      die "rabbitmq-server -detached failed, see $RMQ_DIR/log/startup.log"
    # await_startup fails at once until the node registers with epmd: retry.
    local deadline=$(($(date +%s) + RMQ_BOOT_TIMEOUT)) ok=0 last=0
    while (($(date +%s) < deadline)); do
      if rmqctl_t 15 -q await_startup --timeout 10 >/dev/null 2>&1; then ok=1; break; fi
      # The VM may have died early (bad config), or the boot failed and the detached VM lingers without
      # the rabbit app (corrupt mnesia): stop polling then.
      if [[ -f "$RMQ_PID_FILE" ]] && ! rmq_pid >/dev/null; then break; fi
      if tail -c +"$((log_offset + 1))" "$node_log" 2>/dev/null | grep -q 'BOOT FAILED'; then break; fi
      if (($(date +%s) - last >= 5)); then
        log "  …waiting for RabbitMQ ($(elapsed "$t0"))"
        last=$(date +%s)
      fi
      sleep 0.5
    done
    if ((ok)); then
      # Plugins' listeners are up once await_startup returns; double check the ports.
      for i in $(seq 1 20); do
        port_open "$MQTT_PORT" && port_open "$WS_PORT" && port_open "$AMQP_PORT" && break
        sleep 0.25
      done
      rmq_policies
      log "RabbitMQ ready in $(elapsed "$t0")"
      return 0
    fi
    log "RabbitMQ did not start (attempt $attempt); first errors in $node_log:"
    tail -c +"$((log_offset + 1))" "$node_log" 2>/dev/null | grep -m 15 '\[error\]' |
      cut -c 1-220 | sed 's/^/  | /' >&2 || true
    rmq_terminate
    epmd_kill
    rm -f "$RMQ_PID_FILE"
    if ((attempt == 1)); then
      # Throwaway data: a corrupt/incompatible mnesia dir is the usual culprit of a failed warm start.
      log "wiping RabbitMQ data ($RMQ_DIR/mnesia) and retrying from scratch"
      rm -rf "$RMQ_DIR/mnesia"
      mkdir -p "$RMQ_DIR/mnesia"
    fi
  done
  die "RabbitMQ failed to start; logs in $RMQ_DIR/log"
}

# The MQTT subscription queue policy (scripts/lib/rabbitmq.sh). Idempotent.
rmq_policies() { rmq_set_mqtt_policy rmqctl_t 30; }

# A node started by an earlier version of this script may lack a plugin added since: enabled in place.
rmq_plugins_current() {
  local plugin
  for plugin in "${RMQ_PLUGINS[@]}"; do grep -qw "$plugin" "$RMQ_DIR/enabled_plugins" 2>/dev/null || return 1; done
}
rmq_plugins_online() {
  log "enabling the plugins on the running node…"
  rmq_write_enabled_plugins "$RMQ_DIR/enabled_plugins"
  (rmq_export_env && exec timeout -k 2 60 "$RMQ_BIN/rabbitmq-plugins" -q enable --online "${RMQ_PLUGINS[@]}" >/dev/null) ||
    log "could not enable the plugins on the running node"
}

rmq_stop() {
  local t0
  t0=$(now_ms)
  [[ -d "$RMQ_HOME" ]] || return 0
  if rmq_pid >/dev/null; then
    log "stopping RabbitMQ…"
    rmq_terminate
    log "RabbitMQ stopped in $(elapsed "$t0")"
  elif ERL_EPMD_PORT="$EPMD_PORT" epmd -names 2>/dev/null | grep -q "name ${NODENAME%@*} "; then
    # Registered but no pid file (deleted?): ask the node itself.
    log "stopping RabbitMQ (no pid file)…"
    rmqctl_t 60 -q shutdown >/dev/null 2>&1 || log "rabbitmqctl shutdown failed"
  fi
  epmd_kill
  rm -f "$RMQ_PID_FILE"
}

# --- PostgreSQL ----------------------------------------------------------------------------------------------
pg_running() {
  local bindir
  bindir="$(pg_bindir)" || return 1
  [[ -f "$PG_DATA/PG_VERSION" ]] || return 1
  as_pg "$bindir/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1 || return 1
  "$bindir/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres >/dev/null 2>&1
}

pg_start() {
  local bindir t0
  t0=$(now_ms)
  bindir="$(pg_bindir)" || die "PostgreSQL binaries not found"
  # postgres must be able to traverse to its data folder.
  chmod a+x "$DIR"
  mkdir -p "$PG_DIR" "$PG_SOCK"
  chmod 755 "$PG_DIR"
  if [[ $EUID -eq 0 ]]; then chown postgres:postgres "$PG_DIR" "$PG_SOCK"; fi
  if ! as_pg test -x "$PG_DIR"; then
    PG_DIR="${TMPDIR:-/tmp}/mercurio-pg-$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)"
    log "postgres cannot traverse to $DIR; keeping the PostgreSQL cluster in $PG_DIR"
    mkdir -p "$PG_DIR/run"
    chmod 755 "$PG_DIR"
    if [[ $EUID -eq 0 ]]; then chown postgres:postgres "$PG_DIR" "$PG_DIR/run"; fi
    printf '%s\n' "$PG_DIR" >"$DIR/pg-dir"
    PG_DATA="$PG_DIR/data"
    PG_SOCK="$PG_DIR/run"
    PG_LOG="$PG_DIR/postgres.log"
  fi
  as_pg test -x "$PG_DIR" || die "user postgres cannot reach $PG_DIR (a parent folder is not traversable); set MERCURIO_SERVICES_DIR"

  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    rm -rf "$PG_DATA"
    log "initdb PostgreSQL $(basename "$(dirname "$bindir")")…"
    as_pg "$bindir/initdb" -D "$PG_DATA" --auth=trust -E UTF8 --locale=C.UTF-8 -U postgres >"$DIR/initdb.log" 2>&1 ||
      { tail -n 20 "$DIR/initdb.log" >&2; die "initdb failed, see $DIR/initdb.log"; }
  fi
  # Stale postmaster.pid from a died run (pid dead or reused by something else): remove it.
  local pid
  if [[ -f "$PG_DATA/postmaster.pid" ]]; then
    pid="$(head -n 1 "$PG_DATA/postmaster.pid" | tr -dc '0-9')"
    if [[ -z "$pid" ]] || ! alive "$pid" || ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q postgres; then
      log "removing stale $PG_DATA/postmaster.pid"
      rm -f "$PG_DATA/postmaster.pid"
    fi
  fi
  # Same for the Unix socket lock files (a killed postmaster can linger as a zombie, which PostgreSQL's own
  # kill(pid, 0) check takes for alive).
  local lock
  for lock in "$PG_SOCK"/.s.PGSQL.*.lock; do
    [[ -f "$lock" ]] || continue
    pid="$(head -n 1 "$lock" | tr -dc '0-9')"
    if [[ -z "$pid" ]] || ! alive "$pid"; then rm -f "$lock" "${lock%.lock}"; fi
  done
  port_open "$PG_PORT" && die "port 127.0.0.1:$PG_PORT is already in use by another process (not ours); set MERCURIO_SVC_PG_PORT"
  touch "$PG_LOG"
  if [[ $EUID -eq 0 ]]; then chown postgres:postgres "$PG_LOG"; fi
  # Unix socket in the state folder, unless the path is too long for one (107 bytes): TCP only then.
  local sock_dir="$PG_SOCK"
  ((${#PG_SOCK} + 17 <= 107)) || sock_dir=""
  log "starting PostgreSQL (port $PG_PORT)…"
  as_pg "$bindir/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 30 \
    -o "-p $PG_PORT -k '$sock_dir' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null 2>&1 || { tail -n 20 "$PG_LOG" >&2; die "PostgreSQL failed to start, see $PG_LOG"; }
  if [[ "$("$bindir/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'mercurio'")" != 1 ]]; then
    "$bindir/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres mercurio
  fi
  log "PostgreSQL ready in $(elapsed "$t0")"
}

pg_stop() {
  local bindir t0
  t0=$(now_ms)
  bindir="$(pg_bindir)" || return 0
  [[ -f "$PG_DATA/PG_VERSION" ]] || return 0
  if as_pg "$bindir/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    log "stopping PostgreSQL…"
    as_pg "$bindir/pg_ctl" -D "$PG_DATA" stop -m fast -w >/dev/null
    log "PostgreSQL stopped in $(elapsed "$t0")"
  fi
}

# --- packages --------------------------------------------------------------------------------------------------
ensure_packages() {
  local pkgs=()
  [[ -x "$RMQ_BIN/rabbitmq-server" ]] || pkgs+=(rabbitmq-server)
  pg_bindir >/dev/null || pkgs+=(postgresql)
  ((${#pkgs[@]})) || return 0
  [[ $EUID -eq 0 ]] || die "missing Debian packages: ${pkgs[*]} (install them as root)"
  log "installing ${pkgs[*]} (apt)…"
  # Keep the packages' postinst from starting system-wide services (standard policy-rc.d hook);
  # only if no policy exists already, and removed afterwards.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
  fi
  local rc=0
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "${pkgs[@]}"; } >&2 || rc=$?
  ((created_policy)) && rm -f "$policy"
  ((rc == 0)) || die "apt-get install ${pkgs[*]} failed"
  [[ -x "$RMQ_BIN/rabbitmq-server" ]] || die "rabbitmq-server still missing after install"
  pg_bindir >/dev/null || die "PostgreSQL initdb still missing after install"
}

# --- commands ----------------------------------------------------------------------------------------------------
print_env() {
  [[ -f "$JWT_FILE" ]] || die "no JWT secret in $DIR (run: scripts/services.sh start)"
  printf 'export MERCURIO_TEST_AMQP_URL=%s\n' "$(sq "amqp://127.0.0.1:$AMQP_PORT")"
  printf 'export MERCURIO_TEST_MQTT_URL=%s\n' "$(sq "mqtt://127.0.0.1:$MQTT_PORT")"
  printf 'export MERCURIO_TEST_WS_URL=%s\n' "$(sq "ws://127.0.0.1:$WS_PORT/ws")"
  printf 'export MERCURIO_TEST_PG_URL=%s\n' "$(sq "postgres://postgres@127.0.0.1:$PG_PORT/mercurio")"
  printf 'export MERCURIO_TEST_JWT_SECRET=%s\n' "$(sq "$(cat "$JWT_FILE")")"
  printf 'export MERCURIO_TEST_RABBITMQCTL=%s\n' "$(sq "$CTL_WRAPPER")"
}

cmd_start() {
  local t0 rmq_up=0 pg_up=0
  t0=$(now_ms)
  load_ports saved
  set_paths
  check_given_secret
  if [[ -f "$DIR/ports.env" ]]; then
    rmq_running && rmq_up=1
    pg_running && pg_up=1
    if ((rmq_up)) && [[ -n "${MERCURIO_SVC_JWT_SECRET:-}" && "$MERCURIO_SVC_JWT_SECRET" != "$(cat "$JWT_FILE" 2>/dev/null)" ]]; then
      die "RabbitMQ in $DIR runs with another JWT secret; stop the services first (scripts/services.sh stop)"
    fi
    if ((rmq_up && pg_up)); then
      log "already running ($DIR)"
      rmq_plugins_current || rmq_plugins_online
      print_env
      return 0
    fi
  fi
  ensure_packages
  # If one of the two still runs from a previous start, keep its recorded ports; else take the requested ones.
  ((rmq_up || pg_up)) || load_ports
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  rmq_ensure_jwt_secret "$JWT_FILE"
  save_ports
  # PostgreSQL (≈0.6 s cold) comes up in the background while RabbitMQ boots.
  local pg_job=""
  if ((pg_up)); then log "PostgreSQL already running"; else
    pg_start &
    pg_job=$!
  fi
  local rmq_rc=0
  if ((rmq_up)); then
    log "RabbitMQ already running"
    rmq_plugins_current || rmq_plugins_online
    rmq_policies
  else (rmq_start) || rmq_rc=$?; fi
  if [[ -n "$pg_job" ]]; then wait "$pg_job" || die "PostgreSQL failed to start"; fi
  ((rmq_rc == 0)) || die "RabbitMQ failed to start"
  log "services ready in $(elapsed "$t0") (state in $DIR)"
  print_env
}

cmd_stop() {
  local purge=0
  case "${1:-}" in
    "") ;;
    --purge) purge=1 ;;
    *) die "unknown option: $1 (usage: stop [--purge])" ;;
  esac
  load_ports saved
  set_paths
  if ((purge)) && [[ -d "$DIR" && -n "$(ls -A "$DIR")" && ! -f "$DIR/jwt-secret" && ! -f "$DIR/ports.env" ]]; then
    die "refusing to delete $DIR: it does not look like a services state folder"
  fi
  if [[ -d "$DIR" ]]; then
    rmq_stop
    pg_stop
  fi
  if ((purge)) && [[ -d "$DIR" ]]; then
    if [[ -f "$DIR/pg-dir" && "$PG_DIR" == */mercurio-pg-* ]]; then rm -rf "$PG_DIR"; fi
    log "deleting $DIR"
    rm -rf "$DIR"
  fi
  return 0
}

cmd_status() {
  load_ports saved
  set_paths
  local r=0 p=0
  if rmq_running; then
    r=1
    echo "RabbitMQ: running ($NODENAME; amqp 127.0.0.1:$AMQP_PORT, mqtt $MQTT_PORT, ws $WS_PORT/ws, epmd $EPMD_PORT)"
  elif rmq_pid >/dev/null; then
    echo "RabbitMQ: VM (pid $(rmq_pid)) up but the broker does not answer (app stopped, booting or hung)"
  else
    echo "RabbitMQ: stopped"
  fi
  if pg_running; then
    p=1
    echo "PostgreSQL: running (127.0.0.1:$PG_PORT, data $PG_DATA)"
  else
    echo "PostgreSQL: stopped"
  fi
  echo "state: $DIR"
  if ((r && p)); then return 0; elif ((r || p)); then return 1; else return 3; fi
}

cmd_env() {
  load_ports saved
  set_paths
  print_env
}

case "${1:-}" in
  start) cmd_start ;;
  stop) shift; cmd_stop "$@" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *)
    echo "usage: $0 start|stop [--purge]|status|env" >&2
    exit 2
    ;;
esac
