# syntax=docker/dockerfile:1
#
# The `attiva` server image.
#
#   docker build -t attiva .            (BuildKit, the default builder)
#   docker compose up                   (api + PostgreSQL + mail catcher)
#
# Two stages: a Rust toolchain builds the release binary, and a slim
# Debian image runs it as a non-root user. Every setting is an environment
# variable (api/src/settings.rs); this image sets only the two that differ
# inside a container. tests/tests/e2e/compose.rs checks this file against
# docker-compose.yml and the server's settings.

# ---- build ------------------------------------------------------------------
FROM rust:1.95-bookworm AS builder
WORKDIR /src

# The whole workspace (filtered by .dockerignore). Dependencies are cached
# across builds by the cache mounts below, not by image layers: with six
# workspace crates, a "manifests first" layer would need stub sources for
# each of them. The cached target/ lives only in the cache mount, so the
# binary is copied out of it in the same step.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin attiva \
    && install -D -m 0755 target/release/attiva /out/attiva

# ---- run --------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# CA certificates for TLS to a managed database (and, later, SMTP).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# A fixed, unprivileged user; /app/data is where the default SQLite database
# (DATABASE_URL=sqlite://data/attiva.db) goes, so it must be writable.
RUN groupadd --system --gid 10001 attiva \
    && useradd --system --uid 10001 --gid attiva --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin attiva \
    && mkdir -p /app/data \
    && chown attiva:attiva /app/data

WORKDIR /app
COPY --from=builder /out/attiva /usr/local/bin/attiva
COPY catalog/ /app/catalog/

# Listen on every interface (the server's default, 127.0.0.1, is unreachable
# from outside the container) and find the catalog where it was copied.
ENV ATTIVA_BIND=0.0.0.0:8080 \
    ATTIVA_CATALOG=/app/catalog/catalog.toml

USER attiva:attiva
EXPOSE 8080

# Readiness (the database answers) over bash's /dev/tcp: the slim image has
# no curl. The port follows ATTIVA_BIND.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${ATTIVA_BIND##*:} && printf 'GET /health/ready HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

# The server drains in-flight requests on SIGTERM (ATTIVA_SHUTDOWN_TIMEOUT_SECS).
# Exec form: the binary is PID 1 and receives the signal itself.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/attiva"]
CMD ["serve"]
