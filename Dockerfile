# syntax=docker/dockerfile:1
# dcc-gateway container: multi-stage build; dependencies cached in their own layer.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# 1. Dependency layer: only the manifests, with stub sources, so source edits keep it cached.
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
# The one patched dependency (vendor/oxjsonld/PATCH.md).
COPY vendor ./vendor
RUN mkdir -p src benches load-tests \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && echo 'fn main() {}' > benches/verify.rs \
 && echo 'fn main() {}' > benches/ingest.rs \
 && echo 'fn main() {}' > benches/rules.rs \
 && echo 'fn main() {}' > benches/revocation.rs \
 && echo 'fn main() {}' > load-tests/corpus.rs \
 && echo 'fn main() {}' > load-tests/ratio.rs \
 && echo 'fn main() {}' > load-tests/qr_corpus.rs \
 && cargo build --release --locked \
 && rm -rf src benches load-tests
# 2. Source layer.
COPY src ./src
COPY benches ./benches
COPY load-tests/corpus.rs load-tests/ratio.rs load-tests/qr_corpus.rs ./load-tests/
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin dcc-gateway

FROM debian:bookworm-slim
# CA roots for HTTPS trust-list upstreams (rustls reads the system store).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 dccgw \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/dcc-gateway --create-home dccgw \
 && mkdir -p /var/lib/dcc-gateway/data \
 && chown -R dccgw:dccgw /var/lib/dcc-gateway
COPY --from=build /src/target/release/dcc-gateway /usr/local/bin/dcc-gateway
COPY trust-lists /etc/dcc-gateway/trust-lists
USER 10001:10001
WORKDIR /var/lib/dcc-gateway
# Configuration through the environment (see README "Configuration"); REDIS_URL enables Redis.
ENV DCCGW_BIND=0.0.0.0:8080 \
    DCCGW_DATA_DIR=/var/lib/dcc-gateway/data \
    DCCGW_TRUST_DIR=/etc/dcc-gateway/trust-lists \
    DCCGW_LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/var/lib/dcc-gateway/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["dcc-gateway", "healthcheck"]
ENTRYPOINT ["dcc-gateway"]
CMD ["serve"]
