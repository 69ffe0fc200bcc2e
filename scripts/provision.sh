#!/usr/bin/env bash
# Installs the system parts Topology needs and starts the services its processes talk to.
# Idempotent: each step checks first and does nothing when all is in place.
#   provision.sh packages   Docker engine, Redis, Chromium, busybox-static, Node.js/npm
#   provision.sh services   a Docker engine at DOCKER_HOST and a Redis at REDIS_URL
#   provision.sh stop       stop what "services" started (never a pre-existing service)
set -euo pipefail

cd "$(dirname "$0")/.."
VAR_DIR=${TOPOLOGY_VAR_DIR:-$PWD/var}
RUN_DIR=$VAR_DIR/run
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
mkdir -p "$RUN_DIR"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

is_debian_root() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && [ -f /etc/debian_version ]; }

packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker >/dev/null || missing+=(docker.io)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  command -v chromium >/dev/null || missing+=(chromium)
  if ! { command -v dpkg-query >/dev/null && dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed"; }; then
    busybox_is_static || missing+=(busybox-static)
  fi
  command -v npm >/dev/null || missing+=(npm)
  [ ${#missing[@]} -eq 0 ] && return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if ! is_debian_root; then
    die "missing ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}' (or your system's equivalent), then run make again"
  fi
  say "installing ${missing[*]} with apt"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

busybox_is_static() {
  local path
  path=$(command -v busybox 2>/dev/null) || return 1
  ! ldd "$path" >/dev/null 2>&1
}

docker_answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

ensure_docker() {
  docker_answers && return 0
  local host=${DOCKER_HOST:-unix:///var/run/docker.sock}
  case "$host" in
    unix://*) ;;
    *) die "no Docker engine answers at $host: start it, or unset DOCKER_HOST to use a local one" ;;
  esac
  [ "$(id -u)" = 0 ] || die "no Docker engine answers at $host: start one ('sudo systemctl start docker')"
  command -v dockerd >/dev/null || die "dockerd is not installed: run 'apt-get install docker.io'"
  say "no Docker engine answered at $host: starting dockerd --iptables=false (log: $RUN_DIR/dockerd.log)"
  setsid nohup dockerd --iptables=false --host="$host" >>"$RUN_DIR/dockerd.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/dockerd.pid"
  for _ in $(seq 1 60); do
    docker_answers && { say "dockerd is up"; return 0; }
    sleep 0.5
  done
  die "dockerd did not answer within 30 s; see $RUN_DIR/dockerd.log"
}

redis_answers() { timeout 5 redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG; }

ensure_redis() {
  redis_answers && return 0
  local rest hostport host port
  rest=${REDIS_URL#*://}; rest=${rest#*@}; hostport=${rest%%/*}
  host=${hostport%%:*}; port=${hostport##*:}
  [ "$port" = "$hostport" ] && port=6379
  case "$host" in
    127.*|localhost) ;;
    *) die "nothing answers at REDIS_URL=$REDIS_URL and it is not local: start that Redis" ;;
  esac
  say "nothing answered at $REDIS_URL: starting a private redis-server on $host:$port (no persistence)"
  mkdir -p "$RUN_DIR/redis"
  redis-server --bind "$host" --port "$port" --save '' --appendonly no --daemonize yes \
    --dir "$RUN_DIR/redis" --pidfile "$RUN_DIR/redis.pid" --logfile "$RUN_DIR/redis.log" \
    --maxmemory-policy noeviction >/dev/null
  for _ in $(seq 1 50); do
    redis_answers && return 0
    sleep 0.1
  done
  die "redis-server did not answer; see $RUN_DIR/redis.log"
}

stop_started() {
  local name pid
  for name in redis dockerd; do
    [ -f "$RUN_DIR/$name.pid" ] || continue
    pid=$(cat "$RUN_DIR/$name.pid")
    if kill -0 "$pid" 2>/dev/null; then
      say "stopping the $name this project started (pid $pid)"
      kill "$pid"
    fi
    rm -f "$RUN_DIR/$name.pid"
  done
}

case "${1:-}" in
  packages) packages ;;
  services) ensure_docker; ensure_redis ;;
  stop) stop_started ;;
  *) die "usage: $0 packages|services|stop" ;;
esac
