"""A real SMTP server for the notice tests: aiosmtpd on 127.0.0.1, STARTTLS with a self-signed certificate made
here (openssl), AUTH LOGIN and PLAIN against one user, every accepted message kept."""
from __future__ import annotations

import socket
import ssl
import subprocess
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "relais", "pä55-w0rd!secret"


def make_cert(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    def __init__(self, password: str = PASSWORD) -> None:
        self.password = password
        self.messages: list = []     # (mail_from, rcpt_tos, content bytes)
        self.logins: list = []       # (mechanism, user, accepted)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
              and auth_data.password == self.password.encode())
        self.logins.append((mechanism, auth_data.login if isinstance(auth_data, LoginPassword) else None, ok))
        return AuthResult(success=ok, handled=False)    # handled=False: the server answers 535 itself


class SmtpServer:
    def __init__(self, directory: Path, port: int | None = None, password: str = PASSWORD,
                 mechanisms: tuple[str, ...] = ("LOGIN", "PLAIN")):
        self.cert, key = make_cert(directory)
        self.port = port or free_port()
        self.mailbox = Mailbox(password)
        excluded = [m for m in ("LOGIN", "PLAIN") if m not in mechanisms]
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, tls_context=context,
                                      require_starttls=True, authenticator=self.mailbox.authenticate,
                                      auth_required=True, auth_exclude_mechanism=excluded)

    def start(self) -> "SmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
