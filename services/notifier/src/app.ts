/**
 * The notifier: turns domain events into the frames other sockets see
 * (PROTOCOL.md §4), appended to each user's feed (§8: the feed stream gives them their `seq`,
 * deduplicates a redelivered event's frames by message id, and republishes them to the gateways).
 *
 * It runs active-active: users fall in NOTIFY_PARTITIONS partitions (libs/protocol partitions.ts),
 * the running instances share the partitions out (a lease per partition, libs/bus
 * partition-leases.ts), and the instance holding a partition consumes that partition's copy of the
 * events (`<prefix>.ntf.<p>`, written by dialogs' outbox relay) and pushes to its users only. One
 * writer per user is what keeps every user's pushes in order and lets counter frames of a burst be
 * coalesced without an older value overtaking a newer one; when an instance stops or dies, its
 * partitions move to the others.
 */
import { randomUUID } from 'node:crypto';
import {
  appendFeed,
  type BusConnection,
  consumeEvents,
  createKeyedLimiter,
  createPartitionLeases,
  type EventConsumer,
  ensureEventStream,
  ensureFeedStream,
  isJsNotFound,
  type NatsConnection,
  type PartitionLeases,
  readUnackedEvents,
  retry,
  type Service,
  scanFeedCounters,
} from '@parley/bus';
import type { Logger } from '@parley/logger';
import {
  counterKey,
  type DomainEvent,
  type DomainEventType,
  NOTIFY_PARTITIONS,
  notifyPartition,
  subjects,
} from '@parley/protocol';
import { type MetricsEndpoint, serveMetrics } from '@parley/telemetry';
import { type CounterVersions, createCounterVersions } from './actors/counter-versions.js';
import { createUserPushes, type Entry, type UserPushes } from './actors/user-pushes.js';
import type { NotifierConfig } from './config.js';
import { createdPushes, seenPushes } from './fanout.js';
import { createNotifierMetrics, type NotifierMetrics } from './metrics.js';

export interface NotifierDeps {
  config: NotifierConfig;
  /** the connection, or connectBus's promise of it (start() serves /readyz before it waits for it) */
  nc: BusConnection;
  logger: Logger;
}

export interface NotifierService extends Service {
  readonly metrics: NotifierMetrics;
  /** true while this instance consumes at least one partition */
  readonly active: boolean;
  /** the partitions this instance consumes, ascending */
  partitions(): number[];
  readonly instanceId: string;
}

const TYPES: readonly DomainEventType[] = ['message.created', 'message.seen'];
/** a failed append is tried again this many times (100 ms doubling to 2 s: about 20 s) before its event fails */
const APPEND_RETRIES = 14;

