"""A burst of HTTP requests, all at once, each on a new connection, timed from connect to the whole response.

One thread drives every connection through a selector, so the client's own cost is a few µs a request:
with a thread per request, 100 threads queue on one GIL and each times that queue too. Run it in a
process of its own (benchmarks/bench_answers.py does) so that nothing else holds up its clock.
"""

from __future__ import annotations

import selectors
import socket
import time
from dataclasses import dataclass, field

Request = tuple[str, str, bytes, dict[str, str]]  # method, path, body, headers


def fire(port: int, requests: list[Request], wave: str) -> list[tuple[float, str]]:
    """All requests at once, one new connection each: (ms from connect to response, status) per request."""
    selector = selectors.DefaultSelector()
    results: list[tuple[float, str]] = [(0.0, "not sent")] * len(requests)
    for i, (method, path, body, headers) in enumerate(requests):
        headers = {**headers, "X-Request-Id": f"{wave}-{i}", "Host": "127.0.0.1", "Connection": "close"}
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        sock = socket.socket()
        sock.setblocking(False)
        started = time.perf_counter()
        sock.connect_ex(("127.0.0.1", port))
        selector.register(sock, selectors.EVENT_WRITE, _Exchange(i, started, head.encode() + body))
    deadline = time.monotonic() + 30
    while selector.get_map() and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1):
            exchange: _Exchange = key.data
            sock = key.fileobj  # type: ignore[assignment]
            try:
                if exchange.outgoing:
                    exchange.outgoing = exchange.outgoing[sock.send(exchange.outgoing) :]
                    if not exchange.outgoing:
                        selector.modify(sock, selectors.EVENT_READ, exchange)
                    continue
                chunk = sock.recv(65536)
            except OSError as error:
                chunk, exchange.status = b"", type(error).__name__
            exchange.incoming += chunk
            if chunk and not exchange.complete():
                continue
            selector.unregister(sock)
            sock.close()
            status = exchange.status or bytes(exchange.incoming[9:12]).decode("latin-1") or "no answer"
            results[exchange.index] = ((time.perf_counter() - exchange.started) * 1000, status)
    for key in list(selector.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]
    return results


@dataclass
class _Exchange:
    index: int
    started: float
    outgoing: bytes
    incoming: bytearray = field(default_factory=bytearray)
    status: str = ""

    def complete(self) -> bool:
        """The whole response is in (timed then: the server closes the connection later, off the clock)."""
        head, separator, body = bytes(self.incoming).partition(b"\r\n\r\n")
        lengths = [
            line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
        ]
        return bool(separator) and len(body) >= int(lengths[0]) if lengths else False
