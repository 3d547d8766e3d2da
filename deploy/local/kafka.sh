# Apache Kafka (KRaft, single node) from Maven Central jars, run with Java 17.
# Sourced by deploy/local/services.
KAFKA_VERSION=3.9.1
KAFKA_PORT="${ZW_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${ZW_KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_LIBS="$ZW_CACHE/kafka-$KAFKA_VERSION/libs"
KAFKA_PATTERN="kafka.Kafka $ZW_RUN/conf/kafka-server.properties"

kafka_java() {
    local j
    for j in "${JAVA_HOME:+$JAVA_HOME/bin/java}" /usr/lib/jvm/java-17-openjdk-*/bin/java "$(command -v java)"; do
        [[ -n "$j" && -x "$j" ]] || continue
        # the JDK's release file names the version without starting a JVM
        grep -qs '^JAVA_VERSION="17' "$(dirname "$(dirname "$(readlink -f "$j")")")/release" \
            || "$j" -version 2>&1 | grep -q 'version "17' || continue
        echo "$j"; return 0
    done
    return 1
}

kafka_install() {
    kafka_java >/dev/null || apt_install openjdk-17-jre-headless
    kafka_java >/dev/null || die "kafka: no Java 17 found (set JAVA_HOME)"
    [[ -f "$KAFKA_LIBS/.complete" ]] && return 0
    command -v mvn >/dev/null || apt_install maven
    rm -rf "$KAFKA_LIBS"; mkdir -p "$KAFKA_LIBS" "$ZW_CACHE/logs"
    run_with_progress "fetching Kafka $KAFKA_VERSION jars from Maven Central" "$ZW_CACHE/logs/kafka-mvn.log" \
        mvn -B -q -f "$DEPLOY_DIR/kafka/pom.xml" dependency:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS"
    ls "$KAFKA_LIBS"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null || die "kafka: jars missing in $KAFKA_LIBS"
    touch "$KAFKA_LIBS/.complete"
}

kafka_health() { "$PY" "$DEPLOY_DIR/local/kafka_metadata.py" "$KAFKA_PORT" 2>/dev/null; }

kafka_start() {
    local data="$ZW_RUN/kafka" conf="$ZW_RUN/conf/kafka-server.properties" java cid
    java=$(kafka_java)
    ensure_port_free kafka-controller "$KAFKA_CONTROLLER_PORT"
    mkdir -p "$data" "$ZW_RUN/logs/kafka"
    render "$DEPLOY_DIR/kafka/server.properties" "$conf" \
        PORT="$KAFKA_PORT" CONTROLLER_PORT="$KAFKA_CONTROLLER_PORT" DATA="$data"
    local jvm=(-Dlog4j.configuration="file:$DEPLOY_DIR/kafka/log4j.properties"
               -Dkafka.logs.dir="$ZW_RUN/logs/kafka" -Djava.awt.headless=true
               -cp "$KAFKA_LIBS/*")
    if [[ ! -f "$data/meta.properties" ]]; then
        cid=$("$java" "${jvm[@]}" kafka.tools.StorageTool random-uuid)
        say "kafka: formatting storage (cluster id $cid)"
        "$java" "${jvm[@]}" kafka.tools.StorageTool format -t "$cid" -c "$conf" \
            >>"$ZW_RUN/logs/kafka.log" 2>&1 || { tail "$ZW_RUN/logs/kafka.log" >&2; die "kafka: storage format failed"; }
    fi
    spawn kafka "$ZW_RUN/logs/kafka.log" "$java" -Xms256m -Xmx512m -XX:+UseG1GC \
        -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError "${jvm[@]}" kafka.Kafka "$conf"
}

kafka_stop() { stop_pid kafka "$KAFKA_PATTERN"; }
