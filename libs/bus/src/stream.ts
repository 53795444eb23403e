/**
 * JetStream: the domain-event stream, publishing with the event id as the
 * message id (server-side dedupe), and durable consumers shared by every
 * instance of a service with explicit acks, bounded redelivery with backoff,
 * and a dead-letter subject for poison events.
 */
import type { Logger } from '@parley/logger';
import {
  type DomainEvent,
  type DomainEventType,
  domainEventSchema,
  type ServiceName,
  type Subjects,
} from '@parley/protocol';
import {
  AckPolicy,
  ConsumerEvents,
  DeliverPolicy,
  type JsMsg,
  type NatsConnection,
  nanos,
  headers as natsHeaders,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from 'nats';
import { decode } from './codec.js';
import { isJsNotFound } from './not-found.js';
import { type PublishedEvent, publishEvents } from './publish-batch.js';
import { raiseReplicas } from './replicas.js';
import { retry } from './retry.js';

/**
 * pull expiry and idle heartbeat of every consume() (ms). nats.js 2.29 re-issues a pull after two
 * missed heartbeats, and after a failed consumer-info check waits one `expires` before the next: a
 * moved consumer leader is found again within seconds, not the 30 s default.
 */
const CONSUME_EXPIRES_MS = 5_000;
const CONSUME_HEARTBEAT_MS = 500;
/**
 * messages one pull asks for. nats-server before 2.9.15 (Debian's 2.9.10 here) can drop a pull that
 * expires just as a message arrives without sending its 408 (nats-server#3942): the client then waits
 * for two missed heartbeats before it pulls again, and every message of that consumer waits with it
 * (seen in `npm run bench`: one notifier partition's pushes 2 s late, in about one run of four). A
 * small batch is used up and replaced long before it expires wherever messages flow (a consumer with
 * more than about 13 a second never lets a pull expire), so the race needs a pull expiring on a nearly
 * idle consumer at the moment a message comes; the short heartbeat bounds what it costs then.
 */
const CONSUME_BATCH = 64;

export interface StreamOptions {
  /** how long events are kept (ms); default 7 days */
  maxAgeMs?: number;
  /** dedupe window for message ids (ms); default 2 minutes */
  duplicateWindowMs?: number;
  /** replicas in a cluster (NATS_REPLICAS); an existing stream with fewer is raised; default 1 */
  replicas?: number;
}

/**
 * Create a stream if missing (idempotent, safe from several processes: a lost creation race finds
 * the winner's stream) and raise its replicas to `replicas`; answers the stream's config as found,
 * or undefined when this call created it.
 */
export async function ensureStream(
  nc: NatsConnection,
  config: Partial<StreamConfig> & { name: string },
  replicas = 1,
): Promise<StreamConfig | undefined> {
  const jsm = await nc.jetstreamManager();
  let existing: StreamConfig;
  try {
    existing = (await jsm.streams.info(config.name)).config;
  } catch {
    try {
      await jsm.streams.add({ ...config, num_replicas: replicas });
      return undefined;
    } catch (err) {
      // another instance created it in between
      existing = (
        await jsm.streams.info(config.name).catch(() => {
          throw err;
        })
      ).config;
    }
  }
  await raiseReplicas(jsm, config.name, replicas);
  return existing;
}

/**
 * Create the event stream, the notifier's partition stream and the mailer's stream if missing. The
 * two copy streams are work queues: a copy leaves once its consumer acknowledged it.
 */
export async function ensureEventStream(
  nc: NatsConnection,
  s: Subjects,
  opts: StreamOptions = {},
): Promise<void> {
  const maxAge = nanos(opts.maxAgeMs ?? 7 * 24 * 3600_000);
  const window = nanos(opts.duplicateWindowMs ?? 120_000);
  const common = { storage: StorageType.File, max_age: maxAge, duplicate_window: window };
  await ensureStream(
    nc,
    { name: s.eventStream, subjects: [s.eventWildcard], retention: RetentionPolicy.Limits, ...common },
    opts.replicas,
  );
  await ensureStream(
    nc,
    {
      name: s.notifyStream,
      subjects: [s.notifyWildcard],
      retention: RetentionPolicy.Workqueue,
      // a notifier taking a partition over reads what its last holder left unacknowledged
      allow_direct: true,
      ...common,
    },
    opts.replicas,
  );
  // the mailer's input: copies of the events that can lead to an e-mail (mailerNeeds)
  await ensureStream(
    nc,
    { name: s.mailStream, subjects: [s.mail], retention: RetentionPolicy.Workqueue, ...common },
    opts.replicas,
  );
}

/**
 * Publish one domain event (and its notifier and mailer copies); the event id is the JetStream msg id, so a
 * retry is a no-op.
 */
export async function publishEvent(
  nc: NatsConnection,
  s: Subjects,
  event: DomainEvent,
  opts: { timeoutMs?: number } = {},
): Promise<PublishedEvent> {
  const [result] = await publishEvents(nc, s, [event], opts);
  if (result?.status !== 'fulfilled') throw result?.reason ?? new Error('not published');
  return result.value;
}

export interface ConsumerOptions {
  nc: NatsConnection;
  subjects: Subjects;
  service: ServiceName;
  logger: Logger;
  /** which event types this consumer wants (filtered in-process; one durable per service) */
  types: readonly DomainEventType[];
  /**
   * handle one event; throw to have it redelivered with backoff; return
   * `{ deferMs }` to have it redelivered later without counting as a failure
   * (it stays unacked in the stream, so it survives a restart)
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: existing handlers return Promise<void>
  handle: (event: DomainEvent, meta: EventMeta) => Promise<void | EventOutcome>;
  /** time a handler may hold an event before the server redelivers it (ms); default 30 s */
  ackWaitMs?: number;
  /** deliveries before an event goes to the dead-letter subject; default 10 */
  maxDeliver?: number;
  /** backoff before redelivery after a failure, by attempt (ms) */
  backoffMs?: number[];
  /** events handled at once; events are ordered per `keyOf` */
  concurrency?: number;
  keyOf?: (event: DomainEvent) => string;
  /** durable name; default the service's durable on the event stream */
  durable?: string;
  /** the stream and subject consumed; default the event stream, every event */
  stream?: string;
  filterSubject?: string;
  /** events delivered and not yet acked, across every instance; default 1000 */
  maxAckPending?: number;
  /** replicas of the event stream (NATS_REPLICAS); default 1 */
  replicas?: number;
  /**
   * create the durable when it is missing (default); false: consume it only if it exists (a missing
   * one fails at once, not retried) — a retired durable must not come back and replay the stream
   */
  create?: boolean;
  /** abort the start-up retries (the service is stopping before it ever connected) */
  signal?: AbortSignal;
  /**
   * wait for the server to confirm each ack (a request per event; default) or not (a plain ack:
   * for idempotent handlers, where a lost ack only means a harmless redelivery)
   */
  confirmAcks?: boolean;
}

/** What a handler may return instead of nothing (= ack). */
export interface EventOutcome {
  /** not yet: redeliver this event after this long (ms) */
  deferMs: number;
}

export interface EventMeta {
  deliveryCount: number;
  streamSeq: number;
  /** keep a long handler's event from being redelivered */
  working(): void;
}

export interface EventConsumer {
  stop(): Promise<void>;
  /** resolves when the consume loop has ended (stop() or a fatal error) */
  done: Promise<void>;
}

/** Create/update the durable consumer (shared by every instance of the service). */
export async function ensureDurable(
  nc: NatsConnection,
  s: Subjects,
  durable: string,
  opts: {
    ackWaitMs: number;
    maxDeliver: number;
    maxAckPending?: number;
    replicas?: number;
    stream?: string;
    filterSubject?: string;
    /** false: update the durable only if it exists, else throw (JetStream's not-found error) */
    create?: boolean;
  },
): Promise<void> {
  const stream = opts.stream ?? s.eventStream;
  const jsm = await nc.jetstreamManager();
  if (opts.create === false) await jsm.consumers.info(stream, durable);
  const config = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(opts.ackWaitMs),
    max_deliver: opts.maxDeliver,
    filter_subject: opts.filterSubject ?? s.eventWildcard,
    max_ack_pending: opts.maxAckPending ?? 1000,
    // set explicitly (not inherited): a consumer created while its stream had one replica is raised too
    ...(opts.replicas && opts.replicas > 1 ? { num_replicas: opts.replicas } : {}),
  };
  try {
    await jsm.consumers.info(stream, durable);
    await jsm.consumers.update(stream, durable, {
      ack_wait: config.ack_wait,
      max_deliver: config.max_deliver,
      ...(opts.maxAckPending ? { max_ack_pending: opts.maxAckPending } : {}),
      ...(opts.replicas && opts.replicas > 1 ? { num_replicas: opts.replicas } : {}),
    });
  } catch {
    await jsm.consumers.add(stream, config).catch(async (err) => {
      await jsm.consumers.info(stream, durable).catch(() => {
        throw err;
      });
    });
  }
}

