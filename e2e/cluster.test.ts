/**
 * Parley on a three-node NATS cluster (private nodes from the local nats-server binary) with
 * NATS_REPLICAS=3: dialogs, two gateways, two notifiers (sharing the user partitions), two mailers, and a steady
 * stream of messages from user 1 to user 2, who has a socket on each gateway. The node leading the
 * event stream is SIGKILLed mid-stream and restarted; then one instance of every service is stopped
 * mid-stream and another started (the gateway's socket resumes on the new gateway with `since`,
 * PROTOCOL.md §8). Afterwards every acknowledged message is stored once, pushed once to each of
 * user 2's clients, e-mailed once (real SMTP sinks), and the counters equal the truth. The same with
 * every instance SIGKILLed instead of stopped: `e2e/cluster.chaos.ts` (`npm run test:chaos`).
 */
import { afterEach, expect, test } from '@jest/globals';
import { sleep, type TestSocket, waitFor } from '@parley/testing';
import { createDialog, createUser, startDialogs } from '../services/dialogs/test/harness.js';
import { isPush, pushOf, type System, seqOf, startSystem } from './system.js';

/** after both consumers are drained, how long a duplicate push or e-mail would still need */
const SETTLE_MS = 500;

let sys: System | undefined;
/** dialogs instances started beside the system's own */
const extraDialogs: Array<{ stop(): Promise<void> }> = [];

afterEach(async () => {
  for (const d of extraDialogs.splice(0)) await d.stop().catch(() => undefined);
  await sys?.stop();
  sys = undefined;
}, 120_000);

/** one message, retried with one idempotency key until the system answers (a node may be electing) */
async function send(socket: TestSocket, dialogId: number, n: number): Promise<number> {
  const answer = await waitFor(
    async () => {
      const r = await socket.request(
        { event: 'dialogs.messages.create', dialog_id: dialogId, body: `m ${n}`, client_id: `c-${n}` },
        10_000,
      );
      return r.exception ? undefined : r;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `an answer to message ${n}` },
  );
  return answer.data.id as number;
}

test('a node SIGKILLed and restarted, one instance of every service replaced: every message stored, pushed and mailed once', async () => {
  sys = await startSystem({
    cluster: true,
    gatewayEnv: { REQUEST_TIMEOUT_MS: '3000' },
    serviceEnv: { MAIL_MAX_PER_RECIPIENT_PER_HOUR: '0' },
  });
  const system = sys;
  const other = await system.startGateway();
  const first = await system.startNotifier({ LEADER_LEASE_SECONDS: '3' });
  const second = await system.startNotifier({ LEADER_LEASE_SECONDS: '3' });
  const mailers = [await system.startMailer(), await system.startMailer()];
  // a second dialogs instance on the same database
  const dialogs2 = await startDialogs({
    prefix: system.prefix,
    db: system.dialogs.db,
    config: { NATS_URL: system.nats.url.split(','), OUTBOX_POLL_MS: 200, NATS_REPLICAS: 3 },
  });
  const { rpc } = system.dialogs;
  await createUser(rpc, 1, { first_name: 'Anna', last_name: 'Petrova' });
  await createUser(rpc, 2);
  const dialogId = (await createDialog(rpc, [1, 2])).id;
  const a = await system.socket(1);
  const b1 = await system.socket(2);
  const b2 = await system.socket(2, { gateway: other });

  const jsm = await system.nc.jetstreamManager();
  const { eventStream, notifyStream, mailStream, feedStream } = system.subjects;
  for (const name of [eventStream, notifyStream, mailStream, feedStream]) {
    expect((await jsm.streams.info(name)).config.num_replicas).toBe(3);
  }

  const ids: number[] = [];
  let n = 0;
  const sendSome = async (count: number) => {
    for (let i = 0; i < count; i++) ids.push(await send(a, dialogId, ++n));
  };

  await sendSome(5);
  // the node leading the event stream dies mid-stream and comes back
  const leaderName = (await jsm.streams.info(system.subjects.eventStream)).cluster?.leader;
  const leader = system.cluster?.nodes.find((node) => node.name === leaderName);
  expect(leader).toBeDefined();
  await leader?.kill();
  await sendSome(5);
  await leader?.restart();
  await sendSome(5);
  // one instance of every service stops mid-stream and a new one starts
  // the node's loss may have cost leases: the two notifiers consume every partition again
  await waitFor(() => first.partitions().length + second.partitions().length === 16, {
    timeoutMs: 30_000,
    what: 'every partition consumed again after the node came back',
  });
  await first.stop();
  await mailers[0]?.mailer.stop();
  await dialogs2.stop();
  await other.stop();
  await sendSome(5);
  await system.startNotifier({ LEADER_LEASE_SECONDS: '3' });
  mailers.push(await system.startMailer());
  const dialogs3 = await startDialogs({
    prefix: system.prefix,
    db: system.dialogs.db,
    config: { NATS_URL: system.nats.url.split(','), OUTBOX_POLL_MS: 200, NATS_REPLICAS: 3 },
  });
  extraDialogs.push(dialogs3);
  // user 2's client on the stopped gateway reconnects to a new one and resumes where it was
  const third = await system.startGateway();
  const b2again = await system.socket(2, { gateway: third, since: seqOf(b2) });
  await b2again.next((f) => f.event === 'sync' && !f.exception, { timeoutMs: 30_000 });
  await sendSome(5);

  const last = ids.at(-1) as number;
  for (const sock of [b1, b2again]) {
    await waitFor(() => sock.where(pushOf(last)).length >= 1, {
      timeoutMs: 60_000,
      what: 'the last message on each of user 2’s sockets',
    });
  }
  const mailed = () => mailers.flatMap((m) => m.sink.messages.map((msg) => msg.parsed.messageId));
  await waitFor(() => mailed().length >= ids.length, { timeoutMs: 60_000, what: 'an e-mail per message' });
  await system.drained('notifier', 30_000);
  await system.drained('mailer', 30_000);
  await sleep(SETTLE_MS);

  // stored once
  const stored = await b1.request(
    { event: 'dialogs.messages.load', dialog_id: dialogId, limit: 100 },
    10_000,
  );
  expect(stored.meta.total).toBe(ids.length);
  expect(stored.data.map((m: { id: number }) => m.id)).toEqual(ids);
  // pushed once per socket, in order
  expect(b1.where(isPush).map((f) => f.data.id)).toEqual(ids);
  // the client that moved gateways: what it got before, then the replay and live pushes after
  expect([...b2.where(isPush), ...b2again.where(isPush)].map((f) => f.data.id)).toEqual(ids);
  // mailed once
  expect([...mailed()].sort()).toEqual(ids.map((id) => `<parley.m${id}.u2@localhost>`).sort());
  // counters equal the truth
  const total = await b1.request({ event: 'notifications.dialogs.count' }, 10_000);
  expect(total.data).toBe(1);
  for (const sock of [b1, b2again]) {
    const lastCount = sock
      .where((f) => f.event === 'notifications.dialogs.count' && f.request_id === undefined)
      .at(-1);
    expect(lastCount?.data).toBe(total.data);
    const inDialog = sock
      .where(
        (f) =>
          f.event === 'notifications.dialogs.messages.count' &&
          f.request_id === undefined &&
          f.data?.dialog_id === dialogId,
      )
      .at(-1);
    expect(inDialog?.data?.count).toBe(ids.length);
  }
}, 180_000);
