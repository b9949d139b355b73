#!/usr/bin/env bash
# The embedded demo: SQLite + a filesystem broker under var/, a real Celery
# worker (with beat) in the background and the web server in the foreground.
set -euo pipefail
cd "$(dirname "$0")/.."
export TAGGER_DEMO="${TAGGER_DEMO:-true}"
PY=.venv/bin/python
HOST="${TAGGER_HOST:-127.0.0.1}"
PORT="${TAGGER_PORT:-8000}"

mkdir -p var
$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v 0
$PY manage.py bootstrap_demo

.venv/bin/celery -A tagger worker --beat --loglevel INFO --concurrency 2 \
  --schedule var/celerybeat-schedule --logfile var/worker.log &
WORKER=$!
trap 'kill "$WORKER" 2>/dev/null || true; wait "$WORKER" 2>/dev/null || true' EXIT INT TERM
echo "Celery worker started (pid $WORKER, log var/worker.log)"
echo "Tagger is at http://$HOST:$PORT/"
.venv/bin/gunicorn tagger.wsgi:application --bind "$HOST:$PORT" --workers 2 --threads 4 \
  --access-logfile - --graceful-timeout 5
