# PixelsCleared sidecar image.
#   docker build -t pixelscleared .
#   docker run -p 8080:8080 -v $PWD/config.yaml:/etc/pixelscleared/config.yaml:ro \
#     -e TIKTOK_ACCESS_TOKEN=... pixelscleared
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
COPY addon ./addon
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.12-slim
RUN groupadd --system --gid 10001 pixelscleared \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/pixelscleared --create-home pixelscleared
COPY --from=build /install /usr/local
COPY addon /opt/pixelscleared/addon
COPY config.example.yaml /etc/pixelscleared/config.yaml
USER 10001:10001
WORKDIR /var/lib/pixelscleared
# The outbox (SQLite) lives here: mount a volume so queued events survive restarts.
VOLUME ["/var/lib/pixelscleared"]
EXPOSE 8080
# Follows the config's listen.port and prefix (the same file `run` reads); `--ready` would also
# check the origin, the outbox and the deliverer.
HEALTHCHECK --interval=15s --timeout=5s CMD ["pixelscleared", "health", "-c", "/etc/pixelscleared/config.yaml"]
ENTRYPOINT ["pixelscleared"]
CMD ["run", "-c", "/etc/pixelscleared/config.yaml"]
