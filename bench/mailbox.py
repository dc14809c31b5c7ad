"""A mail server on loopback for the benchmarks: accepts every message, keeps none.

    python -m bench.mailbox PORT

The stack's processes send their emails here (``EMAIL_HOST``/``EMAIL_PORT``
set by ``bench.stack.configure_environment``), so a rollback in a benchmark
pays for a whole SMTP exchange, as it would with a relay in production, not
for a refused connection and its logged traceback. It runs as a process of
its own, so its threads do not share a GIL with the benchmark's receiver.
Each message accepted is one line on standard output: ``accepted <subject>``.
"""

from __future__ import annotations

import socketserver
import sys


class _Session(socketserver.StreamRequestHandler):
    """Just enough SMTP for Django's backend: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 bench mailbox")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                self.reply("354 end with <CR><LF>.<CR><LF>")
                subject = ""
                while (data := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    if data.lower().startswith(b"subject:") and not subject:
                        subject = data[8:].decode(errors="replace").strip()
                print(f"accepted {subject}", flush=True)
                self.reply("250 accepted")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            elif verb in (b"EHLO", b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.reply("250 ok")
            else:
                self.reply("502 not implemented")


def main() -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), _Session)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
