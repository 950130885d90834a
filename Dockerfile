# The BFF as a small, non-root image. Build: docker build -t genesys-messaging-bff .
# Run:   docker run --rm -p 8080:8080 --env-file .env genesys-messaging-bff

# ---- build: compile TypeScript with the full toolchain ----------------------
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The browser client is a workspace with dependencies of its own (Markdown), compiled by `npm run build`.
COPY client/package.json client/package.json
RUN npm ci --no-audit --no-fund
# Sources only (.dockerignore keeps out node_modules, dist, tests, .env, .git).
# The build also compiles the dev-only simulator when present; it is not shipped.
COPY . .
RUN npm run build

# ---- demo: the embedded default (service + Genesys simulator + demo page) ----
# Development only: keeps the dev toolchain and dist/simulator. Used by
# docker-compose.demo.yml (`docker build --target demo .`); never deploy it.
FROM build AS demo
ENV NODE_ENV=development HOST=0.0.0.0 METRICS_PORT=9464
USER node
EXPOSE 8080 3000 9464
CMD ["node", "dist/src/main.js"]

# ---- runtime: production dependencies and compiled service only --------------
# The last stage, so a plain `docker build .` produces this image.
FROM node:22-bookworm-slim AS runtime
# Prometheus metrics on their own port, never the public one, on every interface of the container so a
# scraper on the container network reaches them (docs/operations.md); publish or expose the port to it only.
ENV NODE_ENV=production METRICS_PORT=9464 METRICS_HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
    && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
# What the service takes from the browser client: the transcript's layout and locale (client/src/transcriptLayout.ts,
# transcriptLocale.ts) and the word catalogues the locale reads, compiled with the service to dist/client/src/ and
# required from dist/src/ by relative path.
COPY --from=build /app/dist/client ./dist/client

# Files stay root-owned and read-only to the service user.
USER node
EXPOSE 8080 9464
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 and handles SIGTERM itself (graceful drain); no npm wrapper.
CMD ["node", "dist/src/main.js"]
