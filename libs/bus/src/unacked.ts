/**
 * The events a durable consumer delivered but nobody acknowledged yet: what an instance that died
 * was holding. JetStream redelivers them only after the ack wait, while later events flow to the
 * instance that took over at once — so a member would see a message pushed after newer ones. The
 * new active instance reads them straight from the stream (by sequence, in stream order) and
 * handles them before it starts consuming; their redeliveries later are duplicates its output
 * must already tolerate (the notifier's feed deduplicates by message id).
 */
import { type DomainEvent, type DomainEventType, domainEventSchema } from '@parley/protocol';
import type { JetStreamManager, NatsConnection, StoredMsg } from 'nats';
import { decode } from './codec.js';
import { isJsNotFound } from './not-found.js';

/** more than this many held events is not a crash window but a backlog: the consumer handles those */
const MAX_UNACKED = 5_000;

/** nats.js 2.29's manager has the direct-get API (next message by subject) its interface leaves out */
interface DirectGet {
  getMessage(stream: string, query: { seq: number; next_by_subj: string }): Promise<StoredMsg>;
}
function directOf(jsm: JetStreamManager): DirectGet {
  return (jsm as JetStreamManager & { direct: DirectGet }).direct;
}

export async function readUnackedEvents(
  nc: NatsConnection,
  from_: {
    stream: string;
    durable: string;
    /** the consumer's filter subject; its stream must allow direct gets */
    subject?: string;
  },
  types: readonly DomainEventType[],
): Promise<DomainEvent[]> {
  const jsm = await nc.jetstreamManager();
  let from: number;
  let to: number;
  try {
    const ci = await jsm.consumers.info(from_.stream, from_.durable);
    from = ci.ack_floor.stream_seq + 1;
    to = ci.delivered.stream_seq;
  } catch (err) {
    if (isJsNotFound(err)) return []; // no consumer yet: nothing was ever delivered
    throw err;
  }
  from = Math.max(from, to - MAX_UNACKED + 1);
  const events: DomainEvent[] = [];
  let seq = from;
  while (seq <= to) {
    let data: Uint8Array;
    try {
      // a filtered consumer's range spans other subjects' messages too: the next one on its subject
      const m = from_.subject
        ? await directOf(jsm).getMessage(from_.stream, { seq, next_by_subj: from_.subject })
        : await jsm.streams.getMessage(from_.stream, { seq });
      if (m.seq > to) break;
      seq = m.seq + 1;
      data = m.data;
    } catch (err) {
      if (!isJsNotFound(err)) throw err;
      // removed by the stream's limits or acknowledged out of order (a work queue drops it); with a
      // subject: none left on it
      if (from_.subject) break;
      seq++;
      continue;
    }
    let raw: unknown;
    try {
      raw = decode(data);
    } catch {
      continue; // the consumer dead-letters it when it is redelivered
    }
    const parsed = domainEventSchema.safeParse(raw);
    if (parsed.success && types.includes(parsed.data.type)) events.push(parsed.data);
  }
  return events;
}
