/**
 * The outbox relay: publishes the domain events written by committed
 * transactions to the JetStream event stream, then deletes them.
 *
 * - The event id is the JetStream msg id, so a relay that crashed after the
 *   publish and before the delete republishes harmlessly (server-side dedupe).
 * - Several instances are safe: a round holds the single `outbox_lease` row
 *   (`FOR UPDATE SKIP LOCKED`), so one instance relays at a time and events
 *   leave in outbox order; the others skip the round instead of waiting.
 * - It wakes on `poke()` (after a commit) and polls every `pollMs` to catch up
 *   after a crash or a NATS outage.
 */

import type { NatsConnection } from '@parley/bus';
import { publishEvent } from '@parley/bus';
import type { Logger } from '@parley/logger';
import type { DomainEvent, Subjects } from '@parley/protocol';
import type { DataSource } from 'typeorm';
import { placeholders, sqlOf, startReadCommitted } from '../db/sql.js';

export interface OutboxRelayHooks {
  /** test seam: runs after the publish acks and before the delete (throw to simulate a crash there) */
  afterPublish?: (eventIds: string[]) => void | Promise<void>;
}

export interface OutboxRelayOptions {
  ds: DataSource;
  nc: NatsConnection;
  subjects: Subjects;
  logger: Logger;
  pollMs: number;
  batchSize?: number;
  publishTimeoutMs?: number;
  hooks?: OutboxRelayHooks;
  /** every failed round's error (before the backoff): the service checks it for a missing schema */
  onRoundError?: (err: unknown) => void;
}

export interface OutboxRelay {
  start(): void;
  /** something was committed: look now */
  poke(): void;
  /** one round; answers how many events it published (0 when another instance holds the lease) */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function createOutboxRelay(opts: OutboxRelayOptions): OutboxRelay {
  const batchSize = opts.batchSize ?? 200;
  const log = opts.logger.child({ component: 'outbox-relay' });
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let poked = false;
  /** the last round found the lease taken by another instance */
  let leaseBusy = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (poked) {
        poked = false;
        resolve();
        return;
      }
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function runOnce(): Promise<number> {
    const qr = opts.ds.createQueryRunner();
    await qr.connect();
    const sql = sqlOf(qr);
    try {
      await startReadCommitted(qr);
      const lease = await sql.one('SELECT id FROM outbox_lease WHERE id = 1 FOR UPDATE SKIP LOCKED');
      leaseBusy = !lease;
      if (!lease) {
        await qr.rollbackTransaction();
        return 0;
      }
      const rows = await sql.rows<{ id: number; payload: string }>(
        'SELECT id, payload FROM outbox ORDER BY id LIMIT ?',
        [batchSize],
      );
      if (rows.length === 0) {
        await qr.commitTransaction();
        return 0;
      }
      const events = rows.map((r) => JSON.parse(r.payload) as DomainEvent);
      // pipelined on one connection: the stream stores them in this order
      const results = await Promise.allSettled(
        events.map((e) =>
          publishEvent(opts.nc, opts.subjects, e, { timeoutMs: opts.publishTimeoutMs ?? 5_000 }),
        ),
      );
      const published = rows.filter((_, i) => results[i]?.status === 'fulfilled');
      await opts.hooks?.afterPublish?.(
        events.filter((_, i) => results[i]?.status === 'fulfilled').map((e) => e.id),
      );
      if (published.length) {
        await sql.exec(
          `DELETE FROM outbox WHERE id IN (${placeholders(published.length)})`,
          published.map((r) => r.id),
        );
      }
      await qr.commitTransaction();
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return published.length;
    } catch (err) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await qr.release();
    }
  }

  async function run(): Promise<void> {
    let backoff = 0;
    while (running) {
      let n = 0;
      try {
        n = await runOnce();
        backoff = 0;
      } catch (err) {
        opts.onRoundError?.(err);
        backoff = Math.min(backoff ? backoff * 2 : 100, 5_000);
        log.warn({ err, retry_in_ms: backoff }, 'outbox relay round failed');
      }
      if (!running) break;
      // drain until empty: events committed during a round are taken by the next one
      if (n > 0 && backoff === 0) continue;
      // another instance is relaying: look again soon rather than at the next poll
      await sleep(backoff || (leaseBusy ? Math.min(opts.pollMs, 25) : opts.pollMs));
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    poke() {
      if (wake) wake();
      else poked = true;
    },
    runOnce,
    async stop() {
      running = false;
      wake?.();
      await loop;
      loop = undefined;
    },
  };
}
