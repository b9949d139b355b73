# One image for web, beat, the CPU worker and the GPU worker.
# TORCH_INDEX selects the wheel: the CPU index by default (no CUDA package is
# downloaded); build the GPU image with
#   docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .
# Two stages: the build stage installs the dependencies into /opt/venv and
# converts multilingual-e5-small; the final stage copies those two directories,
# the source, the compiled translations and the collected static files, and no
# pip cache or build tool.

FROM python:3.11-slim-bookworm AS build
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH TAGGER_ENCODERS_DIR=/opt/encoders
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY tagger tagger
COPY annotation annotation
COPY training training
# torch first from its own index, so resolving the project finds it satisfied.
RUN pip install "torch==${TORCH_VERSION}" --index-url "$TORCH_INDEX" \
    && pip install . \
    && python -m training.ml.e5_convert

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH \
    TAGGER_VAR_DIR=/data HF_HUB_OFFLINE=1 TAGGER_ENCODERS_DIR=/opt/encoders \
    TAGGER_STATIC_ROOT=/app/staticfiles TAGGER_STATIC_FINDERS=false
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 tagger && mkdir -p /data && chown tagger /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/encoders /opt/encoders
WORKDIR /app
COPY . .
# Translations and static files are built into the image: a web container
# serves the collected, compressed files (WhiteNoise) and needs nothing at start.
RUN pybabel compile --domain django --directory locale --use-fuzzy \
    && SECRET_KEY=collectstatic-only TAGGER_VAR_DIR=/tmp/build-var \
       python manage.py collectstatic --noinput -v 0 \
    && rm -rf /tmp/build-var
USER tagger
EXPOSE 8000
# The web's probe; compose gives the worker and beat services their own.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "tagger.healthcheck", "web"]
CMD ["gunicorn", "-c", "python:tagger.gunicorn_conf", "tagger.wsgi:application"]
