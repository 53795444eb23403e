/**
 * The events a durable consumer delivered but nobody acknowledged yet: what an instance that died
 * was holding. JetStream redelivers them only after the ack wait, while later events flow to the
 * instance that took over at once — so a member would see a message pushed after newer ones. The
 * new active instance reads them straight from the stream (by sequence, in stream order) and
 * handles them before it starts consuming; their redeliveries later are duplicates its output
 * must already tolerate (the notifier's feed deduplicates by message id).
 */
import {
  type DomainEvent,
  type DomainEventType,
  domainEventSchema,
  type ServiceName,
  type Subjects,
} from '@parley/protocol';
import type { NatsConnection } from 'nats';
import { decode } from './codec.js';
import { isJsNotFound } from './not-found.js';

/** more than this many held events is not a crash window but a backlog: the consumer handles those */
const MAX_UNACKED = 5_000;

export async function readUnackedEvents(
  nc: NatsConnection,
  s: Subjects,
  service: ServiceName,
  types: readonly DomainEventType[],
): Promise<DomainEvent[]> {
  const jsm = await nc.jetstreamManager();
  let from: number;
  let to: number;
  try {
    const ci = await jsm.consumers.info(s.eventStream, s.durable(service));
    from = ci.ack_floor.stream_seq + 1;
    to = ci.delivered.stream_seq;
  } catch (err) {
    if (isJsNotFound(err)) return []; // no consumer yet: nothing was ever delivered
    throw err;
  }
  from = Math.max(from, to - MAX_UNACKED + 1);
  const events: DomainEvent[] = [];
  for (let seq = from; seq <= to; seq++) {
    let data: Uint8Array;
    try {
      data = (await jsm.streams.getMessage(s.eventStream, { seq })).data;
    } catch (err) {
      if (isJsNotFound(err)) continue; // removed by the stream's limits
      throw err;
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
