# zonewatch: one image for every process (`zonewatch worker`, `zonewatch ingest`,
# `zonewatch registry load FILE`, …). Build from the repository root:
#   docker build -t zonewatch:0.1.0 .
# Deployment: deploy/compose/ (Docker Compose), deploy/k8s/ (Kubernetes); deploy/OPERATIONS.md.

# --- build: the package and its dependencies into a venv (every dependency has a wheel) -----
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY zonewatch ./zonewatch
COPY ingest ./ingest
COPY streams ./streams
COPY alerts ./alerts
COPY schemas ./schemas
RUN python -m venv /opt/zonewatch \
 && /opt/zonewatch/bin/pip install --upgrade pip \
 && /opt/zonewatch/bin/pip install .

# --- run ---------------------------------------------------------------------------------
FROM python:3.11-slim
# tini as PID 1: passes SIGTERM on (zonewatch ingest has no handler of its own, and a PID 1
# without one ignores SIGTERM) and reaps children.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 zonewatch \
 && useradd --system --uid 10001 --gid zonewatch --home-dir /var/lib/zonewatch \
      --shell /usr/sbin/nologin zonewatch \
 && mkdir -p /var/lib/zonewatch /etc/zonewatch /usr/share/zonewatch \
 && chown zonewatch:zonewatch /var/lib/zonewatch
COPY --from=build /opt/zonewatch /opt/zonewatch
COPY deploy/docker/entrypoint.sh /usr/local/bin/zonewatch-entrypoint
COPY deploy/demo/registry.yaml /usr/share/zonewatch/demo-registry.yaml
COPY deploy/routes.example.yaml /usr/share/zonewatch/routes.example.yaml
# In a container the HTTP ports must listen beyond loopback; the Faust data dir is the
# writable home. Everything else comes from the deployment (deploy/OPERATIONS.md).
ENV PATH=/opt/zonewatch/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ZW_WEB_HOST=0.0.0.0 \
    ZW_METRICS_HOST=0.0.0.0 \
    ZW_DATA_DIR=/var/lib/zonewatch
USER 10001:10001
WORKDIR /var/lib/zonewatch
EXPOSE 6066 9108
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/zonewatch-entrypoint"]
CMD ["--help"]
