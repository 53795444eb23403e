/**
 * The built dialogs service as a child process (its real main.ts): it migrates
 * its own database at start, so a schema missing at start cannot be shown;
 * what can happen is a table dropped under a running instance. Then the next
 * request that needs it ends the process with exit code 1 and one clear fatal
 * line — and nothing of the message bodies it held reaches the log. Until
 * then, refused and failing requests leave it serving.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { caller, connectBus, createRpcClient, type NatsConnection, type RpcClient } from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { subjects as makeSubjects } from '@parley/protocol';
import { createTestDatabase, natsUrl, randomPrefix, type TestDatabase, waitFor } from '@parley/testing';
import { createConnection } from 'mysql2/promise';
import { createDialog, createUser } from './harness.js';

const root = join(import.meta.dirname, '../../..');
const prefix = randomPrefix();
const subjects = makeSubjects(prefix);
let db: TestDatabase;
let nc: NatsConnection;
let rpc: RpcClient;
let child: ChildProcess | undefined;
let out = '';

beforeAll(async () => {
  const build = spawnSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'services/dialogs'],
    { cwd: root, encoding: 'utf8' },
  );
  if (build.status !== 0) throw new Error(`tsc -b services/dialogs failed:\n${build.stdout}${build.stderr}`);
  db = await createTestDatabase();
  nc = await connectBus({ servers: [await natsUrl()], name: 'dialogs-schema-test', logger: silentLogger() });
  rpc = createRpcClient(nc, subjects, { timeoutMs: 10_000 });
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  const jsm = await nc?.jetstreamManager().catch(() => undefined);
  await jsm?.streams.delete(subjects.eventStream).catch(() => undefined);
  await nc?.close();
  await db?.drop();
});

interface Line {
  level: number;
  msg: string;
  error?: { code?: string };
}
const lines = (): Line[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

test('a table dropped under a running instance: exit 1 with one clear fatal line, no body in the log', async () => {
  child = spawn(process.execPath, [join(root, 'services/dialogs/dist/main.js')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      MYSQL_URL: db.url,
      NATS_URL: await natsUrl(),
      SUBJECT_PREFIX: prefix,
      LOG_LEVEL: 'info',
      OUTBOX_POLL_MS: '200',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
  await waitFor(() => out.includes('dialogs service started'), {
    timeoutMs: 30_000,
    what: 'the dialogs service to start',
  });

  await createUser(rpc, 1);
  await createUser(rpc, 2);
  const d = await createDialog(rpc, [1, 2]);
  await rpc.request('dialogs.messages.create', {
    caller: caller(1),
    params: { dialog_id: d.id, body: 'SECRET-BODY-7f3a' },
  });
  // refusals are request-scoped: the process keeps serving
  await expect(
    rpc.request('dialogs.messages.load', { caller: caller(1), params: { dialog_id: 999_999 } }),
  ).rejects.toMatchObject({ code: 'not_found' });
  const page = await rpc.request('dialogs.messages.load', { caller: caller(2), params: { dialog_id: d.id } });
  expect(page.meta?.total).toBe(1);

  const admin = await createConnection(db.url);
  try {
    await admin.query('DROP TABLE messages');
  } finally {
    await admin.end();
  }
  // the next history read needs the table: no answer comes, the process ends
  await expect(
    rpc.request(
      'dialogs.messages.load',
      { caller: caller(2), params: { dialog_id: d.id } },
      { timeoutMs: 5_000 },
    ),
  ).rejects.toMatchObject({ code: 'unavailable' });
  expect(await exited).toBe(1);

  const bad = lines().filter((l) => l.level >= 50);
  expect(bad).toHaveLength(1);
  expect(bad[0]).toMatchObject({
    level: 60,
    msg: 'dialogs: the database schema is missing (ER_NO_SUCH_TABLE); exiting so that a restart runs the migrations',
    error: { code: 'ER_NO_SUCH_TABLE' },
  });
  expect(out).not.toContain('SECRET-BODY');
}, 90_000);
