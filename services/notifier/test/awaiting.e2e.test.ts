/**
 * PROTOCOL.md §9 push, end to end on the real servers (dialogs + outbox relay, notifier, gateway
 * sockets): a staff user gets `notifications.dialogs.awaiting.count` with `seq` exactly when their
 * queue's count or oldest date changes — a student's second message in an open run, a second reply,
 * or a team dialog for a reviewer push nothing — and the replying socket gets its own queue frame.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { connectBus, type NatsConnection } from '@parley/bus';
import { parseConfig } from '@parley/config';
import { silentLogger } from '@parley/logger';
import { subjects } from '@parley/protocol';
import { connectWs, natsUrl, type TestSocket, waitFor } from '@parley/testing';
import { createDialog, createUser } from '../../dialogs/test/harness.js';
import {
  type Backend,
  mintToken,
  type StartedGateway,
  startBackend,
  startGateway,
} from '../../gateway/test/helpers.js';
import { createNotifierService, type NotifierService } from '../src/app.js';
import { notifierConfigSpec } from '../src/config.js';

const logger = silentLogger();
let backend: Backend;
let gw: StartedGateway;
let nc: NatsConnection;
let notifier: NotifierService;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  backend = await startBackend();
  gw = await startGateway(backend.prefix);
  nc = await connectBus({ servers: [await natsUrl()], name: 'awaiting-e2e', logger });
  const base = { NATS_URL: await natsUrl(), SUBJECT_PREFIX: backend.prefix };
  notifier = createNotifierService({ config: parseConfig(notifierConfigSpec, base).config, nc, logger });
  await notifier.start();
}, 60_000);

afterAll(async () => {
  for (const s of sockets) await s.close().catch(() => undefined);
  await notifier?.stop();
  await gw?.stop();
  await backend?.stop();
  if (!backend) return;
  const s = subjects(backend.prefix);
  const jsm = await nc.jetstreamManager();
  for (const name of [s.eventStream, `KV_${s.leaseBucket('notifier')}`]) {
    await jsm.streams.delete(name).catch(() => undefined);
  }
  await nc.close();
});

async function socket(userId: number): Promise<TestSocket> {
  const s = await connectWs(gw.url, { token: await mintToken(userId) });
  sockets.push(s);
  return s;
}

const AWAITING = 'notifications.dialogs.awaiting.count';
type Frame = Record<string, unknown> & { data?: unknown };
const isAwaiting = (f: Frame) => f.event === AWAITING && f.request_id === undefined;

async function send(s: TestSocket, dialogId: number, body: string): Promise<{ id: number; date: string }> {
  const answer = await s.request({ event: 'dialogs.messages.create', dialog_id: dialogId, body });
  expect(answer.exception).toBeUndefined();
  return { id: answer.data.id as number, date: answer.data.date_created as string };
}

/** the n-th queue frame pushed to `s` (1-based), waited for */
async function nth(s: TestSocket, n: number): Promise<Frame> {
  return waitFor(() => s.where(isAwaiting)[n - 1] as Frame | undefined, { timeoutMs: 15_000 });
}

test('the queue frame is pushed when the count or the oldest date changes, and not otherwise', async () => {
  const { rpc } = backend.dialogs;
  await createUser(rpc, 10);
  await createUser(rpc, 11);
  await createUser(rpc, 20, { role: 'reviewer' });
  await createUser(rpc, 30, { role: 'support' });
  const a = await createDialog(rpc, [10, 20]);
  const b = await createDialog(rpc, [11, 20]);
  const team = await createDialog(rpc, [10], 'support');
  const [s10, s11, r1, r2, p] = [
    await socket(10),
    await socket(11),
    await socket(20),
    await socket(20),
    await socket(30),
  ];

  // a run opens in A: the reviewer's queue goes 0 → 1
  const m1 = await send(s10, a.id, 'question');
  const f1 = await nth(r1, 1);
  expect(f1.data).toEqual({ count: 1, oldest_since: m1.date });
  expect(typeof f1.seq).toBe('number');
  // a second message in the open run changes nothing; a run in B moves the count only
  await send(s10, a.id, 'and another');
  const m3 = await send(s11, b.id, 'question b');
  const f2 = await nth(r1, 2);
  expect(f2.data).toEqual({ count: 2, oldest_since: m1.date });
  expect(Number(f2.seq)).toBeGreaterThan(Number(f1.seq));

  // the reviewer answers A from r1: the oldest is now B's; the replying socket gets it too
  await send(r1, a.id, 'answer');
  expect((await nth(r1, 3)).data).toEqual({ count: 1, oldest_since: m3.date });
  expect((await nth(r2, 3)).data).toEqual({ count: 1, oldest_since: m3.date });
  // a second answer and a team dialog (not the reviewer's) change nothing for the reviewer
  await send(r2, a.id, 'more answer');
  const t1 = await send(s10, team.id, 'to support');
  expect((await nth(p, 1)).data).toEqual({ count: 1, oldest_since: t1.date });
  await send(r2, b.id, 'answer b');
  expect((await nth(r1, 4)).data).toEqual({ count: 0, oldest_since: null });
  await send(p, team.id, 'support answers');
  expect((await nth(p, 2)).data).toEqual({ count: 0, oldest_since: null });

  // a user's pushes arrive in seq order: a frame from a change that moved nothing would sit among these
  expect(r1.where(isAwaiting).map((f) => f.data)).toEqual([
    { count: 1, oldest_since: m1.date },
    { count: 2, oldest_since: m1.date },
    { count: 1, oldest_since: m3.date },
    { count: 0, oldest_since: null },
  ]);
  expect(r2.where(isAwaiting)).toHaveLength(4);
  expect(p.where(isAwaiting)).toHaveLength(2);
  for (const student of [s10, s11]) expect(student.where(isAwaiting)).toHaveLength(0);

  // the request answers the same values
  const asked = await r1.request({ event: AWAITING });
  expect(asked.data).toEqual({ count: 0, oldest_since: null });
  expect(asked.seq).toBeUndefined();
}, 90_000);
