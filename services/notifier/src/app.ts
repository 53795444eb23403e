/**
 * The notifier: turns domain events into the frames other sockets see
 * (PROTOCOL.md §4), appended to each user's feed (§8: the feed stream gives them their `seq`,
 * deduplicates a redelivered event's frames by message id, and republishes them to the gateways).
 * It runs active/standby: the instance holding the lease
 * consumes the shared durable consumer; the others wait to take over. One
 * active writer is what keeps every user's pushes in order and lets counter
 * frames of a burst be coalesced without an older value overtaking a newer one.
 */
import { randomUUID } from 'node:crypto';
import {
  appendFeed,
  type BusConnection,
  consumeEvents,
  createLease,
  type EventConsumer,
  ensureFeedStream,
  type Lease,
  type NatsConnection,
  readUnackedEvents,
  retry,
  type Service,
  scanFeedCounters,
} from '@parley/bus';
import type { Logger } from '@parley/logger';
import { counterKey, type DomainEvent, subjects } from '@parley/protocol';
import { type MetricsEndpoint, serveMetrics } from '@parley/telemetry';
import { type CounterVersions, createCounterVersions } from './actors/counter-versions.js';
import { createUserPushes, type UserPushes } from './actors/user-pushes.js';
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
  /** true while this instance holds the lease and consumes */
  readonly active: boolean;
  readonly instanceId: string;
}

export function createNotifierService(deps: NotifierDeps): NotifierService {
  const { config, logger } = deps;
  const s = subjects(config.SUBJECT_PREFIX);
  /** set by start() once connected; everything that uses it runs after that */
  let nc: NatsConnection;
  const metrics = createNotifierMetrics();
  const instanceId = randomUUID().slice(0, 8);
  const log = logger.child({ instance: instanceId });
  let lease: Lease | undefined;
  let pushes: UserPushes | undefined;
  let consumer: EventConsumer | undefined;
  let endpoint: MetricsEndpoint | null = null;
  let transitions: Promise<void> = Promise.resolve();
  let leaseStarted = false;
  /** aborts a pending activation's retries when the lease is lost meanwhile */
  let activation: AbortController | undefined;
  const windowMs = config.FEED_DUPLICATE_WINDOW_SECONDS * 1000;
  let versions: CounterVersions | undefined;

  // appends start in call order on one connection, so one user's frames are stored in that order
  const publish: Parameters<typeof createUserPushes>[0]['publish'] = async (userId, all) => {
    // a counter older than one already in the feed (a redelivered event) is not appended at all
    const entries = all.filter((e) => {
      const key = counterKey(e.entry.item);
      if (key === null || e.entry.version === undefined || !versions) return true;
      if (versions.admit(userId, key, e.entry.version)) return true;
      metrics.staleCounters.inc();
      return false;
    });
    const acks = await Promise.all(entries.map((e) => appendFeed(nc, s, userId, e.entry, e.msgId)));
    metrics.pushes.inc();
    acks.forEach((ack, i) => {
      if (ack.duplicate) metrics.duplicates.inc();
      else metrics.frames.inc({ event: entries[i]?.entry.item.event ?? 'unknown' });
    });
  };

  const handle = async (event: DomainEvent, meta: { deliveryCount: number }) => {
    if (meta.deliveryCount > 1) metrics.redeliveries.inc();
    const plan = event.type === 'message.created' ? createdPushes(event) : seenPushes(event);
    const out = pushes;
    if (!out) throw new Error('notifier is not active');
    await Promise.all(plan.map((p) => out.push(p)));
    metrics.events.inc({ type: event.type });
    log.debug(
      { event_id: event.id, type: event.type, request_id: event.request_id, users: plan.length },
      'pushed',
    );
  };

  const activate = async (signal?: AbortSignal) => {
    if (consumer) return;
    await ensureFeedStream(
      nc,
      s,
      {
        retentionMs: config.FEED_RETENTION_HOURS * 3_600_000,
        duplicateWindowMs: windowMs,
        replicas: config.NATS_REPLICAS,
      },
      { update: true },
    );
    // what the previous active instance appended lately: no counter older than those goes after them
    const seeded = createCounterVersions(windowMs);
    const scanned = await scanFeedCounters(nc, s, Date.now() - windowMs, seeded.seed);
    versions?.dispose();
    versions = seeded;
    log.info({ scanned, counters: seeded.size() }, 'feed counters versions loaded');
    pushes = createUserPushes({
      windowMs: config.PUSH_COALESCE_MS,
      publish,
      onCoalesced: () => metrics.coalesced.inc(),
    });
    // events the previous active instance died holding go first, in stream order: JetStream would
    // redeliver them only after the ack wait, behind newer ones (their redeliveries are deduplicated)
    const held = await readUnackedEvents(nc, s, 'notifier', ['message.created', 'message.seen']);
    if (held.length > 0) {
      await Promise.all(held.map((e) => handle(e, { deliveryCount: 2 })));
      log.info({ events: held.length }, 'handled the events a previous instance held');
    }
    consumer = await consumeEvents({
      nc,
      subjects: s,
      service: 'notifier',
      logger: log,
      types: ['message.created', 'message.seen'],
      handle,
      ackWaitMs: 10_000,
      // handlers only wait for held counter frames; order is kept by starting them in stream order
      concurrency: 256,
      keyOf: (e) => e.id,
      replicas: config.NATS_REPLICAS,
      ...(signal ? { signal } : {}),
    });
    metrics.leader.set(1);
    log.info('active: consuming events');
  };

  const deactivate = async () => {
    const c = consumer;
    const p = pushes;
    consumer = undefined;
    if (c) {
      p?.flushAll();
      await c.stop();
    }
    p?.dispose();
    pushes = undefined;
    versions?.dispose();
    versions = undefined;
    metrics.leader.set(0);
  };

  const onLease = (held: boolean) => {
    activation?.abort();
    const attempt = new AbortController();
    activation = attempt;
    transitions = transitions
      .then(() =>
        held
          ? // a leader that cannot reach its streams yet (a node away) keeps trying while it holds the lease
            retry(() => activate(attempt.signal), { what: 'activation', logger: log, signal: attempt.signal })
          : deactivate(),
      )
      .catch((err: unknown) => log.error({ err }, 'notifier transition failed'));
  };

  return {
    metrics,
    instanceId,
    get active() {
      return consumer !== undefined;
    },
    async start() {
      // /readyz: 503 until the lease bucket answers and, when this instance holds the lease, it consumes
      endpoint = await serveMetrics(metrics.registry, config.METRICS_PORT, log, {
        ready: () => leaseStarted && !nc.isClosed() && (!lease?.held || consumer !== undefined),
      });
      nc = await deps.nc;
      lease = createLease({
        nc,
        subjects: s,
        service: 'notifier',
        holder: instanceId,
        ttlMs: Math.round(config.LEADER_LEASE_SECONDS * 1000),
        logger: log,
        replicas: config.NATS_REPLICAS,
      });
      lease.onChange(onLease);
      await retry(() => lease!.start(), { what: 'lease bucket', logger: log });
      leaseStarted = true;
      await transitions;
    },
    async stop() {
      await lease?.stop();
      onLease(false);
      await transitions;
      await endpoint?.close();
      endpoint = null;
    },
  };
}
