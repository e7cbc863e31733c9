# rollcall service image.
# Two stages on the official Node 24 slim image: `build` installs the locked dependencies and bundles the service
# and the hooks with esbuild (scripts/build.ts); the runtime stage holds only those bundles: /app/server.js (the
# service) and /app/hooks/<name>.js (the Argo CD hook Jobs run `node /app/hooks/smoke.js` and so on). No
# node_modules, no TypeScript at run time: one file to read and compile is what makes the service start fast.
# The runtime is meant to run locked down: numeric non-root user 10001:10001 (the uid/gid the Kubernetes manifests
# use), a read-only root filesystem (code and dependencies are root-owned and not writable by that user), all
# capabilities dropped; the only writable path is the volume at /app/data. See docs/container.md.

# ---- build: the bundles, from exactly the locked dependencies ----
FROM node:24-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
# --ignore-scripts: the image's own Node runs the build, so the `node` devDependency need not fetch another one,
# and esbuild finds its platform binary (@esbuild/linux-x64) without its install script.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY scripts/build.ts ./scripts/
COPY scripts/lib ./scripts/lib
COPY src ./src
# Built at /app, where the runtime stage puts it: the V8 code cache (--compile-cache) is keyed by the file's path.
# Node writes the cache files 0600; the runtime user must be able to read them.
RUN node scripts/build.ts --out /app --compile-cache \
 && chmod -R a+rX /app

# ---- runtime ----
FROM node:24-slim

ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="rollcall" \
      org.opencontainers.image.description="A durable visit counter: counts GET / in a file on its data volume" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="docker.io/library/node:24-slim"

# npm, npx, corepack and yarn are build tools: the runtime needs only node. The data directory belongs to the
# runtime user so a fresh named volume mounted there (which copies the directory's owner and mode) is writable.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && mkdir -p /app/data \
 && chown 10001:10001 /app/data \
 && chmod 0750 /app/data

ENV NODE_ENV=production \
    NODE_COMPILE_CACHE=/app/.compile-cache \
    HOST=0.0.0.0 \
    PORT=5000 \
    DATA_DIR=/app/data

WORKDIR /app
# Root-owned and read-only for the runtime user: server.js, hooks/*.js, a package.json saying they are ES modules,
# and V8's code cache for server.js (NODE_COMPILE_CACHE below: start-up skips compiling what the cache holds).
COPY --from=build /app/ ./

USER 10001:10001
VOLUME ["/app/data"]
EXPOSE 5000

# For plain `docker run`; Kubernetes ignores this and uses the pod's /healthz and /readyz probes.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 5000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Exec form with no entrypoint script (the base image's docker-entrypoint.sh is a shell script): node is PID 1,
# receives SIGTERM from `docker stop` / the kubelet directly, and no shell is needed at run time.
# The Node flags of `npm start` on the bundled entry (test/service-command.test.ts checks): the semi-space cap keeps
# V8's young generation from growing to 128 MiB under load (docs/benchmarks.md, "Memory"); --disable-sigusr1 keeps
# SIGUSR1 from opening the V8 inspector on 127.0.0.1:9229, even before the server's own handler is installed.
ENTRYPOINT []
CMD ["node", "--max-semi-space-size=8", "--disable-sigusr1", "server.js"]
