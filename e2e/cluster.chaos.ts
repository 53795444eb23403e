/**
 * Parley on a three-node NATS cluster (private nodes from the local nats-server binary: routes on
 * loopback ports, JetStream with its own store on each) with NATS_REPLICAS=3, every service a real
 * process (its built `dist/main.js`), two instances of each: gateway, dialogs, notifier
 * (active-active: 8 of the 16 user partitions each), mailer (to an SMTP sink).
 *
 * User 1 sends a steady stream of messages to a group dialog whose members fall into both notifiers'
 * partitions, as many on each (so both work, about half each); user 2 has a client on each gateway
 * that reconnects with `?since=` (PROTOCOL.md §8) and takes e-mails. During the stream the node
 * leading the event stream is SIGKILLed and restarted a few seconds later, then one instance of each
 * service in turn is SIGKILLed and started again. Afterwards every acknowledged message is stored once, pushed once to
 * each client in order, e-mailed once (a repeat only for a mailer killed mid-transaction), the
 * clients' last counter frames equal the truth, and no process exited on its own. The notifiers'
 * /metrics show the split of the work, the survivor taking all 16 partitions after the kill, and
 * the restarted instance taking 8 back.
 */
import { afterAll, expect, test } from '@jest/globals';
import { connectBus, type NatsConnection } from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { NOTIFY_PARTITIONS, notifyPartition, subjects } from '@parley/protocol';
import {
  createTestDatabase,
  freePort,
  type NatsCluster,
  randomPrefix,
  type SmtpSink,
  sleep,
  startNatsCluster,
  startSmtpSink,
  type TestDatabase,
  waitFor,
} from '@parley/testing';
import { ADMIN_TOKEN, JWT_SECRET } from '../services/gateway/test/helpers.js';
import {
  admin,
  answers200,
  awaitDeliveries,
  buildServices,
  countersTrue,
  resilientReceiver,
  type ServiceProcess,
  service,
  serviceCrashes,
  steadySender,
  stopAll,
  truthOf,
} from './processes.js';

const LEASE_SECONDS = 2;
/** between two messages of the stream */
const PACE_MS = 100;
/** how long the killed NATS node stays down */
const NODE_DOWN_MS = 3_000;
/** how long a killed service stays down */
const SERVICE_DOWN_MS = 1_000;
/** messages acknowledged after each step before the next one: the stream goes on */
const PROGRESS = 5;
/** after every consumer is drained, how long a duplicate push or e-mail would still need */
const SETTLE_MS = 500;
/** members of the group dialog pushed to by each notifier (user 1 sends, user 2 receives and is mailed) */
const MEMBERS_PER_NOTIFIER = 3;

let cluster: NatsCluster | undefined;
let db: TestDatabase | undefined;
let sink: SmtpSink | undefined;
let nc: NatsConnection | undefined;

afterAll(async () => {
  await stopAll();
  await nc?.close();
  await cluster?.stop();
  await db?.drop();
  await sink?.stop();
}, 30_000);

/** a notifier's partitions gauge and frame counters, from its /metrics */
async function notifierMetrics(port: number) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  /** a metric's value, summed over its labels */
  const sum = (name: string) => {
    let total = 0;
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm')))
      total += Number(m[1]);
    return total;
  };
  return {
    partitions: sum('parley_notifier_partitions'),
    frames: sum('parley_notifier_frames_total'),
    duplicates: sum('parley_notifier_feed_duplicates_total'),
    stale_counters: sum('parley_notifier_stale_counter_frames_total'),
  };
}

/** where a receiver's ids first differ from what was sent: a few ids (and their feed seqs) around it */
function outOfOrder(ids: number[], seqs: number[] | null, sent: number[]) {
  const i = ids.findIndex((id, k) => id !== sent[k]);
  if (i < 0) return {};
  const from = Math.max(0, i - 2);
  return {
    first_difference: i,
    got: ids.slice(from, i + 4).map((id, k) => (seqs ? `${id}@${seqs[from + k]}` : id)),
    sent: sent.slice(from, i + 4),
  };
}

type JetStreamManager = Awaited<ReturnType<NatsConnection['jetstreamManager']>>;

