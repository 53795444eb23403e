# One image for all four services; SERVICE picks which one runs (docker-compose.yml sets it).
#
# Base: Node 22 LTS on Debian bookworm-slim, pinned. Node 20 — what the code is tested on — reached its
# end of life in April 2026; 22 is the maintained LTS line nearest to it (security fixes until April
# 2027), and the code only uses APIs both have. bookworm-slim gives glibc for the prebuilt native
# add-ons and the same Debian the CI machines run. Move to 24 when CI runs on 24.
ARG NODE_IMAGE=node:22.23.2-bookworm-slim

# ---- build: compile TypeScript (dev dependencies live only here) ---------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# manifests before sources: the install layer is reused until a package.json or the lock changes
COPY package.json package-lock.json ./
COPY libs/protocol/package.json libs/protocol/
COPY libs/client/package.json libs/client/
COPY libs/config/package.json libs/config/
COPY libs/logger/package.json libs/logger/
COPY libs/bus/package.json libs/bus/
COPY libs/telemetry/package.json libs/telemetry/
COPY libs/testing/package.json libs/testing/
COPY libs/testcontainers/package.json libs/testcontainers/
COPY services/dialogs/package.json services/dialogs/
COPY services/gateway/package.json services/gateway/
COPY services/notifier/package.json services/notifier/
COPY services/mailer/package.json services/mailer/
COPY examples/downstream/package.json examples/downstream/
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.base.json tsconfig.json ./
COPY libs libs
COPY services services
RUN npx tsc -b libs/protocol libs/config libs/logger libs/telemetry libs/bus \
      services/dialogs services/gateway services/notifier services/mailer

# ---- deps: production dependencies of the four services only (no libs/testing, no dev tools) ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/libs/protocol/package.json libs/protocol/
COPY --from=build /app/libs/client/package.json libs/client/
COPY --from=build /app/libs/config/package.json libs/config/
COPY --from=build /app/libs/logger/package.json libs/logger/
COPY --from=build /app/libs/bus/package.json libs/bus/
COPY --from=build /app/libs/telemetry/package.json libs/telemetry/
COPY --from=build /app/libs/testing/package.json libs/testing/
COPY --from=build /app/libs/testcontainers/package.json libs/testcontainers/
COPY --from=build /app/services/dialogs/package.json services/dialogs/
COPY --from=build /app/services/gateway/package.json services/gateway/
COPY --from=build /app/services/notifier/package.json services/notifier/
COPY --from=build /app/services/mailer/package.json services/mailer/
COPY --from=build /app/examples/downstream/package.json examples/downstream/
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
      -w services/gateway -w services/dialogs -w services/notifier -w services/mailer \
    && npm cache clean --force

# ---- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/package.json ./
COPY --from=build /app/libs/protocol/package.json libs/protocol/
COPY --from=build /app/libs/protocol/dist libs/protocol/dist
COPY --from=build /app/libs/config/package.json libs/config/
COPY --from=build /app/libs/config/dist libs/config/dist
COPY --from=build /app/libs/logger/package.json libs/logger/
COPY --from=build /app/libs/logger/dist libs/logger/dist
COPY --from=build /app/libs/bus/package.json libs/bus/
COPY --from=build /app/libs/bus/dist libs/bus/dist
COPY --from=build /app/libs/telemetry/package.json libs/telemetry/
COPY --from=build /app/libs/telemetry/dist libs/telemetry/dist
COPY --from=build /app/services/dialogs/package.json services/dialogs/
COPY --from=build /app/services/dialogs/dist services/dialogs/dist
COPY --from=build /app/services/gateway/package.json services/gateway/
COPY --from=build /app/services/gateway/dist services/gateway/dist
COPY --from=build /app/services/gateway/public services/gateway/public
COPY --from=build /app/services/notifier/package.json services/notifier/
COPY --from=build /app/services/notifier/dist services/notifier/dist
COPY --from=build /app/services/mailer/package.json services/mailer/
COPY --from=build /app/services/mailer/dist services/mailer/dist
COPY scripts/healthcheck.mjs scripts/healthcheck.mjs
# the only place the non-root user writes: .eml files when SMTP_URL is unset
RUN mkdir -p /app/var/outbox && chown -R node:node /app/var
USER node
ARG SERVICE=gateway
ENV SERVICE=${SERVICE} \
    MAIL_OUTBOX_DIR=/app/var/outbox \
    METRICS_PORT=9464
EXPOSE 8000 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "scripts/healthcheck.mjs"]
CMD ["sh", "-c", "exec node services/${SERVICE}/dist/main.js"]
