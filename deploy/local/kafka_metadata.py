"""Ask a Kafka broker for cluster metadata (Metadata request v1, no client library).

Exit 0 when the broker answers with at least one live broker and an elected
controller; with --topics also print the topic names. Used as the health check
by deploy/local/kafka.sh: it proves the broker serves metadata, not just that
the port accepts connections, and costs no JVM start.
"""
import socket
import struct
import sys


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return buf


def metadata(host, port, timeout=3.0):
    client_id = b"zw-health"
    body = struct.pack(">hhih", 3, 1, 7, len(client_id)) + client_id + struct.pack(">i", -1)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", read_exact(sock, 4))[0]
        data = read_exact(sock, size)
    pos = 0

    def take(fmt):
        nonlocal pos
        vals = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return vals[0]

    def string():
        nonlocal pos
        n = take(">h")
        if n < 0:
            return None
        s = data[pos:pos + n].decode()
        pos += n
        return s

    if take(">i") != 7:
        raise ValueError("correlation id mismatch")
    brokers = []
    for _ in range(take(">i")):
        brokers.append((take(">i"), string(), take(">i")))
        string()  # rack
    controller = take(">i")
    topics = []
    for _ in range(take(">i")):
        take(">h")  # error code
        name = string()
        internal = take(">?")
        for _ in range(take(">i")):
            take(">hii")  # error, partition, leader
            for _ in range(2):  # replicas, isr
                n = take(">i")
                pos += 4 * n
        topics.append((name, internal))
    return brokers, controller, topics


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9092
    try:
        brokers, controller, topics = metadata("127.0.0.1", port)
    except (OSError, ValueError, struct.error) as exc:
        print(f"kafka metadata: {exc}", file=sys.stderr)
        return 1
    if not brokers or controller < 0:
        print(f"kafka metadata: brokers={brokers} controller={controller}", file=sys.stderr)
        return 1
    if "--topics" in sys.argv:
        for name, internal in sorted(topics):
            if not internal:
                print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
