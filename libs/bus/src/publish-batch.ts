/**
 * Publishing many domain events to JetStream at once with asynchronous acks: every event is a core
 * publish whose reply subject is one shared inbox subscription (`<inbox>.<index>`), and the PubAcks
 * are matched back by index. `js.publish` would make a request per event instead — a reply
 * subscription, a timer and an error object with a captured stack each — which the outbox relay's
 * profile showed on every event. Same guarantees as `publishEvent`: the event id is the JetStream
 * msg id (server-side dedupe), and the stream stores the events in the order given (one connection).
 * The notifier's per-partition copies (`<prefix>.ntf.<p>`) go in the same batch, right after their
 * event, so each partition holds its events in the domain stream's order.
 */
import { type DomainEvent, notifyPartitionsOf, type Subjects } from '@parley/protocol';
import { createInbox, type Msg, type NatsConnection, headers as natsHeaders } from 'nats';
import { decode, encode, HEADERS } from './codec.js';

/** JetStream's dedupe header (what `js.publish({ msgID })` sets) */
const MSG_ID_HEADER = 'Nats-Msg-Id';

export interface PublishedEvent {
  seq: number;
  duplicate: boolean;
}

/** one message of a batch: where it goes, its dedupe id and its bytes */
interface Outgoing {
  subject: string;
  msgId: string;
  data: Uint8Array;
  requestId: string | null | undefined;
  /** the event it belongs to */
  event: number;
}

/**
 * Every message publishing `event` takes: the domain event on its subject, then one copy per notifier
 * partition its members fall in (`<prefix>.ntf.<p>`, msg id `<event id>:<p>`), encoded once.
 */
function messagesOf(s: Subjects, event: DomainEvent, index: number): Outgoing[] {
  const data = encode(event);
  const base = { data, requestId: event.request_id, event: index };
  return [
    { subject: s.event(event.type), msgId: event.id, ...base },
    ...notifyPartitionsOf(event).map((p) => ({ subject: s.notify(p), msgId: `${event.id}:${p}`, ...base })),
  ];
}

/**
 * Publish `events` in order (each with its notifier copies); resolves when every ack (or error)
 * arrived or `timeoutMs` passed, with one settled result per event: fulfilled with the domain
 * event's stream position when every message of it was stored, else the first failure (a missing ack
 * is a timeout error).
 */
export function publishEvents(
  nc: NatsConnection,
  s: Subjects,
  events: readonly DomainEvent[],
  opts: { timeoutMs?: number } = {},
): Promise<PromiseSettledResult<PublishedEvent>[]> {
  if (events.length === 0) return Promise.resolve([]);
  const out = events.flatMap((e, i) => messagesOf(s, e, i));
  const acks: PromiseSettledResult<PublishedEvent>[] = new Array(out.length);
  const inbox = createInbox();
  return new Promise((resolve) => {
    let left = out.length;
    const settle = (i: number, r: PromiseSettledResult<PublishedEvent>) => {
      if (acks[i] !== undefined) return;
      acks[i] = r;
      if (--left === 0) finish();
    };
    const finish = () => {
      clearTimeout(timer);
      sub.unsubscribe();
      const results: PromiseSettledResult<PublishedEvent>[] = new Array(events.length);
      out.forEach((o, i) => {
        const ack = acks[i] ?? {
          status: 'rejected',
          reason: new Error('timed out waiting for the JetStream ack'),
        };
        const prev = results[o.event];
        // the domain event's own ack comes first and gives the position; a failed copy fails the event
        if (prev === undefined || (prev.status === 'fulfilled' && ack.status === 'rejected')) {
          results[o.event] = ack;
        }
      });
      resolve(results);
    };
    const sub = nc.subscribe(`${inbox}.*`, {
      callback: (err, m) => {
        if (err) return;
        const i = Number(m.subject.slice(inbox.length + 1));
        if (!Number.isInteger(i) || i < 0 || i >= out.length) return;
        settle(i, ackOf(m));
      },
    });
    const timer = setTimeout(finish, opts.timeoutMs ?? 5_000);
    try {
      out.forEach((o, i) => {
        const h = natsHeaders();
        h.set(MSG_ID_HEADER, o.msgId);
        if (o.requestId) h.set(HEADERS.REQUEST_ID, o.requestId);
        nc.publish(o.subject, o.data, { reply: `${inbox}.${i}`, headers: h });
      });
    } catch (err) {
      // the connection is closed or draining: nothing more goes out
      for (let i = 0; i < out.length; i++) settle(i, { status: 'rejected', reason: err });
    }
  });
}

/** a PubAck (`{stream, seq, duplicate?}`), a JetStream error (`{error}`), or a status (503: no stream) */
function ackOf(m: Msg): PromiseSettledResult<PublishedEvent> {
  if (m.headers?.hasError) {
    return {
      status: 'rejected',
      reason: new Error(`JetStream publish failed: ${m.headers.code} ${m.headers.description}`),
    };
  }
  try {
    const ack = decode<{
      seq?: number;
      duplicate?: boolean;
      error?: { code?: number; description?: string };
    }>(m.data);
    if (ack.error || typeof ack.seq !== 'number') {
      return {
        status: 'rejected',
        reason: new Error(`JetStream publish failed: ${ack.error?.code} ${ack.error?.description}`),
      };
    }
    return { status: 'fulfilled', value: { seq: ack.seq, duplicate: !!ack.duplicate } };
  } catch (err) {
    return { status: 'rejected', reason: err };
  }
}
