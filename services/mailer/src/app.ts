/**
 * The mailer: one e-mail per new message to each member who wants it
 * (PROTOCOL.md §6). Every instance consumes the shared durable consumer of the
 * mail stream, where dialogs' outbox relay copies only the events that can
 * lead to an e-mail or cancel a held one (`mailerNeeds`, decisions §28);
 * at-least-once without repeats (beyond the SMTP transaction a crash
 * interrupts) comes from the delivery records in the mail KV bucket
 * (deliveries.ts); MAIL_DELAY_SECONDS and the hourly cap (quota.ts) leave the
 * event unacked in the stream until it is due, so held e-mails survive a
 * restart. While an event is handled its ack wait is renewed, so the ack wait
 * can be short and a crashed mailer's events come back soon.
 */
import { randomUUID } from 'node:crypto';
import {
  type BusConnection,
  type ConsumerOptions,
  consumeEvents,
  createRpcClient,
  type EventConsumer,
  type EventMeta,
  type EventOutcome,
  isJsNotFound,
  type NatsConnection,
  openJsonKv,
  retry,
  type Service,
} from '@parley/bus';
import type { Logger } from '@parley/logger';
import { type DomainEvent, type MessageCreatedEvent, mailRecipients, subjects } from '@parley/protocol';
import { type MetricsEndpoint, serveMetrics } from '@parley/telemetry';
import { composeMail, toMailItem } from './compose.js';
import type { MailerConfig } from './config.js';
import { createDeliveries, type Deliveries } from './deliveries.js';
import { createMailerMetrics, type MailerMetrics } from './metrics.js';
import { createQuota } from './quota.js';
import type { MailValue } from './records.js';
import { createReminders, type ReminderRecord } from './reminders.js';
import { createMailTransport, type MailTransport } from './transport.js';

export interface MailerDeps {
  config: MailerConfig;
  /** the connection, or connectBus's promise of it (start() serves /readyz before it waits for it) */
  nc: BusConnection;
  logger: Logger;
  /** retry schedule after an SMTP failure, ms (default 0.5 s, 2 s, 5 s, 15 s, 30 s, 60 s…) */
  backoffMs?: number[];
  /** the window of MAIL_MAX_PER_RECIPIENT_PER_HOUR, ms (default one hour; tests shorten it) */
  rateWindowMs?: number;
}

export interface MailerService extends Service {
  readonly metrics: MailerMetrics;
}

/** Records outlive the stream's 7 days, so a redelivered event always finds its record. */
const RECORD_TTL_MS = 8 * 24 * 3600_000;

/** how often the durable of a mailer before the mail stream is looked at until it can go */
const LEGACY_CHECK_MS = 1_000;

