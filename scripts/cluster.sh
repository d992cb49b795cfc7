#!/usr/bin/env bash
# Throwaway 3-node RabbitMQ cluster on this machine, each node in its own network namespace, for the
# tests that kill brokers or cut the network (issue 13). Needs root (namespaces) and Debian's rabbitmq-server.
#
#   scripts/cluster.sh start             start the three nodes and join them (idempotent: a healthy cluster is
#                                        kept; anything else is torn down and built afresh), then print `export` lines
#   scripts/cluster.sh stop [--purge]    kill every process of the cluster, delete its namespaces, links and bridge,
#                                        and the nodes' data (--purge: the whole state folder, logs included)
#   scripts/cluster.sh status [--nodes]  one line per node; exit 0 = three nodes running in one cluster, 1 = partly,
#                                        3 = nothing (--nodes: without asking the nodes for their cluster view; fast)
#   scripts/cluster.sh env               print eval-able `export` lines (MERCURIO_CLUSTER_*)
#   scripts/cluster.sh kill <n>          SIGKILL node n's VM (a crash: no goodbye to its peers)
#   scripts/cluster.sh restart <n>       (stop and) start node n again with its data; it rejoins its cluster
#   scripts/cluster.sh partition <n>     cut node n off the network (its link down: from the other nodes and from clients)
#   scripts/cluster.sh heal <n>          put node n's link back up
#   scripts/cluster.sh ctl <n> <args…>   rabbitmqctl against node n (run inside its namespace)
#
# Network: a bridge $BRIDGE (${NET}.1/24, in the root namespace, where tests run) and one namespace per node
# (mercurio-c<n>, address ${NET}.1<n>) joined to it by a veth pair. The namespaces have no other route: nodes
# reach each other and the root namespace's bridge address, nothing else. Node n is rabbit-<n>@${NET}.1<n>
# (long names with IPs: nothing to add to the shared /etc/hosts). Ports differ per node (AMQP 38172, 38272,
# 38372; see node_ports) so URLs say which node they reach; epmd listens on 38069 in every namespace.
# All state lives in ${MERCURIO_CLUSTER_DIR:-<repo>/.cluster}; the nodes share one Erlang cookie there.
# The broker configuration (plugins, MQTT, OAuth2 with the HS256 key, the MQTT queue policy) is
# scripts/services.sh's (scripts/lib/rabbitmq.sh); MERCURIO_SVC_JWT_SECRET gives the secret as there.
# Partitions: cluster_partition_handling = pause_minority, and a net_ticktime of
# ${MERCURIO_CLUSTER_NET_TICKTIME:-10} s so that a cut link is noticed in about that time (Erlang's default: 60 s).
# Progress goes to stderr, env lines to stdout.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${MERCURIO_CLUSTER_DIR:-$REPO/.cluster}"
# shellcheck source=lib/rabbitmq.sh
source "$REPO/scripts/lib/rabbitmq.sh"

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

NODES=(1 2 3)
NET="${MERCURIO_CLUSTER_NET:-10.213.0}" # first three octets of a private /24 nobody else uses here
BRIDGE=mqc-br0
EPMD_PORT=38069
NET_TICKTIME="${MERCURIO_CLUSTER_NET_TICKTIME:-10}"
BOOT_TIMEOUT="${MERCURIO_CLUSTER_BOOT_TIMEOUT:-90}"
JWT_FILE="$DIR/jwt-secret"
HOME_DIR="$DIR/home" # shared by every node and CLI: one Erlang cookie

