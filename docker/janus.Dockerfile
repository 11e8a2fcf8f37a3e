# Janus (Debian's package) for Session Companion's rooms: VideoRoom over WebSockets only, its
# configuration written at start from JANUS_* variables by the product's own writer
# (server/media/janus_conf.py), so no secret is ever baked into the image.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends janus janus-tools python3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10002 --home-dir /var/lib/janus --shell /usr/sbin/nologin janus-run \
    && mkdir -p /run/janus /var/lib/janus/recordings \
    && chown janus-run /run/janus /var/lib/janus/recordings
COPY server/media/janus_conf.py /usr/local/lib/janus_conf.py
USER janus-run
EXPOSE 8188
CMD ["python3", "/usr/local/lib/janus_conf.py", "/run/janus"]
