#!/usr/bin/env bash
# A throwaway PostgreSQL primary + synchronous streaming replica on one machine (tests of
# MERCURIO_DATABASE_READ_URL and of a primary switchover).
#
#   scripts/pg-replica.sh start                 initdb the primary, pg_basebackup -R the replica, start both,
#                                               wait until the replica streams as the synchronous standby;
#                                               prints `export` lines (MERCURIO_PG_PRIMARY_URL, MERCURIO_PG_REPLICA_URL)
#   scripts/pg-replica.sh stop                  stop both (immediate) and delete the folder (idempotent)
#   scripts/pg-replica.sh status                what runs (exit 0 = both, 1 = partly, 3 = nothing)
#   scripts/pg-replica.sh stop-primary [mode]   pg_ctl stop of the primary, mode fast (default) or immediate
#   scripts/pg-replica.sh promote               promote the replica (pg_ctl promote -w): it becomes the primary
#
# Ports: MERCURIO_PG_PRIMARY_PORT (39432), MERCURIO_PG_REPLICA_PORT (39433); state in
# MERCURIO_PG_REPLICA_DIR (/tmp/mercurio-pg-replica-<primary port>), owned by postgres. Loopback only,
# trust authentication, user postgres, database mercurio.
#
# Replication: synchronous_standby_names names the replica, synchronous_commit = on. A commit returns
# once its WAL is flushed on the replica too, so a commit acknowledged to the router survives the
# loss of the primary (a promoted replica replays all it flushed). Not remote_apply: that would also
# make commits wait for the replica's replay, so a paused or slow replay (a long read on the replica)
# would stall every write of the router; read-your-writes is kept by the reader instead
# (store/replica-reads.ts). The replica has no synchronous standby of its own: once promoted it
# commits alone (nothing would be there to acknowledge).
set -euo pipefail

PRIMARY_PORT="${MERCURIO_PG_PRIMARY_PORT:-39432}"
REPLICA_PORT="${MERCURIO_PG_REPLICA_PORT:-39433}"
DIR="${MERCURIO_PG_REPLICA_DIR:-${TMPDIR:-/tmp}/mercurio-pg-replica-$PRIMARY_PORT}"
STANDBY_NAME=mercurio_replica

log() { printf '[pg-replica] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
[[ -n "$BIN" && -x "$BIN/initdb" ]] || die "PostgreSQL binaries not found under /usr/lib/postgresql"

# initdb and pg_ctl refuse root: run them as postgres.
as_pg() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
psql_at() { "$BIN/psql" -h 127.0.0.1 -p "$1" -U postgres -d postgres -v ON_ERROR_STOP=1 -tAc "$2"; }
running() { [[ -f "$DIR/$1/PG_VERSION" ]] && as_pg "$BIN/pg_ctl" -D "$DIR/$1" status >/dev/null 2>&1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() { # name port extra-options
  as_pg "$BIN/pg_ctl" -D "$DIR/$1" -l "$DIR/$1.log" -w -t 30 \
    -o "-p $2 -k $DIR/run -c listen_addresses=127.0.0.1 -c fsync=off $3" start >/dev/null ||
    { tail -n 20 "$DIR/$1.log" >&2; die "$1 failed to start, see $DIR/$1.log"; }
}

stop_all() {
  local name
  for name in replica primary; do
    if running "$name"; then as_pg "$BIN/pg_ctl" -D "$DIR/$name" -m immediate -w -t 30 stop >/dev/null 2>&1 || true; fi
  done
  rm -rf "$DIR"
}

cmd_start() {
  local t0=$SECONDS
  stop_all # a clean slate: whatever an earlier run left
  for port in "$PRIMARY_PORT" "$REPLICA_PORT"; do
    port_open "$port" && die "port 127.0.0.1:$port is already in use; set MERCURIO_PG_PRIMARY_PORT / MERCURIO_PG_REPLICA_PORT"
  done
  # Whatever fails from here (a command, or die's exit) leaves nothing behind.
  trap 'status=$?; if ((status != 0)); then log "start failed: cleaning up"; stop_all; fi' EXIT
  mkdir -p "$DIR/run"
  chmod 755 "$DIR"
  if [[ $EUID -eq 0 ]]; then chown -R postgres:postgres "$DIR"; fi
  as_pg test -x "$DIR" || die "user postgres cannot reach $DIR; set MERCURIO_PG_REPLICA_DIR"

  as_pg "$BIN/initdb" -D "$DIR/primary" --auth=trust -E UTF8 --locale=C.UTF-8 -U postgres --no-sync >"$DIR/initdb.log" 2>&1
  # initdb's pg_hba.conf already trusts replication connections from 127.0.0.1.
  # Synchronous only once the replica streams (a commit with no standby to confirm it would wait).
  start_server primary "$PRIMARY_PORT" "-c synchronous_commit=on -c wal_keep_size=256MB"
  "$BIN/createdb" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres mercurio

  as_pg "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DIR/replica" -R -X stream -c fast
  # -R wrote standby.signal and a primary_conninfo; this one names the standby as
  # synchronous_standby_names expects (the last line of postgresql.auto.conf wins).
  echo "primary_conninfo = 'host=127.0.0.1 port=$PRIMARY_PORT user=postgres application_name=$STANDBY_NAME'" |
    as_pg tee -a "$DIR/replica/postgresql.auto.conf" >/dev/null
  start_server replica "$REPLICA_PORT" "-c hot_standby=on"

  # In postgresql.auto.conf after the base backup: the replica never waits for a standby of its own.
  psql_at "$PRIMARY_PORT" "ALTER SYSTEM SET synchronous_standby_names = '$STANDBY_NAME'" >/dev/null
  psql_at "$PRIMARY_PORT" "SELECT pg_reload_conf()" >/dev/null
  local state=""
  for _ in $(seq 1 150); do
    state="$(psql_at "$PRIMARY_PORT" "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$STANDBY_NAME'" || true)"
    [[ "$state" == sync ]] && break
    sleep 0.1
  done
  [[ "$state" == sync ]] || die "the replica did not become the synchronous standby (state: '${state:-none}')"
  trap - EXIT
  log "primary :$PRIMARY_PORT, synchronous replica :$REPLICA_PORT ready in $((SECONDS - t0)) s ($DIR)"
  cmd_env
}

cmd_env() {
  echo "export MERCURIO_PG_PRIMARY_URL=postgres://postgres@127.0.0.1:$PRIMARY_PORT/mercurio"
  echo "export MERCURIO_PG_REPLICA_URL=postgres://postgres@127.0.0.1:$REPLICA_PORT/mercurio"
}

cmd_status() {
  local up=0
  running primary && { log "primary running (:$PRIMARY_PORT)"; up=$((up + 1)); }
  running replica && { log "replica running (:$REPLICA_PORT)"; up=$((up + 1)); }
  case $up in 2) exit 0 ;; 1) exit 1 ;; *) log "nothing runs"; exit 3 ;; esac
}

case "${1:-}" in
  start) cmd_start ;;
  stop) stop_all; log "stopped" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  stop-primary)
    mode="${2:-fast}"
    [[ "$mode" == fast || "$mode" == immediate ]] || die "mode: fast or immediate"
    as_pg "$BIN/pg_ctl" -D "$DIR/primary" -m "$mode" -w -t 30 stop >/dev/null
    ;;
  promote) as_pg "$BIN/pg_ctl" -D "$DIR/replica" -w -t 30 promote >/dev/null ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