export function createMailerService(deps: MailerDeps): MailerService {
  const { config, logger } = deps;
  const s = subjects(config.SUBJECT_PREFIX);
  const metrics = createMailerMetrics();
  const delayMs = config.MAIL_DELAY_SECONDS * 1000;
  const ackWaitMs = config.EVENT_ACK_WAIT_SECONDS * 1000;
  const instance = randomUUID();
  let transport: MailTransport | undefined;
  let deliveries: Deliveries | undefined;
  let consumer: EventConsumer | undefined;
  let legacy: { consumer?: EventConsumer; timer?: NodeJS.Timeout; stop: AbortController } | undefined;
  let endpoint: MetricsEndpoint | null = null;
  let reminders: ReturnType<typeof createReminders> | undefined;
  let nc: NatsConnection | undefined;

  const onCreated = async (e: MessageCreatedEvent): Promise<EventOutcome | undefined> => {
    const d = deliveries as Deliveries;
    const recipients = mailRecipients(e);
    if (recipients.length === 0) return undefined; // nobody to mail: no KV work at all
    const item = toMailItem(e.message);
    const createdAt = Date.parse(e.message.date_created) || Date.parse(e.occurred_at) || Date.now();
    const results = await Promise.allSettled(recipients.map((r) => d.deliver(item, r, createdAt)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const waits = results.flatMap((r) =>
      r.status === 'fulfilled' && r.value.kind === 'defer' ? [r.value.ms] : [],
    );
    return waits.length ? { deferMs: Math.min(...waits) } : undefined;
  };

  const handle = async (event: DomainEvent, meta: EventMeta): Promise<EventOutcome | undefined> => {
    if (meta.deliveryCount > 1) metrics.redeliveries.inc();
    // in-progress acks: the server does not hand this event to another instance while it is handled
    const beat = setInterval(() => meta.working(), Math.max(200, Math.floor(ackWaitMs / 3)));
    try {
      let outcome: EventOutcome | undefined;
      if (event.type === 'message.created') outcome = await onCreated(event);
      else if (delayMs > 0 && event.seen_ids.length)
        await (deliveries as Deliveries).markSeen(event.seen_ids);
      if (!outcome) metrics.events.inc({ type: event.type });
      return outcome;
    } finally {
      clearInterval(beat);
    }
  };

  /**
   * A mailer before the mail stream consumed the event stream through `s.durable('mailer')`. The
   * events published before dialogs made mail copies, and the ones it held (MAIL_DELAY_SECONDS, a
   * digest), are only there. The events up to the stream's end at start are handled like the copies
   * (one that has a copy too is handled twice; the delivery records make the second send nothing),
   * later ones are acknowledged unhandled, and once every one of them is acknowledged the durable is
   * deleted. Events after that point have copies, provided dialogs was upgraded first (CHANGELOG). A
   * missing durable is never created again (`create: false`).
   */
  const retireLegacyDurable = async (
    bus: NatsConnection,
    input: ConsumerOptions,
    state: NonNullable<typeof legacy>,
  ): Promise<void> => {
    const jsm = await bus.jetstreamManager();
    const name = s.durable('mailer');
    const done = async (): Promise<boolean> => {
      const ci = await jsm.consumers.info(s.eventStream, name);
      if (ci.num_pending + ci.num_ack_pending > 0 && ci.ack_floor.stream_seq < upTo) return false;
      await jsm.consumers.delete(s.eventStream, name);
      logger.info({ durable: name }, 'the durable of an earlier mailer on the event stream is retired');
      return true;
    };
    let upTo: number;
    try {
      await jsm.consumers.info(s.eventStream, name);
      upTo = (await jsm.streams.info(s.eventStream)).state.last_seq;
      if (await done()) return;
    } catch (err) {
      if (isJsNotFound(err)) return;
      throw err;
    }
    if (state.stop.signal.aborted) return;
    logger.warn(
      { durable: name, up_to_seq: upTo },
      'handling what an earlier mailer left on the event stream',
    );
    const c = await consumeEvents({
      ...input,
      durable: name,
      create: false,
      signal: state.stop.signal,
      // later events have their copy on the mail stream: acknowledged here, handled there
      handle: (event, meta) => (meta.streamSeq > upTo ? Promise.resolve(undefined) : handle(event, meta)),
    });
    if (state.stop.signal.aborted) return c.stop();
    state.consumer = c;
    const check = async () => {
      if (state.stop.signal.aborted) return;
      try {
        if (await done()) {
          await state.consumer?.stop();
          state.consumer = undefined;
          return;
        }
      } catch (err) {
        if (isJsNotFound(err)) {
          // another instance retired it
          await state.consumer?.stop();
          state.consumer = undefined;
          return;
        }
        logger.warn({ err }, 'legacy durable check failed');
      }
      if (!state.stop.signal.aborted) state.timer = setTimeout(check, LEGACY_CHECK_MS);
    };
    state.timer = setTimeout(check, LEGACY_CHECK_MS);
  };

  return {
    metrics,
    async start() {
      // /readyz: 503 until the mail bucket and the consumer exist (start-up waits out NATS outages)
      endpoint = await serveMetrics(metrics.registry, config.METRICS_PORT, logger, {
        ready: () => consumer !== undefined && nc?.isClosed() === false,
      });
      const bus = await deps.nc;
      nc = bus;
      transport = createMailTransport({
        smtpUrl: config.SMTP_URL,
        outboxDir: config.MAIL_OUTBOX_DIR,
        maxConnections: config.SMTP_MAX_CONNECTIONS,
      });
      if (!config.SMTP_URL)
        logger.warn(
          { dir: config.MAIL_OUTBOX_DIR },
          'SMTP_URL is not set: e-mails are written as .eml files',
        );
      const kv = await retry(
        () =>
          openJsonKv<MailValue>(bus, s.mailBucket, { ttlMs: RECORD_TTL_MS, replicas: config.NATS_REPLICAS }),
        { what: 'mail bucket', logger },
      );
      const t = transport;
      const cap = config.MAIL_MAX_PER_RECIPIENT_PER_HOUR; // 0 = no cap
      deliveries = createDeliveries({
        kv,
        delayMs,
        logger,
        instance,
        // a crashed sender's lease has run out by the time the server hands its events to us
        leaseMs: ackWaitMs,
        inFlight: config.SMTP_MAX_CONNECTIONS,
        quota: createQuota({ kv, cap, windowMs: deps.rateWindowMs ?? 3_600_000 }),
        send: (leader, items, to) => t.send(composeMail(config, leader, items, to)),
        onResult: (result) => metrics.emails.inc({ result }),
      });
      const input = {
        nc: bus,
        subjects: s,
        service: 'mailer',
        logger,
        types: ['message.created', 'message.seen'],
        handle,
        ackWaitMs,
        maxDeliver: 40,
        backoffMs: deps.backoffMs ?? [500, 2_000, 5_000, 15_000, 30_000, 60_000],
        concurrency: 16,
        keyOf: (e) => e.id,
        // events held by MAIL_DELAY_SECONDS or the hourly cap stay pending: leave room for a busy window
        maxAckPending: 10_000,
        // a plain ack, not a confirmed one (a request per event: 12 % of the mailer's busy time in the
        // bench's profile): a lost ack is a redelivery, and a redelivered event finds its delivery
        // records final (or leased) and sends nothing again
        confirmAcks: false,
        replicas: config.NATS_REPLICAS,
      } satisfies ConsumerOptions;
      consumer = await consumeEvents({
        ...input,
        stream: s.mailStream,
        durable: s.mailDurable,
        filterSubject: s.mail,
      });
      legacy = { stop: new AbortController() };
      void retireLegacyDurable(bus, input, legacy).catch((err: unknown) =>
        logger.warn({ err }, 'the durable of an earlier mailer on the event stream was not retired'),
      );
      // the daily reminder (§9): its records live in the mail bucket under their own keys
      reminders = createReminders({
        config,
        kv: await openJsonKv<ReminderRecord>(bus, s.mailBucket, { ttlMs: RECORD_TTL_MS }),
        rpc: createRpcClient(bus, s, { timeoutMs: 10_000 }),
        instance,
        logger,
        send: (mail) => t.send(mail),
        onResult: (result) => metrics.reminders.inc({ result }),
        onCheck: () => metrics.reminderChecks.inc(),
      });
      reminders.start();
    },
    async stop() {
      await reminders?.stop();
      reminders = undefined;
      if (legacy) {
        legacy.stop.abort();
        clearTimeout(legacy.timer);
        await legacy.consumer?.stop();
        legacy = undefined;
      }
      await consumer?.stop();
      consumer = undefined;
      transport?.close();
      transport = undefined;
      await endpoint?.close();
      endpoint = null;
    },
  };
}
