/**
 * Publishing to JetStream with asynchronous acks: every message is a core publish whose reply subject
 * is `<inbox>.<n>` on one wildcard subscription per connection (the reply mux, reply-mux.ts), and the
 * PubAcks are matched back by `n`. `js.publish` would make a request per message instead — a reply subscription,
 * a timer and an error object with a captured stack each — which the outbox relay's and the
 * notifier's profiles showed on every message. Guarantees as `js.publish`: the msg id is the
 * JetStream dedupe id, and the stream stores messages in the order given (one connection).
 *
 * `publishEvents` sends domain events (the outbox relay): each event, then the notifier's copy per
 * partition its members fall in (`<prefix>.ntf.<p>`), so each partition holds its events in the
 * domain stream's order, then the mailer's copy when the mailer needs the event (`<prefix>.mail`,
 * `mailerNeeds`: someone to mail, or a read that may cancel a held e-mail). Within a batch each
 * stream's messages are chained (`Nats-Expected-Last-Msg-Id`
 * = the previous one's msg id): when one fails (a stream leader moving, a full stream) every later one
 * of that stream fails with it instead of being stored ahead of it, so a retry keeps the order. The
 * first of a batch is not chained; the relay starts a batch only after the last one settled, with
 * the first event it has not seen stored. A duplicate is answered before the chain is checked.
 */
import { type DomainEvent, mailerNeeds, notifyPartitionsOf, type Subjects } from '@parley/protocol';
import { type Msg, type MsgHdrs, type NatsConnection, headers as natsHeaders } from 'nats';
import { decode, encode, HEADERS } from './codec.js';
import { type ReplyMux, replyMux } from './reply-mux.js';

/** JetStream's dedupe header (what `js.publish({ msgID })` sets) */
const MSG_ID_HEADER = 'Nats-Msg-Id';
/** the stream stores the message only if its last stored message has this msg id (else error 10070) */
const EXPECTED_LAST_MSG_ID_HEADER = 'Nats-Expected-Last-Msg-Id';

export interface PublishedEvent {
  seq: number;
  duplicate: boolean;
}

export type PublishResult = PromiseSettledResult<PublishedEvent>;

/** one message for a stream */
export interface Outgoing {
  subject: string;
  /** the JetStream msg id (dedupe within the stream's window) */
  msgId: string;
  data: Uint8Array;
  /** more headers (the msg id header is added) */
  headers?: MsgHdrs;
  /**
   * store it only right after the message with this msg id (a duplicate is answered as such first):
   * chains a batch, so a message never lands after a successor that got through while it failed
   */
  after?: string;
}

/**
 * Publish `messages` in order; resolves when every ack (or error) arrived or `timeoutMs` passed, with
 * one settled result per message (a missing ack is a timeout error).
 */
export function publishAll(
  nc: NatsConnection,
  messages: readonly Outgoing[],
  opts: { timeoutMs?: number } = {},
): Promise<PublishResult[]> {
  if (messages.length === 0) return Promise.resolve([]);
  let mux: ReplyMux | undefined;
  const results: PublishResult[] = new Array(messages.length);
  const ids: number[] = [];
  return new Promise((resolve) => {
    let left = messages.length;
    const finish = () => {
      clearTimeout(timer);
      for (const n of ids) mux?.forget(n);
      for (let i = 0; i < results.length; i++)
        results[i] ??= { status: 'rejected', reason: new Error('timed out waiting for the JetStream ack') };
      resolve(results);
    };
    const settle = (i: number) => (r: PublishResult) => {
      if (results[i] !== undefined) return;
      results[i] = r;
      if (--left === 0) finish();
    };
    const timer = setTimeout(finish, opts.timeoutMs ?? 5_000);
    try {
      const m = replyMux(nc);
      mux = m;
      messages.forEach((o, i) => {
        const done = settle(i);
        const n = m.expect((msg) => done(ackOf(msg)));
        ids.push(n);
        const h = o.headers ?? natsHeaders();
        h.set(MSG_ID_HEADER, o.msgId);
        if (o.after !== undefined) h.set(EXPECTED_LAST_MSG_ID_HEADER, o.after);
        nc.publish(o.subject, o.data, { reply: m.subject(n), headers: h });
      });
    } catch (err) {
      // the connection is closed or draining: nothing more goes out
      for (let i = 0; i < messages.length; i++) settle(i)({ status: 'rejected', reason: err });
    }
  });
}

/** the streams the relay writes, each chained on its own */
type Chain = 'event' | 'notify' | 'mail';

/**
 * Every message publishing `event` takes, with the stream it goes to: the domain event on its
 * subject, then one copy per notifier partition its members fall in (`<prefix>.ntf.<p>`, msg id
 * `<event id>:<p>`), then the mailer's copy when it needs it (`<prefix>.mail`, msg id
 * `<event id>:mail`), encoded once.
 */
function messagesOf(s: Subjects, event: DomainEvent): { chain: Chain; out: Outgoing }[] {
  const data = encode(event);
  const headers = () => {
    const h = natsHeaders();
    if (event.request_id) h.set(HEADERS.REQUEST_ID, event.request_id);
    return h;
  };
  const out: { chain: Chain; out: Outgoing }[] = [
    { chain: 'event', out: { subject: s.event(event.type), msgId: event.id, data, headers: headers() } },
  ];
  for (const p of notifyPartitionsOf(event))
    out.push({
      chain: 'notify',
      out: { subject: s.notify(p), msgId: `${event.id}:${p}`, data, headers: headers() },
    });
  if (mailerNeeds(event))
    out.push({
      chain: 'mail',
      out: { subject: s.mail, msgId: `${event.id}:mail`, data, headers: headers() },
    });
  return out;
}

/**
 * Publish `events` in order (each with its notifier and mailer copies); one settled result per
 * event: fulfilled with the domain event's stream position when every message of it was stored,
 * else its first failure.
 */
export async function publishEvents(
  nc: NatsConnection,
  s: Subjects,
  events: readonly DomainEvent[],
  opts: { timeoutMs?: number } = {},
): Promise<PublishResult[]> {
  const owner: number[] = [];
  // each stream's messages chained in batch order: one that fails fails every later one with it
  const last: Partial<Record<Chain, string>> = {};
  const out = events.flatMap((e, i) =>
    messagesOf(s, e).map(({ chain, out: m }) => {
      m.after = last[chain];
      last[chain] = m.msgId;
      owner.push(i);
      return m;
    }),
  );
  const acks = await publishAll(nc, out, opts);
  const results: PublishResult[] = new Array(events.length);
  acks.forEach((ack, k) => {
    const i = owner[k] as number;
    const prev = results[i];
    // the domain event's own ack comes first and gives the position; a failed copy fails the event
    if (prev === undefined || (prev.status === 'fulfilled' && ack.status === 'rejected')) results[i] = ack;
  });
  return results;
}

/** a PubAck (`{stream, seq, duplicate?}`), a JetStream error (`{error}`), or a status (503: no stream) */
function ackOf(m: Msg): PublishResult {
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