ns_of() { printf 'mercurio-c%s' "$1"; }
veth_host() { printf 'mqc%sh' "$1"; } # the bridge's side, in the root namespace: down = partitioned
veth_node() { printf 'mqc%sn' "$1"; }
ip_of() { printf '%s.1%s' "$NET" "$1"; }
node_name() { printf 'rabbit-%s@%s' "$1" "$(ip_of "$1")"; }
node_dir() { printf '%s/node-%s' "$DIR" "$1"; }
# Per node n: AMQP 38n72, Erlang distribution 38n73, Web-MQTT 38n75, MQTT 38n83, CLI distribution 38n90-38n99.
node_ports() {
  local base=$((38000 + 100 * $1))
  AMQP_PORT=$((base + 72)) DIST_PORT=$((base + 73)) WS_PORT=$((base + 75)) MQTT_PORT=$((base + 83))
  CTL_DIST_PORT_MIN=$((base + 90))
}

valid_node() { [[ "${1:-}" =~ ^[1-3]$ ]] || die "node must be 1, 2 or 3 (got '${1:-}')"; }

# --- network -------------------------------------------------------------------------------------------------
ns_exists() { ip netns list 2>/dev/null | grep -qE "^$(ns_of "$1")( |$)"; }

net_up() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    ip addr add "$NET.1/24" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up
  local n ns
  for n in "${NODES[@]}"; do
    ns="$(ns_of "$n")"
    ns_exists "$n" || ip netns add "$ns"
    if ! ip link show "$(veth_host "$n")" >/dev/null 2>&1; then
      ip link add "$(veth_host "$n")" type veth peer name "$(veth_node "$n")"
      ip link set "$(veth_node "$n")" netns "$ns"
      ip -n "$ns" addr add "$(ip_of "$n")/24" dev "$(veth_node "$n")"
    fi
    ip link set "$(veth_host "$n")" master "$BRIDGE"
    ip link set "$(veth_host "$n")" up
    ip -n "$ns" link set "$(veth_node "$n")" up
    ip -n "$ns" link set lo up
  done
}

net_down() {
  local n
  for n in "${NODES[@]}"; do
    ip link del "$(veth_host "$n")" 2>/dev/null || true
    ns_exists "$n" && ip netns del "$(ns_of "$n")"
  done
  ip link del "$BRIDGE" 2>/dev/null || true
}

link_state() { # up | down (partitioned) | none
  local n="$1"
  ip link show "$(veth_host "$n")" >/dev/null 2>&1 || { echo none; return; }
  if ip -o link show "$(veth_host "$n")" | grep -q '[<,]UP[,>]'; then echo up; else echo down; fi
}

# --- one node ------------------------------------------------------------------------------------------------
# Exports node n's environment (call in a subshell).
node_env() {
  local n="$1" nd ip
  nd="$(node_dir "$n")"
  ip="$(ip_of "$n")"
  node_ports "$n"
  export HOME="$HOME_DIR"
  export RABBITMQ_NODENAME="$(node_name "$n")"
  export RABBITMQ_USE_LONGNAME=true
  export RABBITMQ_NODE_IP_ADDRESS="$ip"
  export RABBITMQ_NODE_PORT="$AMQP_PORT"
  export RABBITMQ_DIST_PORT="$DIST_PORT"
  export ERL_EPMD_PORT="$EPMD_PORT"
  export ERL_EPMD_ADDRESS="$ip"
  export RABBITMQ_CTL_DIST_PORT_MIN="$CTL_DIST_PORT_MIN"
  export RABBITMQ_CTL_DIST_PORT_MAX="$((CTL_DIST_PORT_MIN + 9))"
  export RABBITMQ_MNESIA_BASE="$nd/mnesia"
  # Outside mnesia: kept when a fresh start wipes the data, so the plugins are not unpacked again.
  export RABBITMQ_PLUGINS_EXPAND_DIR="$nd/plugins-expand"
  export RABBITMQ_LOG_BASE="$nd/log"
  export RABBITMQ_PID_FILE="$nd/rabbitmq.pid"
  export RABBITMQ_CONFIG_FILE="$nd/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$nd/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$nd/enabled_plugins"
  export RABBITMQ_CONF_ENV_FILE="$nd/empty-env.conf"
  # No scheduler busy-waiting (as scripts/services.sh): three VMs share two cores with the tests.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {${ip//./,}} +sbwt none +sbwtdcpu none +sbwtdio none"
  unset RABBITMQ_ENABLED_PLUGINS RABBITMQ_PLUGINS_DIR
}

