#!/bin/sh
# Keep an nginx `upstream` block in step with the tasks of a swarm service.
#
#   upstream.sh addresses              the IPv4 addresses in `getent ahostsv4` output
#                                      (stdin), in order, each once
#   upstream.sh render NAME [ADDR...]  the `upstream NAME` block for these addresses
#   upstream.sh sync NAME FILE         write FILE for the addresses of tasks.NAME now;
#                                      `nginx -s reload` if it changed and nginx runs
#   upstream.sh watch NAME FILE        sync every $INTERVAL seconds (default 2), forever
#
# Docker's DNS answers tasks.<service> with one address per running task. nginx 1.22
# (Debian bookworm) resolves the names of an `upstream` block only when it loads its
# configuration, so the block lists addresses and nginx reloads when they change:
# the master process starts workers with the new block, the old workers finish
# their requests, and the listening socket stays open (consul-template's approach).
# `zone` puts the connection counts in shared memory, so that every worker process
# balances with the same counts (each keeps its own without it).
set -eu

INTERVAL="${INTERVAL:-2}"
PORT="${BACKEND_PORT:-80}"
PIDFILE="${NGINX_PIDFILE:-/run/nginx.pid}"

addresses() {
    awk '$1 ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/ { print $1 }' \
        | sort -u -t . -k1,1n -k2,2n -k3,3n -k4,4n
}

render() {
    name="$1"
    shift
    echo "# tasks.$name: $# address(es); written by upstream.sh"
    echo "upstream $name {"
    echo "    least_conn;"
    echo "    zone $name 64k;"
    if [ "$#" -eq 0 ]; then
        # nginx refuses an empty upstream: a server marked down keeps it valid (502s).
        echo "    server 127.0.0.1:9 down;"
    fi
    for address in "$@"; do
        echo "    server $address:$PORT max_fails=2 fail_timeout=5s;"
    done
    echo "}"
}

sync_file() {
    name="$1"
    file="$2"
    # shellcheck disable=SC2046  # one argument per address
    new="$(render "$name" $(getent ahostsv4 "tasks.$name" | addresses))"
    old="$(cat "$file" 2>/dev/null || true)"
    [ "$new" != "$old" ] || return 0
    printf '%s\n' "$new" > "$file.new"
    mv "$file.new" "$file"
    servers="$(grep -c 'max_fails' "$file" || true)"
    echo "upstream.sh: tasks.$name now has $servers address(es); wrote $file" >&2
    if [ -s "$PIDFILE" ]; then
        nginx -s reload
    fi
}

case "${1:-}" in
    addresses) addresses ;;
    render) shift; render "$@" ;;
    sync) sync_file "$2" "$3" ;;
    watch)
        while :; do
            sleep "$INTERVAL"
            sync_file "$2" "$3" || echo "upstream.sh: sync failed; trying again" >&2
        done
        ;;
    *)
        echo "usage: upstream.sh addresses | render NAME [ADDR...] | sync NAME FILE | watch NAME FILE" >&2
        exit 64
        ;;
esac
