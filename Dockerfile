# triwarn: one image for every service of docker-compose.yml and docker-compose.coalition.yml (brokers, nodes,
# fusion, edges, consoles).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NUMBA_CACHE_DIR=/var/cache/triwarn/numba \
    OMP_WAIT_POLICY=PASSIVE

# Mosquitto for the coalition's brokers (docker-compose.coalition.yml runs them with `triwarn broker --config`)
RUN apt-get update \
    && apt-get install -y --no-install-recommends mosquitto \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY triwarn ./triwarn
COPY core ./core
COPY sensors ./sensors
COPY services ./services
COPY scenarios ./scenarios
COPY analysis ./analysis
COPY benches ./benches
RUN pip install . \
    && useradd --system --uid 10001 --create-home triwarn \
    && mkdir -p /var/cache/triwarn/numba /var/lib/triwarn /pki /brokers \
    && chown -R triwarn /var/cache/triwarn /var/lib/triwarn /pki /brokers

USER triwarn
WORKDIR /var/lib/triwarn
# Compile the numba kernels once at build time, so containers start in seconds (the cache ships in the image).
RUN python -c "from triwarn.cli.warmup import warm_up; print(f'kernels compiled in {warm_up(\"demo\", 1):.0f} s')"

ENTRYPOINT ["triwarn"]
CMD ["--help"]