# ctl <n> <args…>: rabbitmqctl inside node n's namespace; ctl_t <seconds> <n> <args…> bounds it (a hung VM hangs the CLI).
ctl() { local n="$1"; shift; (node_env "$n" && exec ip netns exec "$(ns_of "$n")" "$RMQ_BIN/rabbitmqctl" "$@"); }
ctl_t() {
  local t="$1" n="$2"
  shift 2
  (node_env "$n" && exec timeout -k 2 "$t" ip netns exec "$(ns_of "$n")" "$RMQ_BIN/rabbitmqctl" "$@")
}

node_pid() {
  local n="$1" pid pidfile
  pidfile="$(node_dir "$n")/rabbitmq.pid"
  [[ -f "$pidfile" ]] || return 1
  pid="$(tr -dc '0-9' <"$pidfile")"
  [[ -n "$pid" ]] && alive "$pid" || return 1
  # Only ours if it lives in node n's namespace (the pid may have been reused).
  [[ "$(ip netns identify "$pid" 2>/dev/null)" == "$(ns_of "$n")" ]] || return 1
  printf '%s\n' "$pid"
}

# The node's AMQP listener answers (from inside its namespace: a partition does not hide it). A node paused by
# pause_minority has stopped its rabbit application, listeners included.
node_listening() {
  local n="$1"
  node_ports "$n"
  ns_exists "$n" || return 1
  ip netns exec "$(ns_of "$n")" timeout 3 bash -c "exec 3<>/dev/tcp/$(ip_of "$n")/$AMQP_PORT" 2>/dev/null
}

node_registered() { # the VM has registered its name with epmd (before that, the CLI fails at once)
  local n="$1"
  ERL_EPMD_PORT="$EPMD_PORT" ip netns exec "$(ns_of "$n")" epmd -names 2>/dev/null | grep -q "^name rabbit-$n "
}

write_node_config() {
  local n="$1" nd
  nd="$(node_dir "$n")"
  node_ports "$n"
  mkdir -p "$nd/mnesia" "$nd/log"
  : >"$nd/empty-env.conf"
  rmq_write_enabled_plugins "$nd/enabled_plugins"
  rmq_write_conf "$nd/rabbitmq.conf" scripts/cluster.sh "$(ip_of "$n")" "$AMQP_PORT" "$MQTT_PORT" "$WS_PORT"
  cat >>"$nd/rabbitmq.conf" <<EOF

# Cluster (scripts/cluster.sh): the side of a partition with fewer than half of the nodes pauses.
cluster_partition_handling = pause_minority
# A clean=false MQTT session in a quorum queue (replicated on every node), so its client can resume it
# on another node: a classic session queue lives on one node, and while that node is down the client's
# SUBSCRIBE elsewhere is refused and every copy routed to the session is dropped (confirmed to the router).
mqtt.durable_queue_type = quorum
EOF
  rmq_write_advanced "$nd/advanced.config" scripts/cluster.sh "$JWT_FILE" "{kernel, [{net_ticktime, $NET_TICKTIME}]},"
}

# Starts node n's VM detached inside its namespace (returns at once; await_node waits for it).
launch_node() {
  local n="$1" nd
  nd="$(node_dir "$n")"
  rm -f "$nd/rabbitmq.pid"
  # cwd = node folder: Mnesia drops its core dumps into the VM's working directory.
  # fd 9 (the lock) closed: the detached VM would otherwise hold the lock for its whole life.
  (exec 9>&- && cd "$nd" && node_env "$n" && exec ip netns exec "$(ns_of "$n")" "$RMQ_BIN/rabbitmq-server" -detached) \
    >>"$nd/log/startup.log" 2>&1 || die "node $n: rabbitmq-server -detached failed, see $nd/log/startup.log"
}

