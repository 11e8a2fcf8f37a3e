# Session Companion: one image for the app (and its workers). Built from the lock file; runs as
# a non-root user; the course log lives in Redis (docker-compose.yml) or in /app/data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH="/app/.venv/bin:$PATH"

RUN pip install --no-cache-dir "uv==0.13.9"

WORKDIR /app
# Dependencies first, from the lock file only: this layer is reused until uv.lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY server ./server
COPY web ./web
COPY scenarios ./scenarios
RUN uv sync --frozen --no-dev \
    && python -m compileall -q server \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin companion \
    && mkdir -p /app/data \
    && chown companion /app/data

USER companion
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
CMD ["companion", "serve", "--host", "0.0.0.0", "--port", "8000"]
