/**
 * The dialogs service: owns the data, answers every request the gateway
 * forwards (PROTOCOL.md §3–§6), writes domain events to its outbox and relays
 * them to the event stream. Building it has no side effects; `start()` serves
 * the telemetry endpoint (METRICS_PORT: /readyz 503), then waits for NATS and
 * the database as long as they are away (retried with backoff), then serves
 * requests (/readyz 200).
 */

import {
  type BusConnection,
  createPresenceView,
  ensureEventStream,
  type NatsConnection,
  openPresenceBucket,
  type PresenceView,
  publishUserDeactivated,
  retry,
  type Server,
  type Service,
  serve,
} from '@parley/bus';
import type { Logger } from '@parley/logger';
import { subjects as makeSubjects } from '@parley/protocol';
import { type MetricsEndpoint, serveMetrics } from '@parley/telemetry';
import type { DataSource } from 'typeorm';
import type { DialogsConfig } from './config.js';
import type { DialogsContext, Presence } from './context.js';
import { createDataSource, ensureDatabase, migrate } from './db/data-source.js';
import { createGroupCommit } from './db/group-commit.js';
import { sqlOf } from './db/sql.js';
import { createDialogTurns } from './dialog-turns.js';
import { type OnFatal, reportSchemaMissing, schemaMissing } from './fatal.js';
import { createFilesSweeper, type Sweeper } from './files/sweeper.js';
import { buildHandlers } from './handlers/index.js';
import { createDialogsMetrics, type DialogsMetrics } from './metrics.js';
import { createOutboxRelay, type OutboxRelay, type OutboxRelayHooks } from './outbox/relay.js';

export interface DialogsDeps {
  config: DialogsConfig;
  /** the connection, or connectBus's promise of it (start() serves /readyz before it waits for it) */
  nc: BusConnection;
  logger: Logger;
  /**
   * where `status_online` of users comes from: `'bucket'` — the gateways' presence bucket, watched
   * from start() (main.ts); a given source (tests); none — false for everyone
   */
  presence?: Presence | 'bucket';
  /** test seam for the outbox relay */
  relayHooks?: OutboxRelayHooks;
  /** the schema went missing under a running instance (main.ts exits; without it requests answer `internal`) */
  onFatal?: OnFatal;
}

export interface DialogsService extends Service {
  /** the DataSource while started (tests read the database through it) */
  readonly dataSource: DataSource | undefined;
  /** the relay of this instance while started (undefined when OUTBOX_RELAY=false) */
  readonly relay: OutboxRelay | undefined;
  /** the unattached-files sweeper while started */
  readonly sweeper: Sweeper | undefined;
}

export function createDialogsService(deps: DialogsDeps): DialogsService {
  const { config, logger } = deps;
  const subjects = makeSubjects(config.SUBJECT_PREFIX);
  let nc: NatsConnection | undefined;
  let ds: DataSource | undefined;
  let server: Server | undefined;
  let relay: OutboxRelay | undefined;
  const reportIfSchemaMissing = (err: unknown) => {
    const reason = schemaMissing(err);
    if (reason) deps.onFatal?.(reason, err);
  };
  let sweeper: Sweeper | undefined;
  let presenceView: PresenceView | undefined;
  let metrics: DialogsMetrics | undefined;
  let endpoint: MetricsEndpoint | null = null;

  /** the gateways' presence bucket, watched (NATS or a node away at start is waited out) */
  const watchPresence = async (bus: NatsConnection): Promise<PresenceView> => {
    const view = createPresenceView(bus, subjects, { logger, replicas: config.NATS_REPLICAS });
    await retry(() => openPresenceBucket(bus, subjects, { replicas: config.NATS_REPLICAS }), {
      what: 'presence bucket',
      logger,
    });
    await view.start();
    return view;
  };

  return {
    get dataSource() {
      return ds;
    },
    get relay() {
      return relay;
    },
    get sweeper() {
      return sweeper;
    },
    async start() {
      if (config.METRICS_PORT) {
        metrics ??= createDialogsMetrics();
        // /readyz: 503 until NATS and the database are usable and requests are served
        endpoint = await serveMetrics(metrics.registry, config.METRICS_PORT, logger, {
          ready: () => server !== undefined && nc?.isClosed() === false && ds?.isInitialized === true,
        });
      }
      const bus = await deps.nc;
      nc = bus;
      // the database, NATS or a node away at start is waited out (retried with backoff, logged)
      await retry(() => ensureDatabase(config.MYSQL_URL), { what: 'database', logger });
      ds = await retry(
        async () => {
          const source = createDataSource({ url: config.MYSQL_URL, poolSize: config.DB_POOL_SIZE });
          await source.initialize();
          return source;
        },
        { what: 'database connection', logger },
      );
      const source = ds;
      await retry(() => migrate(source), { what: 'migrations', logger });
      await retry(() => ensureEventStream(bus, subjects, { replicas: config.NATS_REPLICAS }), {
        what: 'event stream',
        logger,
      });
      if (deps.presence === 'bucket') presenceView = await watchPresence(bus);
      if (config.OUTBOX_RELAY) {
        relay = createOutboxRelay({
          ds,
          nc: bus,
          subjects,
          logger,
          pollMs: config.OUTBOX_POLL_MS,
          ...(deps.relayHooks ? { hooks: deps.relayHooks } : {}),
          onRoundError: reportIfSchemaMissing,
        });
        relay.start();
      }
      const ctx: DialogsContext = {
        ds,
        sql: sqlOf(ds),
        config,
        presence: deps.presence === 'bucket' ? presenceView : deps.presence,
        turns: createDialogTurns(),
        writes: createGroupCommit(ds, {
          maxMembers: config.DB_GROUP_COMMIT_MAX,
          ...(metrics ? { stats: metrics.groupStats } : {}),
        }),
        outboxWritten: () => relay?.poke(),
        userDeactivated: (userId) => publishUserDeactivated(bus, subjects, userId),
      };
      server = serve({
        nc: bus,
        subjects,
        service: 'dialogs',
        handlers: deps.onFatal ? reportSchemaMissing(buildHandlers(ctx), deps.onFatal) : buildHandlers(ctx),
        logger,
        concurrency: config.RPC_CONCURRENCY,
      });
      sweeper = createFilesSweeper({
        ds,
        nc: bus,
        subjects,
        logger,
        ttlHours: config.FILES_UNATTACHED_TTL_HOURS,
        replicas: config.NATS_REPLICAS,
        intervalMs: config.FILES_SWEEP_INTERVAL_MS,
      });
      sweeper.start();
      logger.info({ prefix: config.SUBJECT_PREFIX, relay: config.OUTBOX_RELAY }, 'dialogs service started');
    },
    async stop() {
      await sweeper?.stop();
      sweeper = undefined;
      await server?.stop();
      server = undefined;
      await relay?.stop();
      relay = undefined;
      await presenceView?.stop();
      presenceView = undefined;
      if (ds?.isInitialized) await ds.destroy();
      ds = undefined;
      await endpoint?.close();
      endpoint = null;
    },
  };
}