# Waits until node n's rabbit application runs: epmd registration polled cheaply, then one await_startup.
await_node() {
  local n="$1" t0="$2" deadline last=0
  deadline=$(($(date +%s) + BOOT_TIMEOUT))
  while (($(date +%s) < deadline)); do
    if node_registered "$n" && ctl_t 60 "$n" -q await_startup --timeout 50 >/dev/null 2>&1; then
      log "node $n ($(node_name "$n")) up after $(elapsed "$t0")"
      return 0
    fi
    if [[ -f "$(node_dir "$n")/rabbitmq.pid" ]] && ! node_pid "$n" >/dev/null; then
      log "node $n: its VM exited"
      break
    fi
    if (($(date +%s) - last >= 5)); then
      log "  …waiting for node $n ($(elapsed "$t0"))"
      last=$(date +%s)
    fi
    sleep 0.3
  done
  log "node $n did not start; first errors in $(node_dir "$n")/log:"
  grep -h -m 10 '\[error\]' "$(node_dir "$n")"/log/*.log 2>/dev/null | cut -c 1-220 | sed 's/^/  | /' >&2 || true
  return 1
}

# rabbitmqctl stop_app, join_cluster <node 1>, start_app in one CLI call (each CLI start costs ~2 s of CPU;
# the calls are the same functions those commands run). Nodes 2 and 3 join at the same time.
join_node() {
  local n="$1" t0="$2"
  ctl_t 120 "$n" -q eval "ok = rabbit:stop(),
    case rabbit_mnesia:join_cluster('$(node_name 1)', disc) of ok -> ok; {ok, already_member} -> ok end,
    ok = rabbit:start()." >/dev/null 2>&1 || { log "node $n could not join $(node_name 1)"; return 1; }
  log "node $n joined after $(elapsed "$t0")"
}

# Every process in our namespaces (the VMs, epmd, their helpers), SIGTERM then SIGKILL. Only pids that
# `ip netns pids` lists for our own namespaces are signalled.
kill_namespace_processes() {
  local n pids sig i
  for sig in TERM KILL; do
    for n in "${NODES[@]}"; do
      ns_exists "$n" || continue
      pids="$(ip netns pids "$(ns_of "$n")" 2>/dev/null | tr '\n' ' ')"
      [[ -n "${pids// /}" ]] && kill "-$sig" $pids 2>/dev/null || true
    done
    for i in $(seq 1 50); do
      local left=0 p
      for n in "${NODES[@]}"; do
        ns_exists "$n" || continue
        for p in $(ip netns pids "$(ns_of "$n")" 2>/dev/null); do alive "$p" && left=1; done
      done
      ((left)) || return 0
      sleep 0.1
    done
  done
}

# The running nodes as node 1 (or the first node that answers) sees them.
running_nodes_count() {
  local n out
  for n in "${NODES[@]}"; do
    node_listening "$n" || continue
    out="$(ctl_t 20 "$n" -q eval 'length(rabbit_mnesia:cluster_nodes(running)).' 2>/dev/null)" || continue
    printf '%s\n' "${out//[^0-9]/}"
    return 0
  done
  echo 0
}

# --- commands ------------------------------------------------------------------------------------------------
require_root() { [[ $EUID -eq 0 ]] || die "needs root (network namespaces)"; }

with_lock() {
  mkdir -p "$DIR"
  exec 9>"$DIR/.lock"
  flock -w 120 9 || die "another scripts/cluster.sh holds $DIR/.lock"
}

print_env() {
  [[ -f "$JWT_FILE" ]] || die "no JWT secret in $DIR (run: scripts/cluster.sh start)"
  local n amqp=() mqtt=() ws=() names=()
  for n in "${NODES[@]}"; do
    node_ports "$n"
    amqp+=("amqp://$(ip_of "$n"):$AMQP_PORT")
    mqtt+=("mqtt://$(ip_of "$n"):$MQTT_PORT")
    ws+=("ws://$(ip_of "$n"):$WS_PORT/ws")
    names+=("$(node_name "$n")")
  done
  local IFS=,
  printf 'export MERCURIO_CLUSTER_AMQP_URLS=%s\n' "$(sq "${amqp[*]}")"
  printf 'export MERCURIO_CLUSTER_MQTT_URLS=%s\n' "$(sq "${mqtt[*]}")"
  printf 'export MERCURIO_CLUSTER_WS_URLS=%s\n' "$(sq "${ws[*]}")"
  printf 'export MERCURIO_CLUSTER_NODES=%s\n' "$(sq "${names[*]}")"
  printf 'export MERCURIO_CLUSTER_JWT_SECRET=%s\n' "$(sq "$(cat "$JWT_FILE")")"
  printf 'export MERCURIO_CLUSTER_SCRIPT=%s\n' "$(sq "$REPO/scripts/cluster.sh")"
}

healthy() {
  local n
  for n in "${NODES[@]}"; do
    [[ "$(link_state "$n")" == up ]] && node_pid "$n" >/dev/null && node_listening "$n" || return 1
  done
  [[ "$(running_nodes_count)" == "${#NODES[@]}" ]]
}

teardown() {
  local n any=0
  for n in "${NODES[@]}"; do ns_exists "$n" && any=1; done
  ip link show "$BRIDGE" >/dev/null 2>&1 && any=1
  ((any)) || return 0
  log "removing the cluster's processes and namespaces…"
  kill_namespace_processes
  net_down
}

cmd_start() {
  local t0 n
  t0=$(now_ms)
  require_root
  [[ -x "$RMQ_BIN/rabbitmq-server" ]] || die "RabbitMQ is not installed (scripts/services.sh start installs it)"
  check_given_secret
  with_lock
  if [[ -s "$JWT_FILE" ]] && healthy; then
    if [[ -n "${MERCURIO_SVC_JWT_SECRET:-}" && "$MERCURIO_SVC_JWT_SECRET" != "$(cat "$JWT_FILE")" ]]; then
      die "the cluster in $DIR runs with another JWT secret; stop it first (scripts/cluster.sh stop)"
    fi
    log "already running ($DIR)"
    print_env
    return 0
  fi
  # Anything left (a failed start, a killed or partitioned node, a previous run): start afresh.
  teardown
  for n in "${NODES[@]}"; do rm -rf "$(node_dir "$n")/mnesia"; done
  mkdir -p "$DIR"
  rmq_ensure_jwt_secret "$JWT_FILE"
  rmq_write_cookie "$HOME_DIR"
  net_up
  for n in "${NODES[@]}"; do write_node_config "$n"; done
  trap 'log "start failed: tearing down (logs kept in $DIR/node-*/log)"; teardown' EXIT

  log "starting 3 RabbitMQ nodes in parallel (${NET}.11-13)…"
  for n in "${NODES[@]}"; do launch_node "$n"; done
  local pids=() rc=0
  for n in "${NODES[@]}"; do
    await_node "$n" "$t0" &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || rc=1; done
  ((rc == 0)) || die "a node did not start"

  log "joining nodes 2 and 3 to $(node_name 1)…"
  pids=()
  for n in 2 3; do
    join_node "$n" "$t0" &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || rc=1; done
  ((rc == 0)) || die "a node could not join $(node_name 1)"
  [[ "$(running_nodes_count)" == 3 ]] || die "the cluster does not see 3 running nodes"
  rmq_set_mqtt_policy ctl_t 30 1
  trap - EXIT
  log "cluster of 3 ready in $(elapsed "$t0") (state in $DIR)"
  print_env
}

