"""A page that counts its visits in Redis: ``hits 7 (served by counter-2.node-3)``.

Every GET adds one to the key ``hits`` (Redis INCR: atomic, however many replicas
ask at once) and answers with the new count and this container's host name. When
Redis cannot be reached, the answer is a 503 that says why. Runs in the counter
image (Debian's python3 and python3-redis), not on the host.
"""

from __future__ import annotations

import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis  # type: ignore[import-not-found]  # in the image only (python3-redis)

REDIS_HOST = os.environ.get("REDIS_HOST", "redis")
STORE = redis.Redis(host=REDIS_HOST, socket_timeout=3, socket_connect_timeout=3)
HOST = socket.gethostname()


class Counter(BaseHTTPRequestHandler):
    """Counts each GET in Redis and says who served it."""

    def do_GET(self) -> None:
        """Answer ``hits N (served by HOST)``, or 503 when Redis does not answer."""
        try:
            status, text = 200, f"hits {STORE.incr('hits')} (served by {HOST})\n"
        except redis.RedisError as exc:
            status, text = 503, f"no answer from Redis at {REDIS_HOST}: {exc} (served by {HOST})\n"
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    ThreadingHTTPServer(("", int(os.environ.get("PORT", "80"))), Counter).serve_forever()
