#!/bin/sh
# The image's entrypoint: `zonewatch "$@"`, after turning secret files into the environment.
#
# zonewatch reads its settings from ZW_* variables only. Docker/Compose secrets arrive as
# files under /run/secrets/; a file named like a variable (/run/secrets/ZW_INFLUX_TOKEN,
# /run/secrets/ZW_MQTT_PASSWORD) becomes that variable, unless it is already set, so the
# secret never has to be written into a compose file or an env file. Trailing newlines are
# dropped. Nothing is printed: the values are secrets.
set -eu
secrets_dir=/run/secrets
if [ -d "$secrets_dir" ]; then
    for file in "$secrets_dir"/ZW_*; do
        [ -f "$file" ] || continue
        name=${file##*/}
        case $name in *[!A-Z0-9_]*) continue ;; esac
        eval "already=\${$name:-}"
        [ -n "$already" ] && continue
        value=$(cat "$file")
        export "$name=$value"
    done
fi
exec zonewatch "$@"