export function createNotifierService(deps: NotifierDeps): NotifierService {
  const { config, logger } = deps;
  const s = subjects(config.SUBJECT_PREFIX);
  /** set by start() once connected; everything that uses it runs after that */
  let nc: NatsConnection;
  const metrics = createNotifierMetrics();
  const instanceId = randomUUID().slice(0, 8);
  const log = logger.child({ instance: instanceId });
  const consumers = new Map<number, EventConsumer>();
  let leases: PartitionLeases | undefined;
  let endpoint: MetricsEndpoint | null = null;
  let leasesStarted = false;
  const windowMs = config.FEED_DUPLICATE_WINDOW_SECONDS * 1000;
  // both live as long as the instance: a user's state is only ever used by its partition's holder
  const versions: CounterVersions = createCounterVersions(windowMs);
  let pushes: UserPushes | undefined;

  /**
   * One user's appends go one after another, in call order (= stream order of the events), and a
   * failed append (a 503 while a stream leader is elected) is retried in place before the next one:
   * appends merely started in order could be stored out of order when an earlier one fails and a
   * later one does not (seen in the cluster chaos test).
   */
  const perUser = createKeyedLimiter<number>(1);
  let stopping = false;
  const appendInOrder = async (userId: number, entries: Entry[]) => {
    for (let attempt = 0; ; attempt++) {
      // one flush for the user's entries, acks matched asynchronously (no request object per entry)
      const acks = await appendFeed(nc, s, userId, entries);
      const failed = acks.find((a): a is PromiseRejectedResult => a.status === 'rejected');
      if (!failed) {
        metrics.pushes.inc();
        acks.forEach((ack, i) => {
          if (ack.status === 'fulfilled' && ack.value.duplicate) metrics.duplicates.inc();
          else metrics.frames.inc({ event: entries[i]?.entry.item.event ?? 'unknown' });
        });
        return;
      }
      // what was stored is recognised by its message id when the entries go again
      if (stopping || attempt >= APPEND_RETRIES) throw failed.reason;
      metrics.appendRetries.inc();
      await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** attempt)));
    }
  };
  const publish: Parameters<typeof createUserPushes>[0]['publish'] = (userId, all) => {
    // a counter older than one already in the feed (a redelivered event) is not appended at all
    const entries = all.filter((e) => {
      const key = counterKey(e.entry.item);
      if (key === null || e.entry.version === undefined) return true;
      if (versions.admit(userId, key, e.entry.version)) return true;
      metrics.staleCounters.inc();
      return false;
    });
    return perUser.run(userId, () => appendInOrder(userId, entries));
  };

  const handle = (partition: number) => async (event: DomainEvent, meta: { deliveryCount: number }) => {
    if (meta.deliveryCount > 1) metrics.redeliveries.inc();
    const all = event.type === 'message.created' ? createdPushes(event) : seenPushes(event);
    const plan = all.filter((m) => notifyPartition(m.user_id) === partition);
    const out = pushes;
    if (!out) throw new Error('notifier is stopped');
    await Promise.all(plan.map((p) => out.push(p)));
    metrics.events.inc({ type: event.type });
    log.debug(
      { event_id: event.id, type: event.type, request_id: event.request_id, users: plan.length, partition },
      'pushed',
    );
  };

  const streams = () =>
    Promise.all([
      ensureEventStream(nc, s, { replicas: config.NATS_REPLICAS }),
      ensureFeedStream(
        nc,
        s,
        {
          retentionMs: config.FEED_RETENTION_HOURS * 3_600_000,
          duplicateWindowMs: windowMs,
          replicas: config.NATS_REPLICAS,
        },
        { update: true },
      ),
    ]);

  /** start consuming partitions (retrying while NATS or a node is away, until they are lost) */
  const acquire = async (ps: number[], signal: AbortSignal) => {
    const opts = { logger: log, signal };
    await retry(streams, { what: 'streams', ...opts });
    // what the previous holders appended lately: no counter older than those goes after them
    const mine = new Set(ps);
    const scanned = await retry(
      () =>
        scanFeedCounters(nc, s, Date.now() - windowMs, (user, key, version) => {
          if (mine.has(notifyPartition(user))) versions.seed(user, key, version);
        }),
      { what: 'feed counters scan', ...opts },
    );
    log.info({ scanned, partitions: ps }, 'feed counters versions loaded');
    for (const p of ps) {
      if (signal.aborted) return;
      const from = { stream: s.notifyStream, durable: s.notifyDurable(p), subject: s.notify(p) };
      // events the previous holder died holding go first, in stream order: JetStream would
      // redeliver them only after the ack wait, behind newer ones (their redeliveries are deduplicated)
      const held = await retry(() => readUnackedEvents(nc, from, TYPES), { what: 'unacked events', ...opts });
      if (held.length > 0) {
        await Promise.all(held.map((e) => handle(p)(e, { deliveryCount: 2 })));
        log.info({ events: held.length, partition: p }, 'handled the events a previous holder held');
      }
      if (signal.aborted) return;
      const consumer = await consumeEvents({
        nc,
        subjects: s,
        service: 'notifier',
        logger: log,
        types: TYPES,
        handle: handle(p),
        ackWaitMs: 10_000,
        // handlers only wait for held counter frames; order is kept by starting them in stream order
        concurrency: 256,
        keyOf: (e) => e.id,
        // a lost ack is a redelivery whose frames the feed recognises by message id
        confirmAcks: false,
        stream: s.notifyStream,
        durable: from.durable,
        filterSubject: from.subject,
        replicas: config.NATS_REPLICAS,
        signal,
      });
      consumers.set(p, consumer);
      metrics.partitions.set(consumers.size);
    }
    log.info({ partitions: [...consumers.keys()].sort((a, b) => a - b) }, 'consuming');
  };

  /** stop consuming partitions; resolves once every frame they caused is in the feed */
  const release = async (ps: number[]) => {
    pushes?.flushAll();
    await Promise.all(
      ps.map(async (p) => {
        const c = consumers.get(p);
        consumers.delete(p);
        await c?.stop();
      }),
    );
    metrics.partitions.set(consumers.size);
  };

  /** an 0.1 notifier's durable on the event stream: gone once nothing waits in it */
  const retireLegacyDurable = async () => {
    const jsm = await nc.jetstreamManager();
    const legacy = s.durable('notifier');
    try {
      const ci = await jsm.consumers.info(s.eventStream, legacy);
      if (ci.num_pending + ci.num_ack_pending === 0) await jsm.consumers.delete(s.eventStream, legacy);
      else
        log.warn(
          { pending: ci.num_pending + ci.num_ack_pending },
          'an 0.1 notifier still has events to push',
        );
    } catch (err) {
      if (!isJsNotFound(err)) throw err;
    }
  };

  return {
    metrics,
    instanceId,
    get active() {
      return consumers.size > 0;
    },
    partitions: () => [...consumers.keys()].sort((a, b) => a - b),
    async start() {
      // /readyz: 503 until the lease bucket answers and every partition this instance holds is consumed
      endpoint = await serveMetrics(metrics.registry, config.METRICS_PORT, log, {
        ready: () => leasesStarted && !nc.isClosed() && (leases?.held() ?? []).every((p) => consumers.has(p)),
      });
      nc = await deps.nc;
      pushes = createUserPushes({
        windowMs: config.PUSH_COALESCE_MS,
        publish,
        onCoalesced: () => metrics.coalesced.inc(),
      });
      leases = createPartitionLeases({
        nc,
        subjects: s,
        service: 'notifier',
        holder: instanceId,
        ttlMs: Math.round(config.LEADER_LEASE_SECONDS * 1000),
        partitions: NOTIFY_PARTITIONS,
        logger: log,
        replicas: config.NATS_REPLICAS,
        acquire,
        release,
      });
      await retry(() => leases!.start(), { what: 'lease bucket', logger: log });
      leasesStarted = true;
      void retireLegacyDurable().catch((err: unknown) => log.warn({ err }, 'legacy durable check failed'));
    },
    async stop() {
      stopping = true;
      await leases?.stop();
      pushes?.flushAll();
      pushes?.dispose();
      pushes = undefined;
      versions.dispose();
      await endpoint?.close();
      endpoint = null;
    },
  };
}
