#!/usr/bin/env bash
# Start or stop the host's Docker engine for the lab.
#
#   scripts/engine.sh start   make sure a Docker engine answers; start one if none does
#   scripts/engine.sh stop    stop the engine, but only if `start` started it
#   scripts/engine.sh status  say whether an engine answers and who started it
#
# On hosts with systemd the engine is started with systemctl. Where there is no
# systemd (containers, CI sandboxes) dockerd runs in the background, logging to
# .workshop/dockerd.log; its pid is kept in .workshop/dockerd.pid, which is also
# the mark that this script, and nothing else, owns that engine.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
state="$top/.workshop"
pidfile="$state/dockerd.pid"
log="$state/dockerd.log"
mkdir -p "$state"

answers() { timeout 10 docker info >/dev/null 2>&1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

wait_for_engine() {
  for _ in $(seq 1 60); do
    answers && return 0
    sleep 1
  done
  echo "The Docker engine did not answer within 60 s. See $log" >&2
  tail -n 20 "$log" >&2 || true
  return 1
}

start() {
  if answers; then
    echo "Docker engine: answering."
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "No dockerd on this host. Run 'make setup' (installs docker.io) or install Docker." >&2
    return 1
  fi
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    echo "Docker engine: starting it with systemctl."
    as_root systemctl start docker
    wait_for_engine
    return
  fi
  # A pid file left by an engine that died must not stop us from starting a new one.
  if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then rm -f "$pidfile"; fi
  # Leftovers of an engine killed without cleanup block a new one: its pid file,
  # its socket, and the socket of the containerd it ran (dockerd would try to use it).
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    as_root rm -f /var/run/docker.pid /var/run/docker.sock
  fi
  if ! pgrep -x containerd >/dev/null 2>&1; then
    as_root rm -f /run/containerd/containerd.sock /var/run/docker/containerd/containerd.sock
  fi
  echo "Docker engine: starting dockerd in the background (log: $log)."
  as_root sh -c 'nohup dockerd >"$1" 2>&1 </dev/null & echo $! >"$2"' sh "$log" "$pidfile"
  wait_for_engine
}

stop() {
  if [ ! -f "$pidfile" ]; then
    echo "Docker engine: not started by this kit; leaving it alone."
    return 0
  fi
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    echo "Docker engine: stopping the dockerd this kit started (pid $pid)."
    as_root kill "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    if kill -0 "$pid" 2>/dev/null; then as_root kill -9 "$pid" || true; fi
  fi
  rm -f "$pidfile"
}

status() {
  if answers; then echo "Docker engine: answering."; else echo "Docker engine: not answering."; fi
  if [ -f "$pidfile" ]; then echo "Started by this kit (pid $(cat "$pidfile"))."; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
