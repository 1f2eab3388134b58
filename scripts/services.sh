#!/usr/bin/env bash
# Starts or stops the servers the distributed tests need, without systemd, with data in a temp folder
# (docs/environment.md): PostgreSQL (15 here) on 127.0.0.1:55432 and RabbitMQ on 127.0.0.1:5673.
# Installs them from apt when missing. Prints the connection strings to use.
#   scripts/services.sh start   # idempotent; state in $AGENTSTACK_SERVICES_DIR (default /tmp/agentstack-services)
#   scripts/services.sh stop
# A private RabbitMQ node for a fault test (issue 13: never pause the shared broker other runs use): give it its
# own AGENTSTACK_SERVICES_DIR, AGENTSTACK_RABBIT_PORT and AGENTSTACK_RABBIT_DIST_PORT, then
#   scripts/services.sh rabbitmq-start | rabbitmq-pause | rabbitmq-resume | rabbitmq-queues | rabbitmq-stop
# (its node name carries the port, so it runs beside the shared agentstack@localhost).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${AGENTSTACK_SERVICES_DIR:-/tmp/agentstack-services}"
PG_PORT="${AGENTSTACK_PG_PORT:-55432}"
RABBIT_PORT="${AGENTSTACK_RABBIT_PORT:-5673}"
RABBIT_DIST_PORT="${AGENTSTACK_RABBIT_DIST_PORT:-$((RABBIT_PORT + 20000))}"
RABBIT_NODE="agentstack@localhost"
[ "$RABBIT_PORT" = 5673 ] || RABBIT_NODE="agentstack-$RABBIT_PORT@localhost"
# The newest PostgreSQL installed (15 on Debian 12, 16 on Ubuntu 24.04); empty until installed.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

log() { printf '\033[1m[services]\033[0m %s\n' "$*" >&2; }

apt_install() {
  if [ ! -f /tmp/.agentstack-apt-updated ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq && touch /tmp/.agentstack-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}

rabbit_env() {
  export HOME="$DIR/rabbitmq" RABBITMQ_MNESIA_BASE="$DIR/rabbitmq/mnesia" RABBITMQ_LOG_BASE="$DIR/rabbitmq/log" \
    RABBITMQ_NODENAME="$RABBIT_NODE" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$RABBIT_PORT" \
    RABBITMQ_DIST_PORT="$RABBIT_DIST_PORT" RABBITMQ_CONFIG_FILE="$DIR/rabbitmq/rabbitmq" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/rabbitmq/enabled_plugins" RABBITMQ_PID_FILE="$DIR/rabbitmq/rabbit.pid" \
    ERL_EPMD_ADDRESS=127.0.0.1
}

start_postgres() {
  [ -n "$(pg_bin)" ] || { log "installing PostgreSQL"; apt_install postgresql; }
  local PG_BIN
  PG_BIN="$(pg_bin)"
  mkdir -p "$DIR/postgres" && chown postgres:postgres "$DIR/postgres"
  if [ ! -f "$DIR/postgres/data/PG_VERSION" ]; then
    runuser -u postgres -- "$PG_BIN/initdb" -D "$DIR/postgres/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  fi
  if ! runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DIR/postgres/data" status >/dev/null 2>&1; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DIR/postgres/data" -l "$DIR/postgres/pg.log" \
      -o "-p $PG_PORT -k $DIR/postgres -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on" -w start >/dev/null
  fi
  log "PostgreSQL on 127.0.0.1:$PG_PORT"
}

start_rabbitmq() {
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || { log "installing RabbitMQ"; apt_install rabbitmq-server; }
  mkdir -p "$DIR/rabbitmq"
  rabbit_env
  echo "[]." > "$RABBITMQ_ENABLED_PLUGINS_FILE"
  printf 'loopback_users = none\nlisteners.tcp.default = 127.0.0.1:%s\n' "$RABBIT_PORT" > "$DIR/rabbitmq/rabbitmq.conf"
  if ! /usr/lib/rabbitmq/bin/rabbitmqctl -q status >/dev/null 2>&1; then
    /usr/lib/rabbitmq/bin/rabbitmq-server -detached
    /usr/lib/rabbitmq/bin/rabbitmqctl wait --timeout 90 "$RABBITMQ_PID_FILE" >/dev/null
  fi
  log "RabbitMQ on 127.0.0.1:$RABBIT_PORT"
}

stop_all() {
  local PG_BIN
  PG_BIN="$(pg_bin)"
  if [ -f "$DIR/postgres/data/PG_VERSION" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DIR/postgres/data" -m fast stop >/dev/null 2>&1 || true
  fi
  if [ -d "$DIR/rabbitmq" ]; then
    rabbit_env
    /usr/lib/rabbitmq/bin/rabbitmqctl -q stop >/dev/null 2>&1 || true
    pkill -u root -f "epmd.*-address 127.0.0.1" 2>/dev/null || pkill -x epmd 2>/dev/null || true
  fi
  log "stopped"
}

case "${1:-start}" in
  start)
    start_postgres
    start_rabbitmq
    echo "export ConnectionStrings__Postgres='Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=postgres'"
    echo "export ConnectionStrings__RabbitMq='amqp://guest:guest@127.0.0.1:$RABBIT_PORT/'"
    ;;
  stop) stop_all ;;
  rabbitmq-start) start_rabbitmq ;;
  # Only this node; epmd stays, the shared broker may use it.
  rabbitmq-stop) rabbit_env; /usr/lib/rabbitmq/bin/rabbitmqctl -q stop >/dev/null 2>&1 || true ;;
  # For fault tests: the broker stops accepting (its node stays up) and comes back.
  rabbitmq-pause) rabbit_env; /usr/lib/rabbitmq/bin/rabbitmqctl -q stop_app ;;
  rabbitmq-resume) rabbit_env; /usr/lib/rabbitmq/bin/rabbitmqctl -q start_app ;;
  # The broker's view of its queues (for a failing test's message): consumers, ready and unacknowledged messages.
  rabbitmq-queues) rabbit_env; /usr/lib/rabbitmq/bin/rabbitmqctl -q list_queues name consumers messages_ready messages_unacknowledged ;;
  # PostgreSQL down (fast shutdown: every client is disconnected) and up again on the same data.
  postgres-stop) runuser -u postgres -- "$(pg_bin)/pg_ctl" -D "$DIR/postgres/data" -m fast -w stop >/dev/null ;;
  postgres-start) start_postgres ;;
  *) echo "usage: $0 start|stop|rabbitmq-start|rabbitmq-stop|rabbitmq-pause|rabbitmq-resume|rabbitmq-queues|postgres-stop|postgres-start" >&2; exit 2 ;;
esac
