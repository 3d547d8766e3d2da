# Prometheus and Alertmanager (Debian packages), run with our own configs.
# Debian may run its own instances on 9090/9093: we never use those.
# Sourced by deploy/local/services.
PROMETHEUS_PORT="${ZW_PROMETHEUS_PORT:-9090}"
ALERTMANAGER_PORT="${ZW_ALERTMANAGER_PORT:-9093}"
PROMETHEUS_PATTERN="prometheus --config.file=$ZW_RUN/conf/prometheus.yml"
ALERTMANAGER_PATTERN="alertmanager --config.file=$ZW_RUN/conf/alertmanager.yml"

prometheus_install() { [[ -x /usr/bin/prometheus ]] || apt_install prometheus; }
alertmanager_install() { [[ -x /usr/bin/prometheus-alertmanager ]] || apt_install prometheus-alertmanager; }

prometheus_health() { http_ok "http://127.0.0.1:$PROMETHEUS_PORT/-/healthy"; }
alertmanager_health() { http_ok "http://127.0.0.1:$ALERTMANAGER_PORT/-/healthy"; }

prometheus_start() {
    local conf="$ZW_RUN/conf/prometheus.yml"
    mkdir -p "$ZW_RUN/prometheus"
    render "$DEPLOY_DIR/prometheus/prometheus.yml" "$conf" DEPLOY_DIR="$DEPLOY_DIR" \
        PROMETHEUS_PORT="$PROMETHEUS_PORT" ALERTMANAGER_PORT="$ALERTMANAGER_PORT" \
        WEB_PORT="${ZW_WEB_PORT:-6066}" INGEST_METRICS_PORT="${ZW_INGEST_METRICS_PORT:-9108}" \
        INFLUX_PORT="${ZW_INFLUX_PORT:-8086}"
    spawn prometheus "$ZW_RUN/logs/prometheus.log" /usr/bin/prometheus \
        --config.file="$conf" --storage.tsdb.path="$ZW_RUN/prometheus" \
        --storage.tsdb.retention.time=2d --web.enable-lifecycle \
        --web.listen-address="127.0.0.1:$PROMETHEUS_PORT"
}

alertmanager_start() {
    local conf="$ZW_RUN/conf/alertmanager.yml"
    mkdir -p "$ZW_RUN/alertmanager"
    render "$DEPLOY_DIR/alertmanager/alertmanager.yml" "$conf" \
        WEBHOOK_PORT="${ZW_AM_WEBHOOK_PORT:-9097}"
    # --cluster.listen-address= (empty) turns gossip off: no port 9094.
    spawn alertmanager "$ZW_RUN/logs/alertmanager.log" /usr/bin/prometheus-alertmanager \
        --config.file="$conf" --storage.path="$ZW_RUN/alertmanager" \
        --web.listen-address="127.0.0.1:$ALERTMANAGER_PORT" --cluster.listen-address=
}

prometheus_stop() { stop_pid prometheus "$PROMETHEUS_PATTERN"; }
alertmanager_stop() { stop_pid alertmanager "$ALERTMANAGER_PATTERN"; }
