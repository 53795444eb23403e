/**
 * Behaviour under restarts, on real servers: MariaDB, a private nats-server
 * per test (killed and restarted on the same port and store), the gateway with
 * real sockets, dialogs, notifier and mailer (SMTP sink).
 */
import { afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { notifyPartition } from '@parley/protocol';
import { sleep, waitFor } from '@parley/testing';
import { createDialog, createUser } from '../services/dialogs/test/harness.js';
import {
  buildNotifier,
  instanceOf,
  type NotifierProcess,
  partitionHolders,
  partitionsShared,
  pushOf,
  type System,
  sendMessage,
  startSystem,
} from './system.js';

/** after the consumer is drained, how long a duplicate push would still need to reach a socket */
const SETTLE_MS = 500;

let sys: System | undefined;

afterEach(async () => {
  await sys?.stop();
  sys = undefined;
}, 120_000);

/** users 1 and 2 in one dialog, one socket each */
async function twoUsers(system: System) {
  const { rpc } = system.dialogs;
  await createUser(rpc, 1, { first_name: 'Anna', last_name: 'Petrova' });
  await createUser(rpc, 2);
  const dialog = await createDialog(rpc, [1, 2]);
  return { dialogId: dialog.id, a: await system.socket(1), b: await system.socket(2) };
}

test('a NATS outage: open sockets get `unavailable` and stay open; after the restart a message is answered, pushed and e-mailed once', async () => {
  sys = await startSystem({ gatewayEnv: { REQUEST_TIMEOUT_MS: '1500' } });
  const notifier = await sys.startNotifier({ LEADER_LEASE_SECONDS: '2' });
  const { sink } = await sys.startMailer();
  const { dialogId, a, b } = await twoUsers(sys);

  const before = await sendMessage(a, dialogId, 'before the outage');
  await b.next(pushOf(before), { timeoutMs: 10_000 });
  await sink.waitForCount(1, 10_000);
  await sys.drained('notifier');
  await sys.drained('mailer');

  await sys.nats.kill();
  const refused = await a.request({ event: 'notifications.dialogs.count' }, 10_000);
  expect(refused).toMatchObject({
    type: 'ws_send',
    event: 'notifications.dialogs.count',
    exception: true,
    error: { code: 'unavailable' },
  });
  expect(a.ws.readyState).toBe(a.ws.OPEN);
  expect(b.ws.readyState).toBe(b.ws.OPEN);
  // the outage outlasts the notifier's lease: it steps down (libs/bus lease.ts), so after the restart it
  // must win the lease again and resume its durable consumer
  await waitFor(() => !notifier.active, { timeoutMs: 15_000, what: 'the notifier to step down' });

  await sys.nats.restart();
  // the client retries with one idempotency key until the system answers again (the first tries may
  // time out while nats.js reconnects and dialogs resubscribes; a retry must not create a second message)
  let lastError = '';
  const answer = await waitFor(
    async () => {
      const r = await a.request(
        { event: 'dialogs.messages.create', dialog_id: dialogId, body: 'after', client_id: 'after-restart' },
        10_000,
      );
      lastError = r.exception ? String(r.error?.code) : '';
      return r.exception ? undefined : r;
    },
    { timeoutMs: 30_000, intervalMs: 250, what: 'an answer after the restart' },
  ).catch((err: Error) => {
    throw new Error(`${err.message} (last error frame: ${lastError})`);
  });
  const id = answer.data.id as number;

  const from = await b.next(pushOf(id), { timeoutMs: 20_000 }).then((f) => b.frames.indexOf(f));
  await b.next((f) => f.event === 'notifications.dialogs.count' && f.data === 1, { from, timeoutMs: 5_000 });
  await b.next(
    (f) =>
      f.event === 'notifications.dialogs.messages.count' &&
      f.data?.dialog_id === dialogId &&
      f.data?.count === 2,
    { from, timeoutMs: 5_000 },
  );
  await sink.waitForCount(2, 20_000);
  await sys.drained('notifier');
  await sys.drained('mailer');
  // a fixed wait only to prove a duplicate does NOT arrive: both consumers have acked everything, so a
  // second push or e-mail would already be on its way
  await sleep(SETTLE_MS);

  expect(b.where(pushOf(id))).toHaveLength(1);
  expect(a.where(pushOf(id))).toHaveLength(0); // the sender's only socket has the direct answer
  expect(sink.messages.map((m) => m.parsed.messageId)).toEqual([
    `<parley.m${before}.u2@localhost>`,
    `<parley.m${id}.u2@localhost>`,
  ]);
  expect(a.ws.readyState).toBe(a.ws.OPEN);
  expect(b.ws.readyState).toBe(b.ws.OPEN);
  expect(notifier.active).toBe(true);
}, 60_000);

test('a message created while the notifier is stopped is pushed once it starts again', async () => {
  sys = await startSystem();
  const notifier = await sys.startNotifier();
  const { dialogId, a, b } = await twoUsers(sys);
  const before = await sendMessage(a, dialogId, 'before the stop');
  await b.next(pushOf(before), { timeoutMs: 10_000 });
  await sys.drained('notifier');

  await notifier.stop();
  const id = await sendMessage(a, dialogId, 'while the notifier is stopped');
  const jsm = await sys.nc.jetstreamManager();
  const s = sys.subjects;
  // the event's copies are in the notifier's partitions, waiting (one per partition of users 1 and 2)
  const copies = new Set([notifyPartition(1), notifyPartition(2)]).size;
  await waitFor(async () => (await jsm.streams.info(s.notifyStream)).state.messages === copies, {
    timeoutMs: 10_000,
    what: 'the event waiting for the notifier',
  });
  expect(b.where(pushOf(id))).toHaveLength(0);

  await sys.startNotifier();
  await b.next(pushOf(id), { timeoutMs: 15_000 });
  await sys.drained('notifier');
  // only to prove no duplicate arrives: everything is acked, a second push would already be on its way
  await sleep(SETTLE_MS);
  expect(b.where(pushOf(id))).toHaveLength(1);
  expect(b.where(pushOf(before))).toHaveLength(1);
}, 45_000);

describe('notifier crash', () => {
  beforeAll(buildNotifier, 120_000);

  test("a SIGKILLed notifier's partitions move to the other within the lease; a message after the kill is pushed once", async () => {
    const system = await startSystem();
    sys = system;
    const env = { LEADER_LEASE_SECONDS: '2' };
    const procs = [system.spawnNotifier(env), system.spawnNotifier(env)];
    // both run, 8 partitions each
    await partitionsShared(system, procs);
    const { dialogId, a, b } = await twoUsers(system);
    const before = await sendMessage(a, dialogId, 'before the crash');
    await b.next(pushOf(before), { timeoutMs: 10_000 });
    await system.drained('notifier');

    // the instance pushing to user 2 dies
    const owner = (await partitionHolders(system))[notifyPartition(2)];
    const doomed = procs.find((p) => instanceOf(p) === owner) as NotifierProcess;
    const survivor = procs.find((p) => p !== doomed) as NotifierProcess;
    process.kill(doomed.child.pid as number, 'SIGKILL');
    await doomed.exited;
    const id = await sendMessage(a, dialogId, 'after the crash');
    await b.next(pushOf(id), { timeoutMs: 20_000 });
    expect((await partitionHolders(system)).every((h) => h === instanceOf(survivor))).toBe(true);
    await system.drained('notifier');
    // only to prove no duplicate arrives: everything is acked, a second push would already be on its way
    await sleep(SETTLE_MS);
    expect(b.where(pushOf(id))).toHaveLength(1);
    expect(b.where(pushOf(before))).toHaveLength(1);
    expect(survivor.child.exitCode).toBeNull();
  }, 90_000);
});
