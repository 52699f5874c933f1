"""The benchmarks' bare endpoints: `tandem serve`'s own gunicorn configuration serving an app that only
answers 200, whatever the path, as a plain WSGI function or (`--flask`) as a Flask route; and
(`--sqlite-insert`) issue 5's yardstick, a plain WSGI function that inserts each body into SQLite in WAL
mode (a connection per thread, each insert its own transaction, SQLite's own locking) before its 200.

Tandem's routes are a plain WSGI app (bot/http_app.py; Flask until e86d056), so the plain endpoint is the
bare one on Tandem's own stack, which the benchmarks hold their ratio targets against; the Flask one,
printed beside it, says what Tandem's work costs beside the framework its routes used to pay for.

Run by the benchmarks as:  python benchmarks/bare_server.py [--flask | --sqlite-insert]  (settings from the
environment; --sqlite-insert writes to TANDEM_DATABASE_URL's file with ".insert" added)
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.server import TandemServer
from bot.settings import load_settings


def bare(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Length", "0")])
    return [b""]


def bare_flask() -> Callable[..., Iterable[bytes]]:
    from flask import Flask, Response

    app = Flask("bare")

    @app.route("/<path:_path>", methods=["GET", "POST"])
    def ok(_path: str) -> Response:
        return Response(status=200)

    return app


def sqlite_insert(database: str) -> Callable[..., Iterable[bytes]]:
    local = threading.local()

    def connection() -> sqlite3.Connection:
        if not hasattr(local, "connection"):
            local.connection = sqlite3.connect(database, timeout=30, isolation_level=None, check_same_thread=False)
            local.connection.execute("PRAGMA journal_mode=WAL")
            local.connection.execute("PRAGMA synchronous=NORMAL")
            local.connection.execute("CREATE TABLE IF NOT EXISTS bodies (id INTEGER PRIMARY KEY, body BLOB)")
        return local.connection

    def insert(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        connection().execute("INSERT INTO bodies (body) VALUES (?)", (body,))
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    return insert


class BareServer(TandemServer):
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        super().__init__(load_settings(os.environ, None))

    def load(self) -> Callable[..., Iterable[bytes]]:
        return self.app


def chosen_app(arguments: list[str]) -> Callable[..., Iterable[bytes]]:
    if "--flask" in arguments:
        return bare_flask()
    if "--sqlite-insert" in arguments:
        return sqlite_insert(os.environ["TANDEM_DATABASE_URL"].removeprefix("sqlite:///") + ".insert")
    return bare


if __name__ == "__main__":
    BareServer(chosen_app(sys.argv[1:])).run()
