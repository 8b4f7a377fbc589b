# syntax=docker/dockerfile:1
# The defi-sync CLI as an image: `docker run IMAGE sync-pools`, or `args: [sync-pools]` in
# Kubernetes. Node is the entrypoint itself (no shell), so SIGTERM reaches the program, which
# stops cleanly and exits 143. Nothing is written outside /tmp: it runs with a read-only root.
# It holds what a job needs and nothing else: no TypeScript, no dev dependencies, no offline
# replica, no embedded PostgreSQL (an optional dependency for laptops), so DATABASE_URL is required.
#
#   make image    # docker or podman; builds a local Node base when NODE_IMAGE cannot be pulled
#   docker build -t defi-sync:$(node -p 'require("./package.json").version') \
#     --build-arg VERSION=$(node -p 'require("./package.json").version') --build-arg REVISION=$(git rev-parse HEAD) .

ARG NODE_IMAGE=node:24-trixie-slim
# The runtime stage's base: the same Node, optionally without npm (scripts/image.sh's local base).
ARG RUNTIME_IMAGE=${NODE_IMAGE}

# Build: every dependency, the TypeScript compiler, the compiled output in dist/.
FROM ${NODE_IMAGE} AS build
# Extra certificate authorities for npm behind a TLS-inspecting proxy: a file scripts/image.sh
# mounts for the build only. Unset (the default), Node's own CAs apply; no layer keeps it.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=optional --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only, apart from the build so no dev dependency can leak in; without
# the optional ones, so no PostgreSQL server binaries either.
FROM ${NODE_IMAGE} AS prod-deps
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
COPY package.json package-lock.json ./
# Type declarations, TypeScript sources, source maps, docs and native prebuilds for other platforms
# are never loaded: more than half the size.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force \
 && find node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -name '*.md' \) -delete \
 && find node_modules -type d -path '*/prebuilds/*' ! -name "$(node -p 'process.platform + "-" + process.arch')" -prune -exec rm -r {} +

FROM ${RUNTIME_IMAGE} AS runtime
# A fixed uid/gid, the one the Helm chart's security contexts name; HOME in the writable /tmp.
RUN groupadd --system --gid 10001 defi-sync \
 && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
      --shell /usr/sbin/nologin defi-sync
ENV NODE_ENV=production \
    HOME=/tmp
WORKDIR /app
# Owned by root and read-only to the program's user.
COPY --from=prod-deps /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY package.json ./
COPY database ./database
USER 10001:10001
# Last, so a new revision or date rebuilds nothing above.
ARG RUNTIME_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="defi-sync" \
      org.opencontainers.image.description="Keeps a PostgreSQL warehouse of DeFiLlama protocols, yield pools, chains, contract addresses and their daily history." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"
ENTRYPOINT ["node", "/app/dist/src/bin.js"]
CMD ["--help"]
