# tanzhang service image: gateway, API (with scheduler), simulators. One image, several commands.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY tanzhang ./tanzhang
COPY sitetime ./sitetime
COPY mqttlink ./mqttlink
COPY gateway ./gateway
COPY telemetry ./telemetry
COPY accounting ./accounting
COPY ledger ./ledger
COPY access ./access
COPY api ./api
COPY sitetime ./sitetime
COPY dashboards ./dashboards
COPY reports ./reports
COPY simulators ./simulators
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/tanzhang tanzhang \
    && mkdir -p /var/lib/tanzhang && chown tanzhang /var/lib/tanzhang
USER tanzhang
ENV TANZHANG_DATA_DIR=/var/lib/tanzhang
ENTRYPOINT ["tanzhang"]
CMD ["api"]
