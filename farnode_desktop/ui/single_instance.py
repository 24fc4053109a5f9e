"""One FarNode per user: a second launch asks the running one (over a local socket) to show itself, then exits."""

from __future__ import annotations

import getpass
import hashlib

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

RAISE = b"raise\n"


def server_name(suffix: str = "") -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers): the name only has to be stable
        user = "user"
    return "farnode-desktop-" + hashlib.sha256((user + suffix).encode()).hexdigest()[:16]


class SingleInstance(QObject):
    """`acquire()` is True for the first instance; later ones deliver a raise request and get False."""

    raise_requested = Signal()

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or server_name()
        self.server: QLocalServer | None = None

    def acquire(self, timeout_ms: int = 1000) -> bool:
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if socket.waitForConnected(timeout_ms):
            socket.write(RAISE)
            socket.flush()
            socket.waitForBytesWritten(timeout_ms)
            socket.disconnectFromServer()
            return False
        # Nobody answered: a server file left by a crashed instance is stale, remove it and listen.
        QLocalServer.removeServer(self.name)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            return True  # cannot listen (odd platform): run anyway rather than refuse to start
        server.newConnection.connect(self._on_connection)
        self.server = server
        return True

    def _on_connection(self) -> None:
        assert self.server is not None
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            # The request is one short line written right after connecting: wait for it briefly here
            # rather than keep per-socket slots alive past the socket.
            ready = bool(socket.bytesAvailable()) or socket.waitForReadyRead(500)
            if ready and bytes(socket.readAll().data()).startswith(RAISE.strip()):
                self.raise_requested.emit()
            socket.abort()
            socket.deleteLater()

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
