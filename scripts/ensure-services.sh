#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1, starting them when they
# are installed but down, installing them with apt when they are missing.
set -euo pipefail

PG_PORT=5432
REDIS_PORT=6379

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {
  for _ in $(seq 1 60); do
    port_open "$1" && return 0
    sleep 0.5
  done
  echo "ensure-services: nothing answers on 127.0.0.1:$1" >&2
  return 1
}

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-services: $* missing and not root; install them: apt-get install -y $*" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  if ! port_open "$PG_PORT"; then
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    if [ -z "$version" ]; then
      echo "ensure-services: no PostgreSQL cluster found" >&2
      exit 1
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_for_port "$PG_PORT"
  fi
  # Tests connect as postgres with a password; where the server trusts local
  # TCP the password is ignored, elsewhere we set it through the unix socket.
  if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -Atqc "select 1" >/dev/null 2>&1; then
    runuser -u postgres -- psql -q -c "ALTER ROLE postgres PASSWORD 'postgres'"
  fi
  # The tests connect as the application role, which owns nothing (README,
  # "Running it in production"); postgres creates and owns the test database.
  PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -q -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'CREATE ROLE wedge_app LOGIN PASSWORD ''wedge_app'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wedge_app') \gexec
SQL
}

ensure_redis() {
  if ! port_open "$REDIS_PORT"; then
    command -v redis-server >/dev/null || apt_install redis-server
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no
    wait_for_port "$REDIS_PORT"
  fi
}

# The browser tests drive Debian's Chromium through Playwright (Playwright's own
# browser download is not used).
ensure_chromium() {
  if [ ! -x "${WEDGE_CHROMIUM:-/usr/bin/chromium}" ]; then
    apt_install chromium
  fi
}

# The agent's tests start their own HAProxy (Debian's package) on a free port;
# nothing is started here.
ensure_haproxy() {
  if [ ! -x /usr/sbin/haproxy ]; then
    apt_install haproxy
  fi
}

# The metric provider tests start their own Prometheus and Alertmanager
# (Debian's packages) on free ports; nothing is started here.
ensure_prometheus() {
  local missing=()
  [ -x /usr/bin/prometheus ] || missing+=(prometheus)
  [ -x /usr/bin/prometheus-alertmanager ] || missing+=(prometheus-alertmanager)
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
  fi
}

ensure_postgres
ensure_redis
ensure_chromium
ensure_haproxy
ensure_prometheus
echo "ensure-services: PostgreSQL on :$PG_PORT, Redis on :$REDIS_PORT, Chromium, HAProxy, Prometheus and Alertmanager are ready."
