# syntax=docker/dockerfile:1
# One Switchboard node. Every setting comes from the environment (SWITCHBOARD_*,
# docs/operations.md); the image holds no configuration and no secret.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The wheels of every dependency (uvloop, httptools, hiredis, msgspec, Pillow)
# are prebuilt for this base: no compiler in the image.
COPY pyproject.toml README.md ./
COPY server/ ./server/
COPY widget/ ./widget/
RUN pip install --no-cache-dir . \
    && python -c "import uvloop, httptools, PIL.Image, switchboard.cli" \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin switchboard \
    && mkdir -p /data \
    && chown 10001:10001 /data \
    && chmod 700 /data

# Listen on every interface of the container. The image has no PostgreSQL
# binaries (kept slim; the database runs in its own container): give it both
# SWITCHBOARD_REDIS_URL and SWITCHBOARD_DATABASE_URL (docker-compose.yml does).
# /data keeps the signing secret (mode 600) when SWITCHBOARD_SECRET is unset.
ENV SWITCHBOARD_HOST=0.0.0.0 \
    SWITCHBOARD_PORT=8000 \
    SWITCHBOARD_DATA_DIR=/data
VOLUME ["/data"]

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('SWITCHBOARD_PORT', '8000') + '/healthz', timeout=2)"]
# SIGTERM drains: sockets are closed with 1001 and clients resume on another node.
STOPSIGNAL SIGTERM
CMD ["switchboard", "serve"]
