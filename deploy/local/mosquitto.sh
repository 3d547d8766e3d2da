# Mosquitto (Debian package), run as the current user with our own config.
# Sourced by deploy/local/services.
MQTT_PORT="${ZW_MQTT_PORT:-1883}"
MQTT_PATTERN="mosquitto -c $ZW_RUN/conf/mosquitto.conf"

mosquitto_install() {
    command -v mosquitto >/dev/null 2>&1 || [[ -x /usr/sbin/mosquitto ]] \
        || apt_install mosquitto mosquitto-clients
}

mosquitto_health() {
    # A broker answers CONNECT with CONNACK (0x20 0x02 …, return code 0).
    "$PY" - "$MQTT_PORT" <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
cid = b"zw-health"
var = b"\x00\x04MQTT\x04\x02\x00\x0a" + len(cid).to_bytes(2, "big") + cid
s.sendall(bytes([0x10, len(var)]) + var)
r = s.recv(4)
s.sendall(b"\xe0\x00")  # DISCONNECT
sys.exit(0 if r[:2] == b"\x20\x02" and r[3] == 0 else 1)
PY
}

# mosquitto_timeout: seconds to wait for health. The broker answers only once it has
# read its persisted sessions and their queues: about 17 s per GiB here.
mosquitto_timeout() {
    local db="$ZW_RUN/mosquitto/mosquitto.db" mib=0
    [[ -f "$db" ]] && mib=$(( $(stat -c %s "$db") / 1048576 ))
    (( mib >= 100 )) && say "mosquitto restores $mib MiB of persisted sessions first ($db)"
    echo $(( 15 + mib / 8 ))
}

mosquitto_start() {
    local data="$ZW_RUN/mosquitto" conf="$ZW_RUN/conf/mosquitto.conf" bin
    mkdir -p "$data"
    render "$DEPLOY_DIR/mosquitto/mosquitto.conf" "$conf" \
        PORT="$MQTT_PORT" DATA="$data" USER="$(id -un)" LOG="$ZW_RUN/logs/mosquitto.log"
    bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
    spawn mosquitto "$ZW_RUN/logs/mosquitto.log" "$bin" -c "$conf"
}

mosquitto_stop() { stop_pid mosquitto "$MQTT_PATTERN"; }
