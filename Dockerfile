# dbreview: the GitHub Action image and the `dbreview` CLI in a container.
# Two stages: the build stage installs the package into a virtualenv, the final stage copies only that virtualenv.
FROM python:3.11.13-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY rules ./rules
COPY prompts ./prompts
RUN python -m venv /opt/dbreview \
    && /opt/dbreview/bin/pip install --no-cache-dir ".[all]" \
    && /opt/dbreview/bin/dbreview --help > /dev/null

FROM python:3.11.13-slim-bookworm

LABEL org.opencontainers.image.title="dbreview" \
      org.opencontainers.image.description="Pull-request review for Prisma schema, migrations and Prisma Client code" \
      org.opencontainers.image.licenses="GPL-3.0-or-later"

COPY --from=build /opt/dbreview /opt/dbreview

ENV PATH=/opt/dbreview/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# Non-root. UID 1001 is the runner user on GitHub-hosted runners, so the files Actions mounts into a container
# action (event payload, GITHUB_STEP_SUMMARY) stay readable and writable without running as root.
RUN useradd --create-home --uid 1001 --shell /usr/sbin/nologin dbreview
USER 1001
WORKDIR /home/dbreview

ENTRYPOINT ["dbreview"]
CMD ["--help"]
