"""`sheli serve`: gunicorn in front of the app factory, the scheduler beside it."""

from __future__ import annotations

import ctypes
import logging
from typing import Any

from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from bot.config import Config
from bot.logsafe import safe_path

log = logging.getLogger(__name__)

# gunicorn's default logs the request line with its query string: WeChat's signature, timestamp,
# nonce and the sender's openid. This one logs the path only, and no referrer (a dashboard URL).
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss "%(a)s"'


class AccessLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger, with an openid in a path (local mode's /local/inbox/<openid>) logged
    as its pseudonym."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        atoms["U"] = safe_path(atoms.get("U"))
        atoms["r"] = "-"  # the raw request line keeps the path and query as sent
        return atoms


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, config: Config, options: dict[str, Any]):
        self.sheli_config = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from bot.app import create_app

        return create_app(self.sheli_config)


def _libc() -> Any:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return None


M_ARENA_MAX = -8


def _tame_malloc() -> None:
    """glibc gives each thread that allocates at the same time its own heap (arena), up to eight
    per core, and keeps memory freed there for later: four threads that each once built a large
    page hold four large heaps. Two arenas per worker are enough for four threads."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, 2)


def _give_back_memory(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """After a dashboard page (a dashboard request may have read a large period), give freed
    memory back to the system; the webhook's small requests skip this."""
    if str(getattr(req, "path", "")).startswith("/dashboard"):
        libc = _libc()
        if libc is not None:
            libc.malloc_trim(0)


def run_server(config: Config, *, host: str, port: int, workers: int, scheduler: bool) -> None:
    """Serve until interrupted. With `scheduler`, each worker also runs a scheduler thread.

    The scheduler starts after the fork, inside the worker: a database connection opened in the
    gunicorn master and inherited by forked workers locks SQLite up. With several workers the
    database lease lets exactly one of their schedulers work; the others only check the lease.
    """
    running: dict[int, Any] = {}

    def post_worker_init(worker: Any) -> None:
        _tame_malloc()
        if scheduler:
            from bot.bootstrap import NoParser, bootstrap
            from bot.scheduler import start_background

            # The scheduler never parses text: no model to load.
            running[worker.pid] = start_background(bootstrap(config, parser=NoParser()))
            log.info("scheduler thread running in worker %s", worker.pid)

    def worker_exit(server: Any, worker: Any) -> None:
        # Free the lease at once, so another worker's scheduler takes over without waiting.
        running_scheduler = running.pop(worker.pid, None)
        if running_scheduler is not None:
            running_scheduler.stop()

    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": 4,
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": AccessLogger,
        "post_worker_init": post_worker_init,
        "post_request": _give_back_memory,
        "worker_exit": worker_exit,
    }
    _Gunicorn(config, options).run()
