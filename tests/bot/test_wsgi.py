"""The shared WSGI pieces: a request's headers and body as the routes read them, and a body whose headers and
bytes leave together under gunicorn."""

from __future__ import annotations

import io
import socket
import sys
from collections.abc import Iterator

import pytest

from bot.wsgi import MAX_BODY_BYTES, OneSegment, RejectedRequest, lowercase_headers, read_body

needs_cork = pytest.mark.skipif(not hasattr(socket, "TCP_CORK"), reason="TCP_CORK is Linux's")


@pytest.fixture
def served_socket() -> Iterator[tuple[socket.socket, socket.socket]]:
    """The server's end of a real loopback TCP connection, and the client's."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    with client, server:
        yield server, client


def corked(sock: socket.socket) -> bool:
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK))


@needs_cork
def test_under_gunicorn_the_socket_is_corked_until_the_server_closes_the_body(
    served_socket: tuple[socket.socket, socket.socket],
) -> None:
    server, client = served_socket
    body = OneSegment({"gunicorn.socket": server}, [b'{"ok":true}\n'])
    assert corked(server), "held back from the start, before gunicorn writes the headers"
    server.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n")
    for chunk in body:
        server.sendall(chunk)
    body.close()
    assert not corked(server), "and let go once the body is closed, which sends what was written"
    received = b""
    while not received.endswith(b"}\n") and (more := client.recv(1024)):
        received += more
    assert received.endswith(b'\r\n\r\n{"ok":true}\n')


@needs_cork
def test_a_head_answer_without_a_body_is_let_go_as_well(served_socket: tuple[socket.socket, socket.socket]) -> None:
    server, _ = served_socket
    body = OneSegment({"gunicorn.socket": server}, [])
    assert list(body) == []
    body.close()
    assert not corked(server)


def test_without_gunicorns_socket_the_body_is_the_chunks_as_they_are() -> None:
    body = OneSegment({}, [b"a", b"b"])
    assert list(body) == [b"a", b"b"]
    body.close()


@pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets")
def test_a_socket_that_cannot_be_corked_still_gets_its_body() -> None:
    left, right = socket.socketpair()  # a Unix socket: TCP_CORK does not apply
    with left, right:
        body = OneSegment({"gunicorn.socket": left}, [b"answer"])
        assert list(body) == [b"answer"]
        body.close()


def test_headers_are_read_by_lower_case_name_and_nothing_else_of_the_environ_is_taken_for_one() -> None:
    environ = {
        "HTTP_X_ZENDESK_WEBHOOK_SIGNATURE": "c2ln",
        "HTTP_USER_AGENT": "Zendesk Webhook",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "",
        "REQUEST_METHOD": "POST",
        "wsgi.input": io.BytesIO(b""),
    }
    expected = {
        "x-zendesk-webhook-signature": "c2ln",
        "user-agent": "Zendesk Webhook",
        "content-type": "application/json",
    }
    assert lowercase_headers(environ) == expected
    assert lowercase_headers(environ) == expected  # the names learned from the first request read the same


def test_headers_are_read_alike_past_the_names_it_learns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sender chooses the names: past a bound, they are rewritten each time rather than remembered."""
    monkeypatch.setattr("bot.wsgi._MAX_HEADER_NAMES", 0)
    assert lowercase_headers({"HTTP_X_NEVER_SEEN_BEFORE": "1", "SERVER_NAME": "x"}) == {"x-never-seen-before": "1"}


def test_a_body_is_read_up_to_its_length_and_one_declared_or_sent_too_big_is_refused() -> None:
    def environ(body: bytes, declared: str | None) -> dict[str, object]:
        return {"wsgi.input": io.BytesIO(body), **({"CONTENT_LENGTH": declared} if declared is not None else {})}

    assert read_body(environ(b'{"id": 1}trailing', "9")) == b'{"id": 1}'
    assert read_body(environ(b"", "0")) == b""
    for body, declared in ((b"", str(MAX_BODY_BYTES + 1)), (b"x" * (MAX_BODY_BYTES + 1), None)):
        with pytest.raises(RejectedRequest) as refused:
            read_body(environ(body, declared))
        assert (refused.value.status, refused.value.reason) == (413, f"body is larger than {MAX_BODY_BYTES} bytes")
    with pytest.raises(RejectedRequest) as refused:
        read_body(environ(b"", "ten"))
    assert refused.value.status == 400
