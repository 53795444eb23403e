/**
 * Start a real dialogs service for a test suite: a fresh database on MYSQL_URL
 * (real migrations), its own NATS connection and subject prefix. Other
 * services' suites import this file by relative path.
 */
import { connectBus, createRpcClient, type NatsConnection, type RpcClient } from '@parley/bus';
import { parseConfig } from '@parley/config';
import { type Logger, silentLogger } from '@parley/logger';
import {
  type DialogDto,
  type DialogRole,
  subjects as makeSubjects,
  type RpcRequest,
  type Subjects,
  type UserRecordDto,
} from '@parley/protocol';
import { createTestDatabase, natsUrl, randomPrefix, type TestDatabase } from '@parley/testing';
import { createDialogsService, type DialogsService } from '../src/app.js';
import { type DialogsConfig, dialogsConfigSpec } from '../src/config.js';
import type { Presence } from '../src/context.js';
import type { OutboxRelayHooks } from '../src/outbox/relay.js';

export interface StartedDialogs {
  prefix: string;
  subjects: Subjects;
  nc: NatsConnection;
  rpc: RpcClient;
  db: TestDatabase;
  service: DialogsService;
  config: DialogsConfig;
  /** stop the service, delete the event stream (when the prefix was ours), close NATS, drop the database (when ours) */
  stop(): Promise<void>;
}

export interface StartDialogsOptions {
  prefix?: string;
  config?: Partial<DialogsConfig>;
  /** reuse a database (a second instance of the same deployment); not dropped by stop() */
  db?: TestDatabase;
  presence?: Presence;
  logger?: Logger;
  relayHooks?: OutboxRelayHooks;
}

export async function startDialogs(opts: StartDialogsOptions = {}): Promise<StartedDialogs> {
  const ownPrefix = !opts.prefix;
  const prefix = opts.prefix ?? randomPrefix();
  const ownDb = !opts.db;
  const db = opts.db ?? (await createTestDatabase());
  const url = await natsUrl();
  const { config: base } = parseConfig(dialogsConfigSpec, {
    MYSQL_URL: db.url,
    NATS_URL: url,
    SUBJECT_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    DB_POOL_SIZE: '8',
    OUTBOX_POLL_MS: '200',
  });
  const config: DialogsConfig = Object.freeze({ ...base, ...opts.config });
  const logger = opts.logger ?? silentLogger();
  const nc = await connectBus({ servers: config.NATS_URL, name: `dialogs-test-${prefix}`, logger });
  const subjects = makeSubjects(prefix);
  const service = createDialogsService({
    config,
    nc,
    logger,
    ...(opts.presence ? { presence: opts.presence } : {}),
    ...(opts.relayHooks ? { relayHooks: opts.relayHooks } : {}),
  });
  try {
    await service.start();
  } catch (err) {
    await service.stop().catch(() => undefined);
    await nc.close();
    if (ownDb) await db.drop();
    throw err;
  }
  const rpc = createRpcClient(nc, subjects, { timeoutMs: 10_000 });
  return {
    prefix,
    subjects,
    nc,
    rpc,
    db,
    service,
    config,
    async stop() {
      await service.stop();
      if (ownPrefix) {
        // the suite's event stream and its copy streams go with it (file storage on the shared server)
        const jsm = await nc.jetstreamManager().catch(() => undefined);
        for (const name of [subjects.eventStream, subjects.notifyStream, subjects.mailStream])
          await jsm?.streams.delete(name).catch(() => undefined);
      }
      await nc.drain().catch(() => nc.close());
      if (ownDb) await db.drop();
    },
  };
}

export type UserFields = Omit<RpcRequest<'admin.users.upsert'>, 'id'>;

/** Create or update a user through `admin.users.upsert` (role student unless given). */
export async function createUser(
  rpc: RpcClient,
  id: number,
  fields: UserFields = {},
): Promise<UserRecordDto> {
  const reply = await rpc.request('admin.users.upsert', {
    email: `user${id}@example.com`,
    first_name: `First${id}`,
    last_name: `Last${id}`,
    ...fields,
    id,
  });
  return reply.data;
}

/** Create a dialog of `userIds` through `admin.dialogs.create`. */
export async function createDialog(
  rpc: RpcClient,
  userIds: number[],
  withRole: DialogRole | null = null,
): Promise<DialogDto> {
  const reply = await rpc.request('admin.dialogs.create', { users: userIds, with_role: withRole });
  return reply.data;
}
