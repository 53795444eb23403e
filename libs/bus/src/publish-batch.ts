/**
 * Publishing many domain events to JetStream at once with asynchronous acks: every event is a core
 * publish whose reply subject is one shared inbox subscription (`<inbox>.<index>`), and the PubAcks
 * are matched back by index. `js.publish` would make a request per event instead — a reply
 * subscription, a timer and an error object with a captured stack each — which the outbox relay's
 * profile showed on every event. Same guarantees as `publishEvent`: the event id is the JetStream
 * msg id (server-side dedupe), and the stream stores the events in the order given (one connection).
 */
import type { DomainEvent, Subjects } from '@parley/protocol';
import { createInbox, type Msg, type NatsConnection, headers as natsHeaders } from 'nats';
import { decode, encode, HEADERS } from './codec.js';

/** JetStream's dedupe header (what `js.publish({ msgID })` sets) */
const MSG_ID_HEADER = 'Nats-Msg-Id';

export interface PublishedEvent {
  seq: number;
  duplicate: boolean;
}

/**
 * Publish `events` in order; resolves when every ack (or error) arrived or `timeoutMs` passed, with
 * one settled result per event (a missing ack is a timeout error for that event).
 */
export function publishEvents(
  nc: NatsConnection,
  s: Subjects,
  events: readonly DomainEvent[],
  opts: { timeoutMs?: number } = {},
): Promise<PromiseSettledResult<PublishedEvent>[]> {
  const results: PromiseSettledResult<PublishedEvent>[] = new Array(events.length);
  if (events.length === 0) return Promise.resolve(results);
  const inbox = createInbox();
  return new Promise((resolve) => {
    let left = events.length;
    const settle = (i: number, r: PromiseSettledResult<PublishedEvent>) => {
      if (results[i] !== undefined) return;
      results[i] = r;
      if (--left === 0) finish();
    };
    const finish = () => {
      clearTimeout(timer);
      sub.unsubscribe();
      for (let i = 0; i < results.length; i++)
        results[i] ??= { status: 'rejected', reason: new Error('timed out waiting for the JetStream ack') };
      resolve(results);
    };
    const sub = nc.subscribe(`${inbox}.*`, {
      callback: (err, m) => {
        if (err) return;
        const i = Number(m.subject.slice(inbox.length + 1));
        if (!Number.isInteger(i) || i < 0 || i >= events.length) return;
        settle(i, ackOf(m));
      },
    });
    const timer = setTimeout(finish, opts.timeoutMs ?? 5_000);
    try {
      events.forEach((event, i) => {
        const h = natsHeaders();
        h.set(MSG_ID_HEADER, event.id);
        if (event.request_id) h.set(HEADERS.REQUEST_ID, event.request_id);
        nc.publish(s.event(event.type), encode(event), { reply: `${inbox}.${i}`, headers: h });
      });
    } catch (err) {
      // the connection is closed or draining: nothing more goes out
      for (let i = 0; i < events.length; i++) settle(i, { status: 'rejected', reason: err });
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
