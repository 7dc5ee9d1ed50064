# bridgebot: a slim, non-root image. Build: docker build -t bridgebot .
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY schedules ./schedules
COPY migrations ./migrations
COPY bench ./bench
RUN python -m venv /opt/bridgebot \
    && /opt/bridgebot/bin/pip install --no-cache-dir --upgrade pip \
    && /opt/bridgebot/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 bridgebot
COPY --from=build /opt/bridgebot /opt/bridgebot
WORKDIR /home/bridgebot
USER bridgebot
ENV PATH="/opt/bridgebot/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    BRIDGEBOT_HOST=0.0.0.0 \
    BRIDGEBOT_PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status == 200 else 1)"
CMD ["bridgebot", "run"]