/** the message ids of the `message.created` events in the event stream, in stream order */
async function createdInStream(jsm: JetStreamManager, stream: string): Promise<number[]> {
  const { state } = await jsm.streams.info(stream);
  const ids: number[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    const e = m?.json<{ type?: string; message?: { id: number } }>();
    if (e?.type === 'message.created' && e.message) ids.push(e.message.id);
  }
  return ids;
}

/** user `userId`'s last counter entries in the feed (seq, counter, version, value), newest first */
async function lastCounterEntries(jsm: JetStreamManager, stream: string, subject: string, max = 6) {
  const { state } = await jsm.streams.info(stream);
  const out: string[] = [];
  for (
    let seq = state.last_seq;
    seq >= state.first_seq && out.length < max && seq > state.last_seq - 2_000;
    seq--
  ) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m?.subject !== subject) continue;
    const e = m.json<{ item: { event: string; data: unknown }; version?: number }>();
    if (e.item.event.startsWith('notifications.'))
      out.push(`${seq} ${e.item.event} v${e.version} ${JSON.stringify(e.item.data)}`);
  }
  return out;
}

/** the instance id a notifier process logs with every line */
function instanceOf(p: ServiceProcess): string | undefined {
  for (const line of p.lines()) {
    const m = /"instance":"([^"]+)"/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

