# One image holds every program (crm-service, erp-service, bridge, bridgectl);
# docker-compose.yml runs each in its own container with its own volume.
#
#   docker build -t crm-erp .
#
# Stage 1 builds on Debian 12 with the -dev packages of scripts/deps.sh;
# stage 2 is Debian 12 slim with only the shared libraries the programs load,
# curl for the health checks and sqlite3 for backups.

FROM debian:bookworm AS build

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential pkg-config libzmq3-dev libsqlite3-dev libcjson-dev \
        uuid-dev libmicrohttpd-dev libsodium-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# `-o deps-check`: the image installs its build dependencies above; the
# Makefile's deps-check would also want the test tools (cmocka, pytest…).
RUN make -o deps-check all \
 && test -x bin/crm-service && test -x bin/erp-service \
 && test -x bin/bridge && test -x bin/bridgectl


FROM debian:bookworm-slim

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libzmq5 libsqlite3-0 libcjson1 libuuid1 libmicrohttpd12 libsodium23 libcurl4 \
        curl sqlite3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home app \
 && mkdir -p /data /curve/crm /curve/erp /curve/bridge \
 && chown app:app /data /curve /curve/crm /curve/erp /curve/bridge \
 && chmod 0700 /data /curve/crm /curve/erp /curve/bridge

COPY --from=build /src/bin/ /usr/local/bin/
# The compose file's curve-init service: the CURVE certificates on first
# start (executable in git, and COPY keeps the mode).
COPY --from=build /src/scripts/curve-init.sh /usr/local/bin/curve-init

# A fresh named volume takes this folder's owner and mode (/curve/<name>
# too: the certificate volumes of docker-compose.yml).
VOLUME /data
WORKDIR /data
USER app

# Which program runs is the compose service's command, e.g.
#   crm-service --data-dir /data
CMD ["crm-service", "--data-dir", "/data"]
