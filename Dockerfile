# syntax=docker/dockerfile:1.7
# madoguchi container image: one image for every role (web, worker, beat, migrations).
#
#   docker build -t madoguchi:0.1.0 .
#
# Stage 1 installs madoguchi and its dependencies into a virtual environment and collects
# the static files; stage 2 copies only that environment onto a clean base: no compiler,
# no pip, no source tree, a non-root user, and a root filesystem that may be read-only.
# The base is pinned to an exact release (both stages: change them together); a release
# pipeline pins its digest too (docs/deploy.md).

FROM python:3.11.14-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Dependencies first (a layer that changes only with pyproject.toml), then the code.
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv --without-pip /opt/madoguchi \
    && pip --python /opt/madoguchi/bin/python install --no-cache-dir --no-compile . \
    && /opt/madoguchi/bin/python -m compileall -q /opt/madoguchi/lib
# collectstatic at build time, with throw-away settings (nothing of them stays in the image).
RUN SECRET_KEY=collectstatic-only \
    MADOGUCHI_VAR_DIR=/tmp/build-var \
    STATIC_ROOT=/opt/static \
    /opt/madoguchi/bin/madoguchi collectstatic --noinput -v 0 \
    && rm -rf /tmp/build-var

FROM python:3.11.14-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="madoguchi" \
      org.opencontainers.image.description="窓口 — a municipality's administrative procedures online" \
      org.opencontainers.image.licenses="EUPL-1.2"
# The font every PDF embeds (madoguchi.core.pdf_font): IPAmj明朝, JIS X 0213 and 𠮷 U+20BB7.
# No pip, setuptools or wheel at run time (the venv has none either).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-ipamj-mincho=005.01-2.1 \
    && rm -rf /var/lib/apt/lists/* \
    && (python -m pip uninstall --yes --no-cache-dir pip setuptools wheel >/dev/null 2>&1 || true) \
    && groupadd --system --gid 10001 madoguchi \
    && useradd --system --uid 10001 --gid madoguchi --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin madoguchi \
    && mkdir -p /var/lib/madoguchi \
    && chown 10001:10001 /var/lib/madoguchi
COPY --from=build /opt/madoguchi /opt/madoguchi
COPY --from=build /opt/static /opt/static
ENV PATH=/opt/madoguchi/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=madoguchi.settings \
    STATIC_ROOT=/opt/static \
    MADOGUCHI_VAR_DIR=/var/lib/madoguchi \
    LOG_FORMAT=json \
    MADOGUCHI_DEV_TOOLS=0 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
WORKDIR /var/lib/madoguchi
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# The web role; the worker, beat and migration commands are given by the orchestrator
# (deploy/kubernetes): `celery -A madoguchi worker`, `celery -A madoguchi beat`,
# `madoguchi migrate --noinput`.
CMD ["gunicorn", "--config", "python:madoguchi.ops.gunicorn_conf", "madoguchi.wsgi"]