test('a NATS node and one instance of every service SIGKILLed and restarted mid-stream: every message stored, pushed and mailed once, counters true', async () => {
  const t0 = Date.now();
  buildServices();
  [cluster, db, sink] = await Promise.all([startNatsCluster(3), createTestDatabase(), startSmtpSink()]);
  const prefix = randomPrefix();
  const s = subjects(prefix);
  nc = await connectBus({ servers: cluster.urls, name: 'e2e-observer', logger: silentLogger() });
  const observer = nc;
  const common = {
    NATS_URL: cluster.urls.join(','),
    NATS_REPLICAS: '3',
    SUBJECT_PREFIX: prefix,
    // max_bytes is reserved on every node: the 10 GiB default would not fit three times
    FILES_BUCKET_MAX_BYTES: String(64 * 1024 * 1024),
    LOG_LEVEL: 'info',
  };

  const gatewayPorts = [await freePort(), await freePort()];
  const urls = gatewayPorts.map((p) => `http://127.0.0.1:${p}`);
  const gateways = gatewayPorts.map((port, i) =>
    service(
      `gateway-${i + 1}`,
      'services/gateway/dist/main.js',
      {
        ...common,
        PORT: String(port),
        JWT_SECRET,
        ADMIN_TOKEN,
        RATE_LIMIT_PER_SEC: '1000',
        RATE_LIMIT_BURST: '1000',
        REQUEST_TIMEOUT_MS: '3000',
      },
      { probe: () => answers200(`${urls[i]}/readyz`) },
    ),
  );
  const dialogs = [1, 2].map((i) =>
    service(
      `dialogs-${i}`,
      'services/dialogs/dist/main.js',
      { ...common, MYSQL_URL: db!.url, OUTBOX_POLL_MS: '200' },
      { probe: (p) => p.lines().some((l) => l.includes('dialogs service started')) },
    ),
  );
  const notifierPorts = [await freePort(), await freePort()];
  const notifiers = notifierPorts.map((port, i) =>
    service(
      `notifier-${i + 1}`,
      'services/notifier/dist/main.js',
      { ...common, LEADER_LEASE_SECONDS: String(LEASE_SECONDS), METRICS_PORT: String(port) },
      { probe: () => answers200(`http://127.0.0.1:${port}/readyz`) },
    ),
  );
  const mailerPorts = [await freePort(), await freePort()];
  const mailers = mailerPorts.map((port, i) =>
    service(
      `mailer-${i + 1}`,
      'services/mailer/dist/main.js',
      {
        ...common,
        JWT_SECRET,
        SMTP_URL: sink!.url,
        MAIL_FROM: 'Parley <noreply@cluster.test>',
        // every message of the stream is mailed: no hourly cap folding them into digests
        MAIL_MAX_PER_RECIPIENT_PER_HOUR: '0',
        METRICS_PORT: String(port),
      },
      { probe: () => answers200(`http://127.0.0.1:${port}/readyz`) },
    ),
  );
  const all = [...dialogs, ...notifiers, ...mailers, ...gateways];
  for (const p of all) p.start();
  await Promise.all(all.map((p) => p.ready(90_000)));
  const bothHold8 = async () =>
    (await Promise.all(notifierPorts.map(notifierMetrics))).every(
      (m) => m.partitions === NOTIFY_PARTITIONS / 2,
    );
  await waitFor(bothHold8, {
    timeoutMs: 30_000,
    intervalMs: 100,
    what: 'the notifiers to hold 8 partitions each',
  });

  // bound, never created: a bucket created here would have no max_age
  const leases = await observer.jetstream().views.kv(s.leaseBucket('notifier'), { bindOnly: true });
  const holders = () =>
    Promise.all(
      Array.from(
        { length: NOTIFY_PARTITIONS },
        async (_, p) => (await leases.get(`p.${p}`))?.json<{ holder: string }>().holder,
      ),
    );
  // users 1 and 2, and more users so that each notifier pushes to as many members as the other
  const owners = await holders();
  const members: number[] = [];
  const perHolder = new Map<string | undefined, number>();
  for (let u = 1; members.length < 2 * MEMBERS_PER_NOTIFIER; u++) {
    const owner = owners[notifyPartition(u)];
    const n = perHolder.get(owner) ?? 0;
    if (u > 2 && n >= MEMBERS_PER_NOTIFIER) continue;
    members.push(u);
    perHolder.set(owner, n + 1);
  }

  const base = urls[0] as string;
  for (const id of members) {
    await admin(base, 'PUT', `/api/admin/users/${id}`, {
      first_name: `User ${id}`,
      ...(id === 2 ? { email: 'b@example.com', email_notifications: true } : {}),
    });
  }
  const dialog = (await admin(base, 'POST', '/api/admin/dialogs', { users: members })) as { id: number };
  const receivers = [resilientReceiver(2, urls), resilientReceiver(2, [...urls].reverse())];
  await waitFor(() => receivers.every((r) => r.connections() > 0), {
    timeoutMs: 10_000,
    what: 'the receivers',
  });
  // when each e-mail arrived, to place a repeat on the timeline
  const arrived = new Map<string, number[]>();
  sink.onAccept = (m) => {
    const id = m.parsed.messageId ?? '';
    arrived.set(id, [...(arrived.get(id) ?? []), Date.now()]);
  };
  const sender = steadySender({ urls, userId: 1, dialogId: dialog.id, paceMs: PACE_MS });
  const { sent } = sender;
  const streamStart = Date.now();
  const secs = (t = Date.now()) => Math.round((t - streamStart) / 100) / 10;
  /** what happened when (seconds since the stream started) */
  const timeline: Array<[string, number]> = [];
  const mark = (what: string) => timeline.push([what, secs()]);
  const progress = async (what: string) => {
    const from = sent.length;
    await waitFor(() => sent.length >= from + PROGRESS, {
      timeoutMs: 60_000,
      intervalMs: 50,
      what: `${PROGRESS} messages acknowledged after ${what}`,
    });
  };
  await progress('the start');

  // the node leading the event stream dies mid-stream and comes back a few seconds later
  const jsm = await observer.jetstreamManager();
  const leaderName = (await jsm.streams.info(s.eventStream)).cluster?.leader;
  const node = cluster.nodes.find((n) => n.name === leaderName);
  if (!node) throw new Error(`no node leads ${s.eventStream} (${leaderName})`);
  await node.kill();
  mark(`${node.name} killed`);
  await sleep(NODE_DOWN_MS);
  await node.restart();
  mark(`${node.name} restarted`);
  await cluster.ready(60_000);
  await waitFor(
    async () => {
      const info = await jsm.streams.info(s.eventStream);
      return (info.cluster?.replicas ?? []).filter((r) => r.current).length === 2;
    },
    { timeoutMs: 60_000, intervalMs: 200, what: `${node.name} to be a current replica again` },
  );
  await progress(`${node.name} came back`);
  mark(`${node.name} current, stream flowing`);

  // one instance of each service in turn; the notifier: the holder of user 2's partition
  const restart = async (p: ServiceProcess) => {
    await p.kill();
    mark(`${p.name} killed`);
    await sleep(SERVICE_DOWN_MS);
    p.start();
    await p.ready(60_000);
    mark(`${p.name} ready`);
    await progress(`${p.name} came back`);
  };
  await restart(gateways[0] as ServiceProcess);
  await restart(dialogs[0] as ServiceProcess);

  await waitFor(
    async () =>
      (await Promise.all(notifierPorts.map(notifierMetrics))).every(
        (m) => m.partitions === NOTIFY_PARTITIONS / 2 && m.frames > 0,
      ),
    { timeoutMs: 30_000, intervalMs: 100, what: 'both notifiers holding 8 partitions and appending frames' },
  );
  const split = await Promise.all(notifierPorts.map(notifierMetrics));
  console.log(`cluster: notifier frames split ${split.map((m) => m.frames).join('/')}`);
  const owner = (await leases.get(`p.${notifyPartition(2)}`))?.json<{ holder: string }>().holder;
  const victim = notifiers.findIndex((p) => instanceOf(p) === owner);
  expect(victim).toBeGreaterThanOrEqual(0);
  const doomed = notifiers[victim] as ServiceProcess;
  const survivor = notifiers[1 - victim] as ServiceProcess;
  const survivorPort = notifierPorts[1 - victim] as number;
  const killedAt = Date.now();
  await doomed.kill();
  mark(`${doomed.name} killed`);
  // the lease keys move once the dead holder's expire; the gauge once the survivor consumes them all
  const keysMovedMs = await waitFor(
    async () => {
      return (await holders()).every((h) => h === instanceOf(survivor)) && Date.now() - killedAt;
    },
    {
      timeoutMs: LEASE_SECONDS * 1000 + 10_000,
      intervalMs: 50,
      what: 'every lease key held by the survivor',
    },
  );
  await waitFor(async () => (await notifierMetrics(survivorPort)).partitions === NOTIFY_PARTITIONS, {
    timeoutMs: LEASE_SECONDS * 1000 + 20_000,
    intervalMs: 50,
    what: 'the surviving notifier to consume all 16 partitions',
  });
  const takeoverMs = Date.now() - killedAt;
  mark(`${survivor.name} consumes 16 partitions`);
  console.log(
    `cluster: lease ${LEASE_SECONDS} s; the survivor held every lease key ${keysMovedMs} ms and consumed all ${NOTIFY_PARTITIONS} partitions ${takeoverMs} ms after the kill`,
  );
  await sleep(SERVICE_DOWN_MS);
  doomed.start();
  await doomed.ready(60_000);
  await waitFor(bothHold8, { timeoutMs: 30_000, intervalMs: 100, what: 'the partitions shared 8/8 again' });
  mark(`${doomed.name} back, 8/8`);
  await progress(`${doomed.name} came back`);

  const mailerKilledAt = Date.now();
  await mailers[0]?.kill();
  const mailerExitedAt = Date.now();
  mark('mailer-1 killed');
  await sleep(SERVICE_DOWN_MS);
  mailers[0]?.start();
  await mailers[0]?.ready(60_000);
  mark('mailer-1 ready');
  await progress('mailer-1 came back');
  const mailerKills = 1;

  await sender.stop();
  mark('stream stopped');
  const mailIds = () => sink!.messages.map((m) => m.parsed.messageId ?? '');
  const idOf = (id: number) => `<parley.m${id}.u2@cluster.test>`;
  await awaitDeliveries({ receivers, sent, mailIds, idOf, mailTimeoutMs: 60_000 });
  await waitFor(
    async () => {
      const work = await jsm.streams.info(s.notifyStream);
      const mail = await jsm.consumers.info(s.mailStream, s.mailDurable);
      return work.state.messages === 0 && mail.num_pending === 0 && mail.num_ack_pending === 0;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: 'the notifiers and mailers to drain' },
  );
  mark('drained');
  await sleep(SETTLE_MS);

  // what dialogs stored, every page, and the counters as dialogs answers them now
  const truth = await truthOf(base, 2, dialog.id);
  const { stored } = truth;
  for (const r of receivers) await r.stop();

  const mails = mailIds();
  const crashes = serviceCrashes();
  const notifiersAtEnd = await Promise.all(notifierPorts.map(notifierMetrics));
  // where the counters went wrong: what the feed holds last for user 2
  const feedCounters = receivers.every((r) => countersTrue(r, truth))
    ? undefined
    : {
        true_counters: { dialogs: truth.dialogs, messages: truth.messages },
        last_in_feed: await lastCounterEntries(jsm, s.feedStream, s.feed(2)),
      };
  // where an order went wrong: the relay publishes events in commit order, the notifiers push them
  const inStream = await createdInStream(jsm, s.eventStream);
  const repeated = [...arrived].filter(([, times]) => times.length > 1);
  const report = {
    sent: sent.length,
    stored: truth.total,
    stored_ids_equal: JSON.stringify(stored) === JSON.stringify(sent),
    event_stream: {
      created: inStream.length,
      in_order: JSON.stringify(inStream) === JSON.stringify(sent),
      ...outOfOrder(inStream, null, sent),
    },
    mailer_kills: mailerKills,
    emails_missing: sent.filter((id) => !mails.includes(idOf(id))).length,
    emails_repeated: mails.length - new Set(mails).size,
    repeats: repeated.map(([id, times]) => ({
      id,
      at: times.map((t) => secs(t)),
      dates: sink!.messages.filter((m) => m.parsed.messageId === id).map((m) => m.parsed.headers.get('date')),
    })),
    emails_unknown: mails.filter((m) => !sent.some((id) => idOf(id) === m)).length,
    receivers: receivers.map((r, i) => {
      const got = new Set(r.ids);
      return {
        receiver: i + 1,
        received: r.ids.length,
        connections: r.connections(),
        lost: sent.filter((id) => !got.has(id)).length,
        duplicated: r.ids.length - got.size,
        in_order: JSON.stringify(r.ids) === JSON.stringify(sent),
        ...outOfOrder(r.ids, r.seqs, sent),
        resyncs: r.resyncs(),
        counters_true: countersTrue(r, truth),
        ...(countersTrue(r, truth) ? {} : { last_counters: r.counters }),
      };
    }),
    ...(feedCounters ? { feed_counters: feedCounters } : {}),
    notifiers_at_end: notifiersAtEnd,
    crashes: crashes.length,
    timeline: Object.fromEntries(timeline),
    seconds: Math.round((Date.now() - t0) / 1000),
  };
  console.log(`cluster: ${JSON.stringify(report)}`);
  for (const c of crashes) console.log(`cluster: ${c.service} (pid ${c.pid}) exited on its own:`, c);
  expect(crashes).toEqual([]);
  expect(report.stored).toBe(report.sent);
  expect(stored).toEqual(sent);
  expect(report.emails_missing).toBe(0);
  expect(report.emails_unknown).toBe(0);
  // a repeat only for the kill in the middle of an SMTP transaction, with the first's Message-ID: the
  // first copy taken by the sink while the killed mailer still ran (the sink may finish reading it a
  // moment later), the second after the kill
  expect(report.emails_repeated).toBeLessThanOrEqual(report.mailer_kills);
  const MID_TRANSACTION_SLACK_MS = 1_000;
  for (const [id, times] of repeated) {
    const [first = 0, second = 0] = times;
    const midTransaction =
      times.length === 2 && first <= mailerExitedAt + MID_TRANSACTION_SLACK_MS && second >= mailerKilledAt;
    expect({ id, repeated_by_the_mailer_kill: midTransaction }).toEqual({
      id,
      repeated_by_the_mailer_kill: true,
    });
  }
  expect(truth.dialogs).toBe(1);
  expect(truth.messages).toEqual({ count: sent.length, dialog_id: dialog.id });
  for (const r of report.receivers) {
    expect(r).toMatchObject({ lost: 0, duplicated: 0, in_order: true, resyncs: 0, counters_true: true });
  }
  // a dead holder's keys expire within the lease; the survivor takes them at its next tick or two
  expect(keysMovedMs).toBeLessThan(LEASE_SECONDS * 1000 + 3_000);
}, 240_000);
