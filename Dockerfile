# syntax=docker/dockerfile:1
# The Vigil image: one image, two processes (`agent`, `aggregator`), chosen by the first argument.
#   docker build -t ghcr.io/vigil-aiops/vigil:$(node -p "require('./package.json').version") .
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step: the image holds
# the production dependencies and the source.

# Stage 1: production dependencies. The full image has python3, make and g++ in case a native module (lmdb,
# msgpackr-extract) finds no prebuilt binary; the slim runtime below does not need them.
FROM node:24 AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev leaves out the `node` npm package (the devDependency that pins Node 24 for npm scripts on
# machines with an older Node); in the image the base image's Node 24 runs Vigil.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Stage 2: runtime.
FROM node:24-slim
LABEL org.opencontainers.image.title="vigil" \
      org.opencontainers.image.description="Vigil: AIOps for Kubernetes (agent and aggregator)" \
      org.opencontainers.image.source="https://github.com/vigil-aiops/vigil" \
      org.opencontainers.image.licenses="Apache-2.0"
# NODE_COMPILE_CACHE: modules found in Node's compile cache are not type-stripped again, so no isolate loads the
# WebAssembly stripper, which would keep ≈ 12-18 MiB per thread for good (scripts/warm-compile-cache.ts).
ENV NODE_ENV=production \
    NODE_COMPILE_CACHE=/app/.node-compile-cache
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# Source owned by root and not writable by the runtime user; .dockerignore keeps tests, benchmarks, docs,
# the chart and local state out.
COPY . .
# Warm it with every module the processes load (worker threads' included). Root-owned and read-only at run time:
# a module missing from it is stripped as before.
RUN node scripts/warm-compile-cache.ts "$NODE_COMPILE_CACHE"
# Non-root by default (uid 1000). The chart runs the agent as uid 0 with every capability dropped except
# DAC_READ_SEARCH and SYS_PTRACE, because Kubernetes grants added capabilities to uid 0 only.
USER node
# agent: HTTP 9100; aggregator: gRPC 7400 and HTTP 9100.
EXPOSE 7400 9100
ENTRYPOINT ["node", "cli/main.ts"]
CMD ["--help"]