export async function consumeEvents(opts: ConsumerOptions): Promise<EventConsumer> {
  const ackWaitMs = opts.ackWaitMs ?? 30_000;
  const maxDeliver = opts.maxDeliver ?? 10;
  const backoff = opts.backoffMs ?? [200, 1_000, 5_000, 15_000, 30_000];
  const durable = opts.durable ?? opts.subjects.durable(opts.service);
  const log = opts.logger.child({ consumer: durable });
  // a node or the meta leader away at start is waited out (JetStream API timeouts are retried)
  const messages = await retry(
    async () => {
      await ensureEventStream(opts.nc, opts.subjects, opts.replicas ? { replicas: opts.replicas } : {});
      await ensureDurable(opts.nc, opts.subjects, durable, {
        ackWaitMs,
        maxDeliver,
        ...(opts.maxAckPending ? { maxAckPending: opts.maxAckPending } : {}),
        ...(opts.replicas ? { replicas: opts.replicas } : {}),
        ...(opts.stream ? { stream: opts.stream } : {}),
        ...(opts.filterSubject ? { filterSubject: opts.filterSubject } : {}),
        ...(opts.create === false ? { create: false } : {}),
      });
      const consumer = await opts.nc
        .jetstream()
        .consumers.get(opts.stream ?? opts.subjects.eventStream, durable);
      return consumer.consume({
        // credits come back as messages arrive, not as they are handled: `concurrency` is not bounded by it
        max_messages: CONSUME_BATCH,
        // a pull that the server stopped answering (its consumer leader moved, a node died) is
        // noticed within this long and re-issued, instead of waiting out the pull's expiry
        idle_heartbeat: CONSUME_HEARTBEAT_MS,
        expires: CONSUME_EXPIRES_MS,
      });
    },
    {
      what: `consumer ${durable} setup`,
      logger: log,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.create === false ? { isFatal: isJsNotFound } : {}),
    },
  );
  // a consumer whose connection is gone must end its loop (its pull timers would otherwise run forever)
  void opts.nc.closed().then(() => messages.close().catch(() => undefined));
  // a pull the server stopped serving shows as missed heartbeats (the client then pulls again)
  void (async () => {
    for await (const st of await messages.status()) {
      if (st.type === ConsumerEvents.HeartbeatsMissed)
        log.warn({ missed: st.data }, 'consumer heartbeats missed');
      else log.debug({ status: st.type, data: st.data }, 'consumer status');
    }
  })().catch(() => undefined);
  const chains = new Map<string, Promise<void>>();
  const inflight = new Set<Promise<void>>();
  const concurrency = opts.concurrency ?? 1;

  const process = async (m: JsMsg): Promise<void> => {
    let raw: { type?: unknown };
    try {
      raw = decode<{ type?: unknown }>(m.data);
    } catch {
      await deadLetter(m, 'undecodable');
      return;
    }
    // event types this service does not handle (or does not know yet) are not its business
    if (!opts.types.includes(raw?.type as DomainEventType)) {
      m.ack();
      return;
    }
    const parsed = domainEventSchema.safeParse(raw);
    if (!parsed.success) {
      await deadLetter(m, 'invalid');
      return;
    }
    const event: DomainEvent = parsed.data;
    const meta: EventMeta = {
      deliveryCount: m.info.deliveryCount,
      streamSeq: m.info.streamSequence,
      working: () => m.working(),
    };
    try {
      const outcome = await opts.handle(event, meta);
      if (outcome && outcome.deferMs > 0) {
        m.nak(Math.ceil(outcome.deferMs));
        return;
      }
      if (opts.confirmAcks === false) m.ack();
      else await m.ackAck().catch(() => m.ack());
    } catch (err) {
      if (m.info.deliveryCount >= maxDeliver) {
        log.error({ err, event_id: event.id, type: event.type }, 'event failed for the last time');
        await deadLetter(m, 'max_deliver');
        return;
      }
      const delay = backoff[Math.min(m.info.deliveryCount - 1, backoff.length - 1)] ?? 1_000;
      log.warn(
        { err, event_id: event.id, attempt: m.info.deliveryCount, retry_in_ms: delay },
        'event failed',
      );
      m.nak(delay);
    }
  };

  const deadLetter = async (m: JsMsg, reason: string) => {
    const h = natsHeaders();
    h.set('Parley-Dead-Reason', reason);
    h.set('Parley-Stream-Seq', String(m.info.streamSequence));
    // a core publish: listeners get it, and an operator's stream on the subject keeps it; the log always does
    opts.nc.publish(opts.subjects.deadLetter(opts.service), m.data, { headers: h });
    log.error({ reason, stream_seq: m.info.streamSequence }, 'event dead-lettered');
    m.term();
  };

  const done = (async () => {
    for await (const m of messages) {
      let key = 'all';
      if (opts.keyOf) {
        try {
          key = opts.keyOf(decode<DomainEvent>(m.data));
        } catch {
          key = 'undecodable';
        }
      }
      while (inflight.size >= concurrency) await Promise.race(inflight);
      const prev = chains.get(key) ?? Promise.resolve();
      // process() settles every event itself; a throw past it (ack/nak/dead-letter on a closing
      // connection) is logged and leaves the event to redelivery, and never breaks the key's chain
      const next = prev
        .then(() => process(m))
        .catch((err: unknown) => log.error({ err, stream_seq: m.info.streamSequence }, 'event not settled'));
      chains.set(key, next);
      inflight.add(next);
      void next.finally(() => {
        inflight.delete(next);
        if (chains.get(key) === next) chains.delete(key);
      });
    }
    await Promise.allSettled([...inflight]);
  })();

  return {
    done,
    async stop() {
      await messages.close().catch(() => undefined);
      await done;
    },
  };
}
