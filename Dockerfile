# syntax=docker/dockerfile:1
# The defi-sync CLI as an image: `docker run IMAGE sync-pools`, or `args: [sync-pools]` in
# Kubernetes. Node is the entrypoint itself (no shell), so SIGTERM reaches the program, which
# stops cleanly and exits 143. Nothing is written outside /tmp: it runs with a read-only root.
#
#   docker build -t defi-sync --build-arg VERSION=$(node -p 'require("./package.json").version') \
#     --build-arg REVISION=$(git rev-parse HEAD) .
#
# scripts/image-smoke.sh reproduces the build and runtime stages without Docker.

ARG NODE_IMAGE=node:24-trixie-slim

# Build: every dependency, the TypeScript compiler, the compiled output in dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# Production dependencies only, apart from the build so no dev dependency can leak in.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="defi-sync" \
      org.opencontainers.image.description="Keeps a PostgreSQL warehouse of DeFiLlama protocols, yield pools, chains, contract addresses and their daily history." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}"
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
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["--help"]
