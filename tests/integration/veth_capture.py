"""Count what crosses a veth: run inside the namespace as
`python veth_capture.py DEV SECONDS` (AF_PACKET, all protocols); prints one JSON line.

Counted per IPv4 packet: ESP (IP protocol 50), ESP-in-UDP (UDP port 4500 with a non-zero
first word: a zero marker means IKE), IKE (UDP 500, or 4500 with the zero marker), TCP with
port 3260 on either side (cleartext iSCSI), anything else; and the frames the kernel dropped
because the socket's buffer was full (`drops`).
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ISCSI = 3260
SO_RCVBUFFORCE = 33
SOL_PACKET = 263
PACKET_STATISTICS = 6


def classify(frame: bytes) -> str:
    if len(frame) < 34 or struct.unpack("!H", frame[12:14])[0] != ETH_P_IP:
        return "other"
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    proto = ip[9]
    l4 = ip[ihl:]
    if proto == 50:
        return "esp"
    if proto == 17 and len(l4) >= 12:
        sport, dport = struct.unpack("!HH", l4[:4])
        if 4500 in (sport, dport):
            return "ike" if l4[8:12] == b"\0\0\0\0" else "esp_in_udp"
        if 500 in (sport, dport):
            return "ike"
    if proto == 6 and len(l4) >= 4:
        sport, dport = struct.unpack("!HH", l4[:4])
        if ISCSI in (sport, dport):
            return "tcp_3260"
    return "other"


def main() -> int:
    dev, seconds = sys.argv[1], float(sys.argv[2])
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    # As root, SO_RCVBUFFORCE goes past rmem_max: room for a whole run's frames.
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    sock.bind((dev, 0))
    sock.settimeout(0.2)
    counts = {"esp": 0, "esp_in_udp": 0, "ike": 0, "tcp_3260": 0, "other": 0}
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            frame = sock.recv(65535)
        except TimeoutError:
            continue
        counts[classify(frame)] += 1
    # struct tpacket_stats {tp_packets, tp_drops}: frames the socket had no room for.
    _, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    print(json.dumps({**counts, "drops": drops}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
