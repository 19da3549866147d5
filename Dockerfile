# syntax=docker/dockerfile:1
# Shipshape image: the compiled server on Node.js 24, production dependencies only, running as
# uid 1000 on a read-only root filesystem. The base is a build argument so it can be pinned by
# digest, or replaced by a local stand-in where public registries are out of reach.
ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim

# Production dependencies alone, in their own stage: this layer only changes with the lockfile.
# better-sqlite3 ships its C sources and a binary for every platform (25 MB); keep only the
# binary this platform loads, and prove it loads.
FROM ${NODE_IMAGE} AS dependencies
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --omit=dev --no-audit --no-fund \
 && binary="$(node -p 'process.platform + "-" + process.arch').node" \
 && rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src \
 && find node_modules/better-sqlite3/prebuilds -type f ! -name "$binary" -delete \
 && node -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"

# Everything needed to compile the TypeScript sources.
FROM ${NODE_IMAGE} AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts/build ./scripts/build
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
# MALLOC_ARENA_MAX: glibc gives every thread that allocates (V8's compiler and GC helpers,
# libuv's pool, the SQLite reader threads) an arena of its own, which keeps freed memory
# resident (bench/README.md, "Start-up and memory"). The server sets two arenas itself by
# starting again in place when the variable is unset (src/malloc-arenas.ts); set here, it
# starts once.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    MALLOC_ARENA_MAX=2
WORKDIR /app
# Files stay owned by root: the process can read its code but never change it. Only /data
# (the embedded SQLite file, when no DATABASE_URL is set) belongs to the runtime user; mount a
# volume or tmpfs there when the root filesystem is read-only.
RUN mkdir -p /data && chown 1000:1000 /data
COPY package.json ./
COPY --from=dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# Per-commit metadata last, so a new commit reuses every layer above from the cache. CREATED is
# the commit's time (SOURCE_DATE_EPOCH, see scripts/ci/build-image.sh), never the clock's: one
# commit builds one digest, which a release tag then names instead of building again.
ARG GIT_SHA=unknown
ARG APP_VERSION=0.0.0-dev
ARG CREATED=1970-01-01T00:00:00Z
ARG SOURCE_URL=unknown
LABEL org.opencontainers.image.title="shipshape" \
      org.opencontainers.image.description="The RealWorld Conduit API and web app" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.revision="${GIT_SHA}" \
      org.opencontainers.image.version="${APP_VERSION}" \
      org.opencontainers.image.created="${CREATED}"
ENV GIT_SHA=${GIT_SHA} \
    APP_VERSION=${APP_VERSION}
USER 1000:1000
EXPOSE 3000
# Node itself is PID 1 and handles SIGTERM (graceful drain); no npm or shell in between.
CMD ["node", "dist/server.js"]
