"""Hostile requests against the real daemon's HTTP API (issue 16, item 8): a client's mistake is
a 4xx, never a 5xx, and idle or slow connections are closed.

Raw sockets, so the bytes are exactly what a broken or hostile client sends: undecodable bearer
tokens, `%ff` / `%00` in paths, HEAD on every GET route, a 2 KB query string, 3,000 nested
brackets, an idle connection, a request head or body that never ends. A Hypothesis strategy of
hostile requests runs `FLOORLINK_FUZZ_EXAMPLES` examples (60 in `make test`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_from_bytes

import pytest
from app_support import PIN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from thread_server import ThreadServer

from floorlink.daemon.broker import EmbeddedBroker
from floorlink.daemon.http import HttpSettings
from floorlink.daemon.routes import ROUTES

TOKEN = "staff-token-for-hostile-tests"
AUTH = f"Authorization: Bearer {TOKEN}\r\n".encode()
DEEP = b"[" * 3000 + b"]" * 3000
EXAMPLE_IDS = {"report": "summary"}  # ids with a pattern "1" does not fit
GETS = [r.path.replace("{id}", EXAMPLE_IDS.get(r.param or "", "1")) for r in ROUTES
        if r.method == "GET"]  # fmt: skip
POSTS = [r.path.replace("{id}", "1") for r in ROUTES if r.body is not None]  # bodies read
METHOD = {r.path.replace("{id}", "1"): r.method for r in ROUTES if r.body is not None}  # POST, PUT
FUZZ_EXAMPLES = int(os.environ.get("FLOORLINK_FUZZ_EXAMPLES", "60"))


@pytest.fixture
def server(tmp_path: Path, broker: EmbeddedBroker) -> Iterator[ThreadServer]:
    settings_ = HttpSettings(staff_token=TOKEN, staff_pin=PIN, idle_timeout=0.5, body_timeout=0.5)
    with ThreadServer(tmp_path / "app", broker, settings_) as s:
        yield s


def exchange(port: int, data: bytes, timeout: float = 10, head_only: bool = False) -> bytes:
    """Send `data` on a fresh connection; everything the server answers until it closes (or,
    for a stream that never ends, its status line and headers)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            if head_only and b"\r\n\r\n" in b"".join(chunks):
                break
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    assert answer.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")), answer[:200]  # 1.0: unparsable
    return int(answer[9:12])


def request(method: str, target: bytes, headers: bytes = b"", body: bytes = b"") -> bytes:
    length = f"Content-Length: {len(body)}\r\n".encode() if body else b""
    return (
        method.encode() + b" " + target + b" HTTP/1.1\r\nHost: floorlink\r\nConnection: close\r\n"
        + headers + length + b"\r\n" + body
    )  # fmt: skip


@pytest.mark.parametrize("path", ["/api/v1/tables", "/api/v1/tables/1/clear", "/api/v1/stream"])
@pytest.mark.parametrize(
    "token",
    [b"\xff\xfe\xfd", b"t\xf6k\xe9n", b"\xc3\x28", b"\xed\xa0\x80", TOKEN.encode() + b"\x80"],
)
def test_undecodable_bearer_tokens_are_401(server: ThreadServer, path: str, token: bytes) -> None:
    method = "POST" if path.endswith("clear") else "GET"
    answer = exchange(
        server.port, request(method, path.encode(), b"Authorization: Bearer " + token + b"\r\n")
    )
    assert status_of(answer) in (400, 401), answer[:300]
    assert b'"error"' in answer


def test_an_undecodable_query_token_is_401(server: ThreadServer) -> None:
    answer = exchange(server.port, request("GET", b"/api/v1/stream?token=%ff%fe%00"))
    assert status_of(answer) == 401


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", b"/api/v1/tables/%ff"),
        ("POST", b"/api/v1/tables/%ff/seat"),
        ("POST", b"/api/v1/tables/%00/clear"),
        ("POST", b"/api/v1/waitlist/%ff%fe/page"),
        ("POST", b"/api/v1/waitlist/w-1%00/left"),
        ("GET", b"/static/%00"),
        ("GET", b"/static/%ff"),
        ("GET", b"/static/app.js%00.txt"),
        ("GET", b"/%00"),
        ("GET", b"/api/v1/%ff%ff"),
        ("DELETE", b"/api/v1/devices/%00"),
    ],
)
def test_bad_bytes_in_paths_are_4xx(server: ThreadServer, method: str, target: bytes) -> None:
    answer = exchange(server.port, request(method, target, AUTH))
    assert status_of(answer) in (400, 404, 405), answer[:300]


