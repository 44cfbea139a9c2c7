# triwarn: one image for every service of docker-compose.yml (nodes, fusion, subscriber).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NUMBA_CACHE_DIR=/var/cache/triwarn/numba \
    OMP_WAIT_POLICY=PASSIVE

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
    && mkdir -p /var/cache/triwarn/numba /var/lib/triwarn \
    && chown -R triwarn /var/cache/triwarn /var/lib/triwarn

USER triwarn
WORKDIR /var/lib/triwarn
# Compile the numba kernels once at build time, so containers start in seconds (the cache ships in the image).
RUN python -c "from triwarn.cli.warmup import warm_up; print(f'kernels compiled in {warm_up(\"demo\", 1):.0f} s')"

ENTRYPOINT ["triwarn"]
CMD ["--help"]
