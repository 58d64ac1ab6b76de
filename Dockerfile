# syntax=docker/dockerfile:1
# One image recipe for all four services; pick one with --build-arg SERVICE=<name>, e.g.
#   docker build --build-arg SERVICE=logging-service --build-arg PORT=3001 -t kafka-core/logging-service:dev .
# docker-compose.yml builds all four this way.

# ---- build: install everything, compile every app and lib, then drop dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app

# Manifests first so the dependency layer is reused while only sources change.
COPY package.json package-lock.json .npmrc ./
RUN npm ci

COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs

# --rootDir . keeps dist/ a mirror of the source tree (dist/apps/<service>/src/main.js, dist/libs/...),
# which is the layout scripts/run-service.js resolves. Pruning here leaves only production packages
# for the runtime stage to copy.
RUN npx tsc -p tsconfig.build.json --rootDir . \
 && npm prune --omit=dev \
 && npm cache clean --force

# ---- runtime: production dependencies and compiled code only, as an unprivileged user ----
FROM node:20-bookworm-slim AS runtime

ARG SERVICE
# The service's default port (monolith 3000, logging-service 3001, analytics-service 3002,
# notification-service 3003); it is baked in so EXPOSE, HEALTHCHECK and the listener agree.
ARG PORT=3000

# Fail the build early on a missing or misspelt service name instead of at container start.
RUN case "$SERVICE" in \
      monolith|logging-service|analytics-service|notification-service) ;; \
      *) echo "build arg SERVICE must be monolith, logging-service, analytics-service or notification-service (got '$SERVICE')" >&2; exit 1 ;; \
    esac

# A fixed uid/gid (not the image's uid 1000 "node") so compose's user: "1001:1001" and volume
# ownership match the files copied below.
RUN groupadd --system --gid 1001 app \
 && useradd --system --uid 1001 --gid app --no-create-home --home-dir /app --shell /usr/sbin/nologin app

WORKDIR /app

COPY --from=build --chown=1001:1001 /app/node_modules ./node_modules
COPY --from=build --chown=1001:1001 /app/dist ./dist
COPY --from=build --chown=1001:1001 /app/package.json ./package.json
COPY --chown=1001:1001 scripts/run-service.js ./scripts/run-service.js

# The embedded database (used only when DATABASE_URL is unset) writes under .data; it is the only
# writable path the service needs.
RUN mkdir -p /app/.data \
 && chown 1001:1001 /app/.data \
 && test -f "dist/apps/$SERVICE/src/main.js"

USER 1001

# HOST=0.0.0.0: a port published from a container reaches only listeners on all interfaces.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=${PORT} \
    SERVICE=${SERVICE}

EXPOSE ${PORT}

# Slim images have neither curl nor wget; Node 20 has fetch built in.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=5 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/ready').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"

# Nest's shutdown hooks drain listeners and the outbox relay on SIGTERM.
STOPSIGNAL SIGTERM

# exec replaces the shell, so node is the process that receives SIGTERM.
CMD ["sh", "-c", "exec node scripts/run-service.js \"$SERVICE\""]