cmd_stop() {
  local purge=0 t0 n
  case "${1:-}" in
    "") ;;
    --purge) purge=1 ;;
    *) die "unknown option: $1 (usage: stop [--purge])" ;;
  esac
  require_root
  t0=$(now_ms)
  with_lock
  teardown
  for n in "${NODES[@]}"; do rm -rf "$(node_dir "$n")/mnesia"; done
  if ((purge)); then
    [[ ! -d "$DIR" || -f "$JWT_FILE" || -z "$(ls -A "$DIR" | grep -v '^.lock$')" ]] ||
      die "refusing to delete $DIR: it does not look like a cluster state folder"
    log "deleting $DIR"
    rm -rf "$DIR"
  fi
  log "stopped in $(elapsed "$t0")"
}

# node <n> <name>: running | paused (VM up, broker not answering: pause_minority, or booting) | down | absent
node_state() {
  local n="$1"
  if ! ns_exists "$n"; then echo absent
  elif ! node_pid "$n" >/dev/null; then echo down
  elif node_listening "$n"; then echo running
  else echo paused
  fi
}

# --nodes: the nodes' own states only, exit 0 when all three run (no CLI call: ~0.1 s instead of seconds;
# for polling). A paused node resumes only once it sees the majority, so three running nodes are one cluster
# again after a heal.
cmd_status() {
  local n st running=0 present=0 quick=0
  case "${1:-}" in
    "") ;;
    --nodes) quick=1 ;;
    *) die "unknown option: $1 (usage: status [--nodes])" ;;
  esac
  for n in "${NODES[@]}"; do
    st="$(node_state "$n")"
    node_ports "$n"
    [[ "$st" == running ]] && running=$((running + 1))
    [[ "$st" != absent ]] && present=$((present + 1))
    echo "node $n $(node_name "$n"): $st, link $(link_state "$n") (amqp $(ip_of "$n"):$AMQP_PORT, mqtt $MQTT_PORT, ws $WS_PORT/ws)"
  done
  echo "state: $DIR"
  if ((present == 0)); then return 3; fi
  if ((running == ${#NODES[@]})) && { ((quick)) || [[ "$(running_nodes_count)" == "${#NODES[@]}" ]]; }; then return 0; fi
  return 1
}

cmd_kill() {
  local n="$1" pid
  valid_node "$n"
  require_root
  with_lock
  pid="$(node_pid "$n")" || die "node $n is not running"
  kill -KILL "$pid"
  local i
  for i in $(seq 1 100); do alive "$pid" || break; sleep 0.05; done
  log "node $n killed (SIGKILL, pid $pid)"
}

cmd_restart() {
  local n="$1" t0 pid i
  valid_node "$n"
  require_root
  t0=$(now_ms)
  with_lock
  ns_exists "$n" || die "no cluster (scripts/cluster.sh start)"
  if pid="$(node_pid "$n")"; then
    log "stopping node $n…"
    kill -TERM "$pid"
    for i in $(seq 1 300); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -KILL "$pid"
  fi
  write_node_config "$n"
  log "starting node $n…"
  launch_node "$n"
  await_node "$n" "$t0" || die "node $n did not start again"
}

cmd_partition() {
  local n="$1"
  valid_node "$n"
  require_root
  with_lock
  ip link show "$(veth_host "$n")" >/dev/null 2>&1 || die "no cluster (scripts/cluster.sh start)"
  ip link set "$(veth_host "$n")" down
  log "node $n partitioned ($(veth_host "$n") down)"
}

cmd_heal() {
  local n="$1"
  valid_node "$n"
  require_root
  with_lock
  ip link show "$(veth_host "$n")" >/dev/null 2>&1 || die "no cluster (scripts/cluster.sh start)"
  ip link set "$(veth_host "$n")" up
  log "node $n healed ($(veth_host "$n") up)"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  env) print_env ;;
  kill) cmd_kill "${2:-}" ;;
  restart) cmd_restart "${2:-}" ;;
  partition) cmd_partition "${2:-}" ;;
  heal) cmd_heal "${2:-}" ;;
  ctl)
    valid_node "${2:-}"
    n="$2"
    shift 2
    ctl "$n" "$@"
    ;;
  *)
    echo "usage: $0 start|stop [--purge]|status|env|kill <n>|restart <n>|partition <n>|heal <n>|ctl <n> <args…>" >&2
    exit 2
    ;;
esac
