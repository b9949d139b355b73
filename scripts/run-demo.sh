#!/usr/bin/env bash
# The embedded demo: SQLite + a filesystem broker under var/, a real Celery
# worker and the beat scheduler (its own process, as in production: one beat
# whatever the number of workers) in the background, the web server in the
# foreground.
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

# The worker runs in a session of its own (setsid): a signal sent to this
# script's whole process group (Ctrl+C, `kill -- -PGID`, a supervisor stopping
# the group) then reaches only its main process, through stop_worker below. Its
# pool children killed directly by such a signal would leave the main process
# waiting for them for the minute before the cold shutdown.
setsid .venv/bin/celery -A tagger worker --loglevel INFO --concurrency 2 --logfile var/worker.log &
WORKER=$!
.venv/bin/celery -A tagger beat --loglevel INFO --schedule var/celerybeat-schedule \
  --logfile var/beat.log &
BEAT=$!
# SIGTERM starts Celery's warm shutdown: running tasks finish first. A training
# run learns that the worker is stopping (tagger/celery.py) and ends cancelled
# within seconds, so the worker exits by itself. Should anything still hold it
# after a minute (scoring the whole demo catalogue can take that long), a cold
# shutdown (SIGQUIT) cancels the tasks. A pool child killed while it held the
# result queue's lock can leave the main process waiting on that lock forever at
# exit (billiard), so a worker still there 10 s after its cold shutdown is
# killed, its pool children first; nothing is ever left running.
stop_worker() {
  kill -TERM "$BEAT" 2>/dev/null && { wait "$BEAT" 2>/dev/null || true; }
  kill -TERM "$WORKER" 2>/dev/null || return 0
  for _ in $(seq 60); do
    kill -0 "$WORKER" 2>/dev/null || { wait "$WORKER" 2>/dev/null || true; return 0; }
    sleep 1
  done
  echo "Celery worker still busy after 60 s: cold shutdown" >&2
  kill -QUIT "$WORKER" 2>/dev/null || true
  for _ in $(seq 10); do
    kill -0 "$WORKER" 2>/dev/null || { wait "$WORKER" 2>/dev/null || true; return 0; }
    sleep 1
  done
  echo "Celery worker still there 10 s after its cold shutdown: killed" >&2
  pkill -KILL -P "$WORKER" 2>/dev/null || true
  kill -KILL "$WORKER" 2>/dev/null || true
  wait "$WORKER" 2>/dev/null || true
}
trap stop_worker EXIT INT TERM HUP
echo "Celery worker started (pid $WORKER, log var/worker.log); beat (pid $BEAT, log var/beat.log)"
echo "Tagger is at http://$HOST:$PORT/"
.venv/bin/gunicorn -c python:tagger.gunicorn_conf tagger.wsgi:application \
  --bind "$HOST:$PORT" --workers 2 --threads 4 --graceful-timeout 5
