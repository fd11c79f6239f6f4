# One image for every process: `jitsi-bot serve`, `jitsi-bot worker`, `jitsi-bot emulator`.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY infra ./infra
# The emulator extra is only needed by the demo profile; it is small enough to ship.
RUN pip install '.[emulator]' && useradd --system --uid 10001 jitsi
USER jitsi
ENTRYPOINT ["jitsi-bot"]
CMD ["--help"]
