"""The benchmarks' bare endpoints: `tandem serve`'s own gunicorn configuration serving an app that only
answers 200, whatever the path, as a plain WSGI function or (`--flask`) as a Flask route.

Tandem's Slack route is a plain WSGI app (bot/slack_edge.py) and its other routes are Flask's, so the
benchmarks measure against both: the plain one says what Tandem's own work costs, the Flask one what it
costs beside the framework its other routes (and, before, the Slack route) pay for.

Run by the benchmarks as:  python benchmarks/bare_server.py [--flask]  (settings from the environment)
"""

from __future__ import annotations

import os
import sys
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


class BareServer(TandemServer):
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        super().__init__(load_settings(os.environ, None))

    def load(self) -> Callable[..., Iterable[bytes]]:
        return self.app


if __name__ == "__main__":
    BareServer(bare_flask() if "--flask" in sys.argv[1:] else bare).run()
