#!/usr/bin/env bash
# `make run`: migrate, seed the demo and run web, worker and beat in the foreground.
# Embedded default: SQLite under var/ and a filesystem broker; set DATABASE_URL
# and REDIS_URL to use PostgreSQL and Redis instead.
set -euo pipefail
cd "$(dirname "$0")/.."

export PORT="${PORT:-8000}" WEDGE_PORT="${PORT:-8000}"
export WEDGE_VAR_DIR="${WEDGE_VAR_DIR:-$PWD/var}"
mkdir -p "$WEDGE_VAR_DIR"  # the settings make the broker and result folders inside

# A local instance: production settings, a generated secret, plain HTTP on loopback.
if [ ! -s "$WEDGE_VAR_DIR/secret_key" ]; then
  .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(50))" >"$WEDGE_VAR_DIR/secret_key"
  chmod 600 "$WEDGE_VAR_DIR/secret_key"
fi
export SECRET_KEY_FILE="$WEDGE_VAR_DIR/secret_key"
export DEBUG="${DEBUG:-0}"
export ALLOWED_HOSTS="${ALLOWED_HOSTS:-localhost,127.0.0.1}"
export SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 SECURE_HSTS_SECONDS=0
# Webhook receivers may be on this machine or its network, over plain http.
export WEDGE_WEBHOOK_ALLOW_PRIVATE="${WEDGE_WEBHOOK_ALLOW_PRIVATE:-1}" WEDGE_WEBHOOK_ALLOW_HTTP="${WEDGE_WEBHOOK_ALLOW_HTTP:-1}"
# Notifications and emails link to the pages of this local instance.
export WEDGE_SITE_URL="${WEDGE_SITE_URL:-http://127.0.0.1:$PORT}"
export EMAIL_BACKEND="${EMAIL_BACKEND:-django.core.mail.backends.console.EmailBackend}"
export PYTHONUNBUFFERED=1

.venv/bin/python manage.py migrate --no-input -v 0
.venv/bin/python manage.py collectstatic --no-input -v 0
.venv/bin/python manage.py seed_demo
.venv/bin/python manage.py demo_banner --url "http://127.0.0.1:$PORT/"

exec .venv/bin/honcho --procfile Procfile start
