#!/usr/bin/env bash
# Installs the system parts Topology needs and starts the services its processes talk to.
# Idempotent: each step checks first and does nothing when all is in place.
#   provision.sh packages      Docker engine, docker-compose, Redis, PostgreSQL, Chromium,
#                              busybox-static, Node.js/npm, OpenSSH (tests reach an engine
#                              over ssh:// through a private sshd on loopback), Graphviz
#                              (tests read the DOT export back with dot), Podman with
#                              crun and conmon (tests read a Podman engine's Docker API)
#   provision.sh services      a Docker engine at DOCKER_HOST and a Redis at REDIS_URL
#   provision.sh postgres      a private PostgreSQL cluster for the tests, under var/postgres
#   provision.sh postgres-url  that cluster's DATABASE_URL (for make test)
#   provision.sh stop          stop what "services" and "postgres" started (never a
#                              pre-existing service)
set -euo pipefail

cd "$(dirname "$0")/.."
VAR_DIR=${TOPOLOGY_VAR_DIR:-$PWD/var}
RUN_DIR=$VAR_DIR/run
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
PG_DIR=$VAR_DIR/postgres
PG_DATA=$PG_DIR/data
PG_FIRST_PORT=54329
PG_USER=topology
PG_DATABASE=topology
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
  command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
  postgres_bin >/dev/null || missing+=(postgresql)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh-keygen >/dev/null || missing+=(openssh-client)
  command -v dot >/dev/null || missing+=(graphviz)
  command -v podman >/dev/null || missing+=(podman)
  command -v crun >/dev/null || missing+=(crun)
  command -v conmon >/dev/null || [ -x /usr/libexec/podman/conmon ] || missing+=(conmon)
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

# --- PostgreSQL: a private, disposable cluster for the tests -----------------------------------
# Its own data folder (var/postgres/data), loopback only, no unix socket, a random password kept
# in var/postgres/password. Durability is off (fsync, synchronous commits): it holds test data.

postgres_bin() {
  local folder
  while read -r folder; do
    [ -x "$folder/initdb" ] && [ -x "$folder/pg_ctl" ] && { echo "$folder"; return 0; }
  done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r)
  command -v pg_ctl >/dev/null && command -v initdb >/dev/null || return 1
  dirname "$(command -v pg_ctl)"
}

# The server refuses to run as root: as root, the cluster belongs to the "postgres" user.
as_postgres() {
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

postgres_port() { cat "$PG_DIR/port" 2>/dev/null || echo "${TOPOLOGY_PG_PORT:-$PG_FIRST_PORT}"; }

postgres_running() {
  local bin
  bin=$(postgres_bin) || return 1
  [ -f "$PG_DATA/PG_VERSION" ] && as_postgres "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

init_postgres() {
  local bin=$1 password_file
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "no 'postgres' user to run the test cluster as: run 'apt-get install postgresql'"
    chown postgres: "$PG_DIR"
    runuser -u postgres -- test -w "$PG_DIR" \
      || die "the postgres user cannot write $PG_DIR: set TOPOLOGY_VAR_DIR to a folder it can reach"
  fi
  say "creating a private PostgreSQL cluster in $PG_DATA"
  (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$PG_DIR/password")
  password_file=$(mktemp "$PG_DIR/.initdb-password.XXXXXX")
  cat "$PG_DIR/password" >"$password_file"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$password_file"; fi
  if ! as_postgres "$bin/initdb" -D "$PG_DATA" -U "$PG_USER" --pwfile="$password_file" \
      --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$RUN_DIR/postgres-initdb.log" 2>&1; then
    rm -f "$password_file"
    rm -rf "$PG_DATA"
    die "initdb failed; see $RUN_DIR/postgres-initdb.log"
  fi
  rm -f "$password_file"
  cat >>"$PG_DATA/postgresql.conf" <<'CONF'

# Topology's private test cluster (scripts/provision.sh): loopback only, no durability.
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
}

ensure_postgres() {
  local bin port
  bin=$(postgres_bin) || die "PostgreSQL is not installed: run 'apt-get install postgresql' (or make test as root on Debian)"
  mkdir -p "$PG_DIR"
  [ -f "$PG_DATA/PG_VERSION" ] || init_postgres "$bin"
  if postgres_running; then
    postgres_answers || die "the test cluster in $PG_DATA runs but does not answer on port $(postgres_port); see $RUN_DIR/postgres.log"
    ensure_postgres_database
    return 0
  fi
  port=${TOPOLOGY_PG_PORT:-$(postgres_port)}
  if port_in_use "$port"; then
    [ -n "${TOPOLOGY_PG_PORT:-}" ] && die "TOPOLOGY_PG_PORT=$port is already in use on 127.0.0.1: choose a free port"
    port=$PG_FIRST_PORT
    while port_in_use "$port"; do
      port=$((port + 1))
      [ "$port" -lt $((PG_FIRST_PORT + 100)) ] || die "no free port from $PG_FIRST_PORT: set TOPOLOGY_PG_PORT"
    done
  fi
  echo "$port" >"$PG_DIR/port"
  touch "$RUN_DIR/postgres.log"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$RUN_DIR/postgres.log"; fi
  say "starting the private PostgreSQL test cluster on 127.0.0.1:$port (log: $RUN_DIR/postgres.log)"
  as_postgres "$bin/pg_ctl" -D "$PG_DATA" -l "$RUN_DIR/postgres.log" -o "-p $port" -w -t 60 start >/dev/null \
    || die "PostgreSQL did not start; see $RUN_DIR/postgres.log"
  postgres_answers || die "PostgreSQL started but does not answer on 127.0.0.1:$port; see $RUN_DIR/postgres.log"
  ensure_postgres_database
}

postgres_answers() {
  local bin
  bin=$(postgres_bin) || return 1
  PGPASSWORD=$(cat "$PG_DIR/password") PGCONNECT_TIMEOUT=5 "$bin/psql" -h 127.0.0.1 \
    -p "$(postgres_port)" -U "$PG_USER" -d postgres -XAtqc 'select 1' >/dev/null 2>&1
}

ensure_postgres_database() {
  local bin exists
  bin=$(postgres_bin)
  exists=$(PGPASSWORD=$(cat "$PG_DIR/password") "$bin/psql" -h 127.0.0.1 -p "$(postgres_port)" \
    -U "$PG_USER" -d postgres -XAtqc "select 1 from pg_database where datname = '$PG_DATABASE'")
  [ "$exists" = 1 ] && return 0
  PGPASSWORD=$(cat "$PG_DIR/password") "$bin/psql" -h 127.0.0.1 -p "$(postgres_port)" \
    -U "$PG_USER" -d postgres -XAtqc "create database $PG_DATABASE" >/dev/null
}

postgres_url() {
  [ -f "$PG_DIR/password" ] || die "no test cluster in $PG_DIR: run 'scripts/provision.sh postgres' first"
  printf 'postgres://%s:%s@127.0.0.1:%s/%s\n' "$PG_USER" "$(cat "$PG_DIR/password")" \
    "$(postgres_port)" "$PG_DATABASE"
}

stop_postgres() {
  postgres_running || return 0
  say "stopping the private PostgreSQL test cluster ($PG_DATA)"
  as_postgres "$(postgres_bin)/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
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
  postgres) ensure_postgres ;;
  postgres-url) postgres_url ;;
  stop) stop_postgres; stop_started ;;
  *) die "usage: $0 packages|services|postgres|postgres-url|stop" ;;
esac
