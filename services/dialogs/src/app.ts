/**
 * The dialogs service: owns the data, answers every request the gateway
 * forwards (PROTOCOL.md §3–§6), writes domain events to its outbox and relays
 * them to the event stream. Building it has no side effects; `start()` connects.
 */

import type { NatsConnection } from '@parley/bus';
import {
  ensureEventStream,
  publishUserDeactivated,
  retry,
  type Server,
  type Service,
  serve,
} from '@parley/bus';
import type { Logger } from '@parley/logger';
import { subjects as makeSubjects } from '@parley/protocol';
import type { DataSource } from 'typeorm';
import type { DialogsConfig } from './config.js';
import type { DialogsContext, Presence } from './context.js';
import { createDataSource, ensureDatabase, migrate } from './db/data-source.js';
import { sqlOf } from './db/sql.js';
import { type OnFatal, reportSchemaMissing, schemaMissing } from './fatal.js';
import { createFilesSweeper, type Sweeper } from './files/sweeper.js';
import { buildHandlers } from './handlers/index.js';
import { createOutboxRelay, type OutboxRelay, type OutboxRelayHooks } from './outbox/relay.js';

export interface DialogsDeps {
  config: DialogsConfig;
  nc: NatsConnection;
  logger: Logger;
  /** where `status_online` of users comes from (false for everyone without it) */
  presence?: Presence;
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
  const { config, nc, logger } = deps;
  const subjects = makeSubjects(config.SUBJECT_PREFIX);
  let ds: DataSource | undefined;
  let server: Server | undefined;
  let relay: OutboxRelay | undefined;
  const reportIfSchemaMissing = (err: unknown) => {
    const reason = schemaMissing(err);
    if (reason) deps.onFatal?.(reason, err);
  };
  let sweeper: Sweeper | undefined;

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
      await migrate(ds);
      await retry(() => ensureEventStream(nc, subjects, { replicas: config.NATS_REPLICAS }), {
        what: 'event stream',
        logger,
      });
      if (config.OUTBOX_RELAY) {
        relay = createOutboxRelay({
          ds,
          nc,
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
        presence: deps.presence,
        outboxWritten: () => relay?.poke(),
        userDeactivated: (userId) => publishUserDeactivated(nc, subjects, userId),
      };
      server = serve({
        nc,
        subjects,
        service: 'dialogs',
        handlers: deps.onFatal ? reportSchemaMissing(buildHandlers(ctx), deps.onFatal) : buildHandlers(ctx),
        logger,
        concurrency: config.RPC_CONCURRENCY,
      });
      sweeper = createFilesSweeper({
        ds,
        nc,
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
      if (ds?.isInitialized) await ds.destroy();
      ds = undefined;
    },
  };
}
