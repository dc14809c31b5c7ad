"""A pinned https connection still verifies the receiver's certificate against the URL's name."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from webhooks.destinations import Destination, pinned_session

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name``: its own authority."""
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}"),
            *("-addext", f"subjectAltName=DNS:{name}"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@contextmanager
def tls_receiver(cert: Path, key: Path) -> Iterator[tuple[int, list[str], list[str]]]:
    """An https receiver on 127.0.0.1; yields its port, the server names and Host headers seen."""
    server_names: list[str] = []
    hosts: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name or "")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            hosts.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server_names, hosts
    finally:
        server.shutdown()
        server.server_close()


def test_sni_and_the_certificate_check_use_the_name(tmp_path):
    cert, key = certificate(tmp_path, "pinned.test")
    with tls_receiver(cert, key) as (port, server_names, hosts):
        destination = Destination("https", "pinned.test", port, ("127.0.0.1",))
        with pinned_session(destination, "127.0.0.1") as session:
            answer = session.post(
                f"https://pinned.test:{port}/hook", data=b"{}", verify=str(cert), timeout=5
            )
    assert answer.status_code == 204
    assert server_names == ["pinned.test"]
    assert hosts == [f"pinned.test:{port}"]


def test_a_certificate_for_another_name_is_refused(tmp_path):
    cert, key = certificate(tmp_path, "other.test")
    with tls_receiver(cert, key) as (port, _, hosts):
        destination = Destination("https", "pinned.test", port, ("127.0.0.1",))
        with (
            pinned_session(destination, "127.0.0.1") as session,
            pytest.raises(requests.exceptions.SSLError),
        ):
            session.post(
                f"https://pinned.test:{port}/hook", data=b"{}", verify=str(cert), timeout=5
            )
    assert hosts == []


def test_a_pinned_session_goes_to_no_other_host():
    destination = Destination("https", "pinned.test", 443, ("127.0.0.1",))
    with (
        pinned_session(destination, "127.0.0.1") as session,
        pytest.raises(requests.exceptions.InvalidURL),
    ):
        session.post("https://elsewhere.test/hook", data=b"{}", timeout=5)
