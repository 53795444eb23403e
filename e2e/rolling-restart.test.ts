/**
 * A graceful rolling restart (issue 12): two instances of every service on one prefix — dialogs,
 * gateways, notifiers (sharing the user partitions), mailers — and a steady stream of messages from
 * user 1 to user 2, who has a socket on each gateway. One instance after the other is stopped
 * gracefully and a new one started in its place, the stream running all along; a client whose gateway
 * stops reconnects to the new one with `since` (PROTOCOL.md §8). Afterwards every acknowledged message
 * is stored once, pushed once to each of user 2's clients in order, e-mailed once, and the counters
 * pushed last equal what dialogs answers.
 */
import { afterEach, expect, test } from '@jest/globals';
import { NOTIFY_PARTITIONS } from '@parley/protocol';
import { sleep, type TestSocket, waitFor } from '@parley/testing';
import { createDialog, createUser, startDialogs } from '../services/dialogs/test/harness.js';
import { isPush, pushOf, type System, seqOf, startSystem } from './system.js';

/** after every consumer drained, how long a duplicate push or e-mail would still need */
const SETTLE_MS = 500;

let sys: System | undefined;
const extra: Array<{ stop(): Promise<void> }> = [];

afterEach(async () => {
  for (const d of extra.splice(0)) await d.stop().catch(() => undefined);
  await sys?.stop();
  sys = undefined;
}, 120_000);

test('every instance of every service restarted in turn during a stream: nothing lost, nothing doubled', async () => {
  sys = await startSystem({
    gatewayEnv: { REQUEST_TIMEOUT_MS: '3000' },
    serviceEnv: { MAIL_MAX_PER_RECIPIENT_PER_HOUR: '0' },
  });
  const system = sys;
  const dialogsConfig = { NATS_URL: system.nats.url.split(','), OUTBOX_POLL_MS: 200 };
  const gateways = [system.gateway, await system.startGateway()];
  const notifiers = [
    await system.startNotifier({ LEADER_LEASE_SECONDS: '2' }),
    await system.startNotifier({ LEADER_LEASE_SECONDS: '2' }),
  ];
  const mailers = [await system.startMailer(), await system.startMailer()];
  const dialogs2 = await startDialogs({
    prefix: system.prefix,
    db: system.dialogs.db,
    config: dialogsConfig,
  });
  extra.push(dialogs2);
  await waitFor(() => notifiers.every((n) => n.partitions().length === NOTIFY_PARTITIONS / 2), {
    timeoutMs: 15_000,
    what: 'the notifiers to share the partitions',
  });

  const { rpc } = system.dialogs;
  await createUser(rpc, 1, { first_name: 'Anna', last_name: 'Petrova' });
  await createUser(rpc, 2);
  const dialogId = (await createDialog(rpc, [1, 2])).id;
  // the sender on the second gateway; user 2 on both (their sockets move when a gateway restarts)
  let sender = await system.socket(1, { gateway: gateways[1] });
  const b: TestSocket[][] = [
    [await system.socket(2, { gateway: gateways[0] })],
    [await system.socket(2, { gateway: gateways[1] })],
  ];

  const ids: number[] = [];
  let n = 0;
  let streaming = true;
  const stream = (async () => {
    while (streaming) {
      n++;
      const answer = await waitFor(
        async () => {
          if (sender.ws.readyState !== sender.ws.OPEN) return undefined;
          const r = await sender
            .request(
              { event: 'dialogs.messages.create', dialog_id: dialogId, body: `m ${n}`, client_id: `c-${n}` },
              10_000,
            )
            .catch(() => undefined);
          return r && !r.exception ? r : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: `an answer to message ${n}` },
      );
      ids.push(answer.data.id as number);
      await sleep(40);
    }
  })();
  const progress = async () => {
    const at = ids.length;
    await waitFor(() => ids.length >= at + 5, { timeoutMs: 30_000, what: 'the stream to go on' });
  };

  await progress();
  // gateways: user 2's client of the stopped one resumes on its replacement with `since`
  for (const i of [0, 1]) {
    const old = gateways[i]!;
    const client = b[i]!.at(-1)!;
    const resumeFrom = () => seqOf(client);
    if (i === 1) {
      // the sender lives on this one: it moves to the other gateway first
      sender = await system.socket(1, { gateway: gateways[0] });
    }
    await old.stop();
    const fresh = await system.startGateway();
    gateways[i] = fresh;
    const resumed = await system.socket(2, { gateway: fresh, since: resumeFrom() });
    await resumed.next((f) => f.event === 'sync' && !f.exception, { timeoutMs: 30_000 });
    b[i]!.push(resumed);
    await progress();
  }
  // notifiers: one stops (its partitions go to the other at once), a new one takes half back
  for (const i of [0, 1]) {
    await notifiers[i]!.stop();
    await progress();
    notifiers[i] = await system.startNotifier({ LEADER_LEASE_SECONDS: '2' });
    await waitFor(() => notifiers.every((x) => x.partitions().length === NOTIFY_PARTITIONS / 2), {
      timeoutMs: 15_000,
      what: 'the partitions shared again',
    });
    await progress();
  }
  // mailers and dialogs
  for (const i of [0, 1]) {
    await mailers[i]!.mailer.stop();
    await progress();
    mailers.push(await system.startMailer());
    await progress();
  }
  await dialogs2.stop();
  await progress();
  const dialogs3 = await startDialogs({
    prefix: system.prefix,
    db: system.dialogs.db,
    config: dialogsConfig,
  });
  extra.push(dialogs3);
  await progress();
  streaming = false;
  await stream;

  const last = ids.at(-1) as number;
  const current = b.map((list) => list.at(-1)!);
  for (const sock of current) {
    await waitFor(() => sock.where(pushOf(last)).length >= 1, {
      timeoutMs: 60_000,
      what: 'the last message on each of user 2’s clients',
    });
  }
  const mailed = () => mailers.flatMap((m) => m.sink.messages.map((msg) => msg.parsed.messageId));
  await waitFor(() => mailed().length >= ids.length, { timeoutMs: 60_000, what: 'an e-mail per message' });
  await system.drained('notifier', 30_000);
  await system.drained('mailer', 30_000);
  await sleep(SETTLE_MS);

  // stored once: every page (a slow machine streams more than one page of messages meanwhile)
  const storedIds: number[] = [];
  let total = -1;
  do {
    const page = await current[0]!.request(
      { event: 'dialogs.messages.load', dialog_id: dialogId, limit: 100, offset: storedIds.length },
      10_000,
    );
    total = page.meta.total;
    if (page.data.length === 0) break;
    storedIds.push(...page.data.map((m: { id: number }) => m.id));
  } while (storedIds.length < total);
  expect(total).toBe(ids.length);
  expect(storedIds.sort((x, y) => x - y)).toEqual([...ids].sort((x, y) => x - y));
  // pushed once to each client, in order, across its reconnections
  for (const list of b) expect(list.flatMap((s) => s.where(isPush)).map((f) => f.data.id)).toEqual(ids);
  // mailed once
  expect([...mailed()].sort()).toEqual(ids.map((id) => `<parley.m${id}.u2@localhost>`).sort());
  // counters equal the truth
  const unread = await current[0]!.request({ event: 'notifications.dialogs.count' }, 10_000);
  expect(unread.data).toBe(1);
  for (const sock of current) {
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
