"""A Secret Service that never answers, for tests: it owns org.freedesktop.secrets on the session bus and takes
every call without replying, as a keyring whose unlock prompt never shows leaves its callers waiting.

Run as `python tests/ui/silent_secret_service.py` with DBUS_SESSION_BUS_ADDRESS set; prints "ready", then
"call <Interface>.<Member>" for each call it leaves unanswered.
"""

from __future__ import annotations

from jeepney import MessageType
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection


def main() -> None:
    connection = open_dbus_connection(bus="SESSION")
    connection.send_and_get_reply(message_bus.RequestName("org.freedesktop.secrets", 4))  # 4: do not queue
    print("ready", flush=True)
    while True:
        message = connection.receive()
        header = message.header
        if header.message_type is MessageType.method_call:
            fields = header.fields
            print(f"call {fields.get(2, '')}.{fields.get(3, '')}", flush=True)  # 2: interface, 3: member


if __name__ == "__main__":
    main()
