# DEFMIS Chat: build the server and the site, ship them on Debian slim.
# See docs/deploy.md ("Docker"). Not built on the machine this was written
# on (it has no Docker engine).
#
#   docker build -t defmis-chat .
#   docker run -d --name defmis-chat -p 127.0.0.1:8000:8000 -v defmis-data:/data \
#     --env-file /etc/defmis-chat.env defmis-chat

# Node.js for sass and wasm-opt (npm). Not Debian 12's nodejs 18: the pinned
# sass (1.108.2) needs Node >= 20.19 (its CLI require()s the ES-module-only
# chokidar 5).
FROM node:22-bookworm-slim AS node

FROM rust:1.95-bookworm AS builder
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
WORKDIR /app
# The tools first, in their own layer (cargo-leptos takes ~20 minutes on 2
# cores): install-tools.sh reads only the toolchain file and Cargo.lock.
COPY rust-toolchain.toml Cargo.lock ./
COPY scripts/install-tools.sh scripts/
RUN bash scripts/install-tools.sh
COPY . .
# The widget (public/static/widget/) first: cargo-leptos copies public/ into
# the site.
RUN bash scripts/build-widget.sh \
 && cargo leptos build --release --split

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 defmis \
 && useradd --system --uid 10001 --gid defmis --no-create-home --home-dir /app defmis \
 && mkdir -p /app /data \
 && chown 10001:10001 /data \
 && ln -s /data /app/data
COPY --from=builder /app/target/release/defmis-chat /app/defmis-chat
COPY --from=builder /app/target/site /app/site
# /app/data -> /data: without SECRET_KEY (SQLite only) the generated key is
# kept in ./data/secret_key, i.e. on the volume beside the database.
WORKDIR /app
ENV BIND_ADDR=0.0.0.0:8000 \
    LEPTOS_SITE_ROOT=/app/site \
    DATABASE_URL="sqlite:///data/defmis.db?mode=rwc"
USER 10001:10001
VOLUME /data
EXPOSE 8000
# No HEALTHCHECK: the image has no curl or wget. Orchestrators probe
# GET /readyz (ready: database and Redis reachable) and GET /healthz (alive).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/defmis-chat"]
CMD ["serve"]