@pytest.mark.parametrize("path", GETS)
def test_head_works_wherever_get_does(server: ThreadServer, path: str) -> None:
    get = (
        status_of(exchange(server.port, request("GET", path.encode(), AUTH)))
        if path != ("/api/v1/stream")
        else 200
    )
    head = exchange(server.port, request("HEAD", path.encode(), AUTH))
    assert status_of(head) == get == 200, head[:300]
    assert head.endswith(b"\r\n\r\n")  # headers only
    unauthorized = status_of(exchange(server.port, request("HEAD", path.encode())))
    assert unauthorized in (200, 401)


@pytest.mark.parametrize("path", GETS)
def test_a_2kb_query_string_is_never_5xx(server: ThreadServer, path: str) -> None:
    query = b"?token=" + b"%ff" * 300 + b"&" + b"a=%00&" * 200
    assert len(query) > 2048
    stream = path == "/api/v1/stream"
    for headers in (AUTH, b""):
        answer = exchange(server.port, request("GET", path.encode() + query, headers), 10, stream)
        if stream and headers:
            assert status_of(answer) == 200  # the header's token wins; the stream started
            continue
        assert status_of(answer) < 500, answer[:300]


@pytest.mark.parametrize("path", POSTS)
def test_3000_nested_brackets_are_400(server: ThreadServer, path: str) -> None:
    answer = exchange(
        server.port,
        request(METHOD[path], path.encode(), AUTH + b"Content-Type: application/json\r\n", DEEP),
    )
    assert status_of(answer) == 400, answer[:300]
    assert b"nested too deep" in answer
    if path.endswith(("/session", "/devices")):
        return  # these need no token: the same 400 above
    unauthenticated = exchange(server.port, request(METHOD[path], path.encode(), b"", DEEP))
    assert status_of(unauthenticated) == 401


def test_an_idle_connection_is_closed(server: ThreadServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        assert sock.recv(1) == b""  # closed by the daemon, not by our timeout


def test_a_request_head_that_never_ends_is_closed(server: ThreadServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(b"GET /api/v1/tables HTTP/1.1\r\nHost: floorlink\r\nX-Slow: ")
        assert sock.recv(1024) == b""


def test_a_body_that_never_arrives_is_408(server: ThreadServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(
            b"POST /api/v1/waitlist HTTP/1.1\r\nHost: floorlink\r\n" + AUTH
            + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\": "
        )  # fmt: skip
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert status_of(answer) == 408 and b"did not arrive in time" in answer


def test_idle_connections_do_not_take_the_stand_away(server: ThreadServer) -> None:
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=20) for _ in range(300)]
    try:
        assert status_of(exchange(server.port, request("GET", b"/healthz"))) == 200
        for sock in idle:  # every one of them is closed by the daemon
            assert sock.recv(1) == b""
    finally:
        for sock in idle:
            sock.close()


# ---- hostile requests, generated ---------------------------------------------------------

SEGMENT = st.one_of(
    st.sampled_from(["1", "w-1", "d-000000000000", "..", "%2e%2e", "%00", "%ff", "~"]),
    st.binary(min_size=1, max_size=40).map(lambda b: quote_from_bytes(b, safe="")),
)
PATHS = st.one_of(
    st.sampled_from([r.path for r in ROUTES]),
    st.lists(SEGMENT, min_size=1, max_size=6).map(lambda p: "/api/v1/" + "/".join(p)),
)
BODIES = st.one_of(
    st.just(b""),
    st.just(DEEP),
    st.binary(max_size=300),
    st.integers(1, 5000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.sampled_from([b"null", b"[]", b'{"pin": "\\ud800"}', b'{"name": "\\u0000"}', b"1e999999"]),
)
TOKENS = st.one_of(
    st.just(b""),
    st.just(TOKEN.encode()),
    st.binary(max_size=80).filter(lambda b: b"\r" not in b and b"\n" not in b),
)


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
    path=PATHS,
    segment=SEGMENT,
    query=st.binary(max_size=2500).map(lambda b: quote_from_bytes(b, safe="=&")),
    token=TOKENS,
    body=BODIES,
)
def test_hostile_requests_never_get_5xx(
    server: ThreadServer, method: str, path: str, segment: str, query: str, token: bytes,
    body: bytes,
) -> None:  # fmt: skip
    target = path.replace("{id}", segment) + ("?" + query if query else "")
    headers = b"Authorization: Bearer " + token + b"\r\n" if token else b""
    stream = method == "GET" and target.startswith("/api/v1/stream")
    answer = exchange(server.port, request(method, target.encode(), headers, body), 10, stream)
    assert status_of(answer) < 500, (target, answer[:300])
