# The BrightPath model service and its worker: one image (CONTRACTS §8; docker-compose.yml runs both).
#
#   docker build -t brightpath .
#   docker run -p 127.0.0.1:8001:8001 -v brightpath-data:/data brightpath                  # the service
#   docker run -v brightpath-data:/data brightpath python -m serving.worker                  # a worker
#
# The environment is installed exactly as CI installs it (.ci/run -> scripts/bootstrap.sh): a virtual
# environment in /app/.venv synced from requirements/lock.txt with hashes, then this project in editable
# mode. That script needs the whole checkout, so it runs after `COPY . .` (a source change rebuilds the
# environment layer: identical installs were chosen over layer caching). No Docker engine is available
# where this project is developed, so the image is not built in CI.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/app/.venv/bin:$PATH \
    TF_CPP_MIN_LOG_LEVEL=2 \
    BRIGHTPATH_HOME=/data \
    BRIGHTPATH_SERVICE_HOST=0.0.0.0 \
    BRIGHTPATH_SERVICE_PORT=8001

RUN groupadd --gid 10001 brightpath \
    && useradd --uid 10001 --gid brightpath --create-home --shell /usr/sbin/nologin brightpath \
    && mkdir -p /app /data \
    && chown brightpath:brightpath /app /data

WORKDIR /app
USER brightpath

COPY --chown=brightpath:brightpath . .
RUN PYTHON=python3.11 bash scripts/bootstrap.sh

VOLUME ["/data"]
EXPOSE 8001

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8001/healthz', timeout=4)"]

CMD ["python", "-m", "serving"]
