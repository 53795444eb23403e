/**
 * Notifier partitions: every user belongs to one of a fixed number of partitions, and each partition
 * is served by one notifier instance at a time (a lease per partition), so one user's pushes have a
 * single writer — their order and the counters' versions hold — while the instances share the users.
 * The number is part of the contract between the publisher (dialogs' outbox relay writes one copy of
 * an event per partition its members fall in) and the notifiers: changing it is a migration.
 */
import type { DomainEvent } from './domain-events.js';

export const NOTIFY_PARTITIONS = 16;

/** the partition of a user: a multiplicative hash, so neighbouring ids spread over the partitions */
export function notifyPartition(userId: number): number {
  return (Math.imul(userId, 0x9e3779b1) >>> 0) % NOTIFY_PARTITIONS;
}

/** the partitions an event's members fall in, ascending (empty for an event without members) */
export function notifyPartitionsOf(event: DomainEvent): number[] {
  const out = new Set<number>();
  for (const m of event.members) out.add(notifyPartition(m.user_id));
  return [...out].sort((a, b) => a - b);
}
