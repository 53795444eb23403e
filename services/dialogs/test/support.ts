/** Small helpers shared by the dialogs suites (not a test file). */
import { expect } from '@jest/globals';
import { decode, type NatsConnection } from '@parley/bus';
import type { DomainEvent, ErrorCode, Subjects } from '@parley/protocol';

/** The promise fails with a ParleyError of `code` (and `field` when given). */
export async function expectError(p: Promise<unknown>, code: ErrorCode, field?: string): Promise<void> {
  await expect(p).rejects.toMatchObject(field === undefined ? { code } : { code, field });
}

/** Every domain event on the suite's stream, in stream order. */
export async function streamEvents(nc: NatsConnection, subjects: Subjects): Promise<DomainEvent[]> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(subjects.eventStream);
  const out: DomainEvent[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(subjects.eventStream, { seq }).catch(() => undefined);
    if (m) out.push(decode<DomainEvent>(m.data));
  }
  return out;
}

export const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}[+-]\d{2}:\d{2}$/;
