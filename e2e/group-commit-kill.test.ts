/**
 * Group commit under SIGKILL (docs/decisions.md §27), on real processes and servers: 24 writers keep
 * creates in flight into 24 dialogs, so the dialogs process is almost always inside a shared
 * transaction; it is SIGKILLed mid-stream and started again. Every writer resends an unanswered
 * create with its `client_id`, as clients do. Then: every message stored exactly once, each dialog's
 * positions dense and in the writer's order, its counters true, and the event stream holding each
 * message once.
 */
import { afterAll, expect, test } from '@jest/globals';
import { caller, connectBus, createRpcClient, type NatsConnection } from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { type MessageCreatedEvent, subjects as makeSubjects } from '@parley/protocol';
import {
  createTestDatabase,
  freePort,
  natsUrl,
  randomPrefix,
  type TestDatabase,
  waitFor,
} from '@parley/testing';
import { createConnection } from 'mysql2/promise';
import { createDialog, createUser } from '../services/dialogs/test/harness.js';
import { streamEvents } from '../services/dialogs/test/support.js';
import { answers200, buildServices, service, serviceCrashes, stopAll } from './processes.js';

const WRITERS = 24;
const PER_WRITER = 25;
/** answered creates (over all writers) before the kill */
const KILL_AFTER = 150;

let db: TestDatabase | undefined;
let nc: NatsConnection | undefined;

afterAll(async () => {
  await stopAll();
  await nc?.close();
  await db?.drop();
}, 60_000);

const metric = async (url: string, name: string): Promise<number> => {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{outcome="committed"}`));
  return line ? Number(line.split(' ').pop()) : 0;
};

test('dialogs SIGKILLed while creates share transactions: every message once, in order, counters true', async () => {
  buildServices();
  db = await createTestDatabase();
  const prefix = randomPrefix();
  const url = await natsUrl();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dialogs = service(
    'dialogs',
    'services/dialogs/dist/main.js',
    {
      NATS_URL: url,
      SUBJECT_PREFIX: prefix,
      MYSQL_URL: db.url,
      OUTBOX_POLL_MS: '200',
      METRICS_PORT: String(port),
    },
    { probe: () => answers200(`${base}/readyz`) },
  );
  dialogs.start();
  await dialogs.ready();

  nc = await connectBus({ servers: [url], name: 'group-commit-kill', logger: silentLogger() });
  const subjects = makeSubjects(prefix);
  const rpc = createRpcClient(nc, subjects, { timeoutMs: 2_000 });
  const dialogIds: number[] = [];
  for (let w = 0; w < WRITERS; w++) {
    await createUser(rpc, 2 * w + 1);
    await createUser(rpc, 2 * w + 2);
    dialogIds.push((await createDialog(rpc, [2 * w + 1, 2 * w + 2])).id);
  }

  let answered = 0;
  let resent = 0;
  let killed: Promise<void> | undefined;
  const writer = async (w: number) => {
    for (let k = 0; k < PER_WRITER; k++) {
      // an unanswered create is sent again with the same client_id until it is answered
      for (let attempt = 0; ; attempt++) {
        try {
          await rpc.request('dialogs.messages.create', {
            caller: caller(2 * w + 1 + (k % 2), `c${w}`),
            params: { dialog_id: dialogIds[w], body: `w${w} #${k}`, client_id: `w${w}-${k}` } as {
              dialog_id: number;
            },
          });
          break;
        } catch {
          resent++;
          // the client's backoff while the service is away (not a wait for a test condition)
          await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 500)));
        }
      }
      answered++;
      if (answered === KILL_AFTER - 50)
        grouped = metric(`${base}/metrics`, 'parley_dialogs_group_commit_members_total');
      // at once, while the answer's group mates are still in flight
      if (answered === KILL_AFTER) killed = kill();
    }
  };
  let grouped: Promise<number> | undefined;
  const kill = async () => {
    await dialogs.kill();
    dialogs.start();
    await dialogs.ready();
  };
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  await killed;

  // the creates before the kill went through shared transactions, and some were cut off by it
  expect(await grouped).toBeGreaterThan(0);
  expect(resent).toBeGreaterThan(0);

  const conn = await createConnection(db.url);
  try {
    const [dupes] = (await conn.query(
      'SELECT client_id, COUNT(*) AS n FROM messages GROUP BY user_id, client_id HAVING n > 1',
    )) as unknown as [unknown[]];
    expect(dupes).toEqual([]);
    for (const [w, id] of dialogIds.entries()) {
      const [rows] = (await conn.query(
        'SELECT position, markdown_body FROM messages WHERE dialog_id = ? ORDER BY position',
        [id],
      )) as unknown as [{ position: number; markdown_body: string }[]];
      expect(rows.map((r) => r.position)).toEqual(Array.from({ length: PER_WRITER }, (_, k) => k + 1));
      expect(rows.map((r) => r.markdown_body)).toEqual(
        Array.from({ length: PER_WRITER }, (_, k) => `w${w} #${k}`),
      );
      const [[d]] = (await conn.query('SELECT message_count FROM dialogs WHERE id = ?', [id])) as unknown as [
        { message_count: number }[],
      ];
      expect(d?.message_count).toBe(PER_WRITER);
      // each member has the other's messages unread: 12 or 13 each (the writers alternate authors)
      const [members] = (await conn.query(
        'SELECT user_id, unread_count FROM dialog_members WHERE dialog_id = ? ORDER BY user_id',
        [id],
      )) as unknown as [{ user_id: number; unread_count: number }[]];
      expect(members.map((m) => m.unread_count)).toEqual([
        Math.floor(PER_WRITER / 2),
        Math.ceil(PER_WRITER / 2),
      ]);
    }
  } finally {
    await conn.end();
  }

  // the outbox relayed every message once (the stream deduplicates a relay cut off by the kill)
  const total = WRITERS * PER_WRITER;
  await waitFor(
    async () =>
      (await streamEvents(nc!, subjects)).filter((e) => e.type === 'message.created').length >= total,
    { timeoutMs: 30_000, what: 'every message.created on the stream' },
  );
  const created = (await streamEvents(nc, subjects)).filter(
    (e): e is MessageCreatedEvent => e.type === 'message.created',
  );
  expect(created).toHaveLength(total);
  expect(new Set(created.map((e) => e.message.id)).size).toBe(total);
  expect(serviceCrashes()).toEqual([]);
}, 180_000);
