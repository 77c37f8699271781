"""Run a test HTTP server in a thread and stop it quickly.

`serve_forever` checks for `shutdown()` once per poll interval, 0.5 s by default: with a few dozen
fake servers per run that was 15 s of waiting. A short interval costs only an idle wake-up now and
then, and `shutdown()` still waits for the loop to finish, so nothing is left half-stopped.
"""

from __future__ import annotations

import socketserver
import threading

POLL_INTERVAL = 0.02


def serve_in_thread(server: socketserver.BaseServer) -> threading.Thread:
    """Start `server.serve_forever` in a daemon thread that notices `shutdown()` within 20 ms."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL}, daemon=True
    )
    thread.start()
    return thread


def stop(server: socketserver.BaseServer) -> None:
    """Stop the loop, then close the listening socket (so the port is free again)."""
    server.shutdown()
    server.server_close()
