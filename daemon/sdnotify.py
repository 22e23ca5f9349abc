"""systemd's sd_notify protocol: one datagram to $NOTIFY_SOCKET (READY=1, WATCHDOG=1, STOPPING=1); silent without systemd."""
from __future__ import annotations

import os
import socket
from collections.abc import Mapping


def notify(state: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Send one state line to systemd; False when not running under a notify-type unit."""
    address = environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(state.encode("ascii"))
    return True
