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
 * - A round costs four SQL round trips (begin, lease + batch in one
 *   statement, delete, commit) and one NATS flush: the batch goes out as core
 *   publishes with asynchronous PubAcks (`publishEvents`), not a request per
 *   event, chained so that an event that fails takes every later one with it
 *   (a retry never lands behind its successors); the events stored are
 *   deleted, the rest go out again next round (duplicates are no-ops). A round that took less than a full batch is not followed by an
 *   immediate empty one: commits during it poked the relay, which runs again.
 */

import type { NatsConnection } from '@parley/bus';
import { publishEvents } from '@parley/bus';
import type { Logger } from '@parley/logger';
import type { DomainEvent, Subjects } from '@parley/protocol';
import type { DataSource } from 'typeorm';
import { openTransaction, placeholders, type Sql } from '../db/sql.js';

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

  /**
   * Take the lease and read the next batch: one statement (the lease row's locking read, then the
   * batch) while this instance holds the lease round after round; after a round that found it taken,
   * the lease alone first, so a waiting instance does not read batches it cannot relay.
   * Undefined: another instance holds the lease.
   */
  async function leaseAndBatch(sql: Sql): Promise<{ id: number; payload: string }[] | undefined> {
    if (leaseBusy) {
      const lease = await sql.one('SELECT id FROM outbox_lease WHERE id = 1 FOR UPDATE SKIP LOCKED');
      leaseBusy = !lease;
      if (!lease) return undefined;
      return sql.rows('SELECT id, payload FROM outbox ORDER BY id LIMIT ?', [batchSize]);
    }
    const found = await sql.rows<{ id: number | string; payload: string | null }>(
      `(SELECT 0 AS id, NULL AS payload FROM outbox_lease WHERE id = 1 FOR UPDATE SKIP LOCKED)
       UNION ALL (SELECT id, payload FROM outbox ORDER BY id LIMIT ?)`,
      [batchSize],
    );
    leaseBusy = !found.some((r) => Number(r.id) === 0);
    if (leaseBusy) return undefined;
    return found
      .filter((r): r is { id: number; payload: string } => Number(r.id) !== 0)
      .map((r) => ({ id: Number(r.id), payload: r.payload }))
      .sort((a, b) => a.id - b.id);
  }

  /**
   * One round, two round trips to the database when it has events (TxSql): `START TRANSACTION` with
   * the lease and the batch, then the `DELETE` of what was published with `COMMIT`.
   */
  async function runOnce(): Promise<number> {
    const { tx: sql, end } = await openTransaction(opts.ds);
    let ok = false;
    try {
      const rows = await leaseAndBatch(sql);
      if (rows === undefined) return 0;
      if (rows.length === 0) {
        ok = true;
        return 0;
      }
      const events = rows.map((r) => JSON.parse(r.payload) as DomainEvent);
      // one connection, one flush: the stream stores them in this order
      const results = await publishEvents(opts.nc, opts.subjects, events, {
        timeoutMs: opts.publishTimeoutMs ?? 5_000,
      });
      const published = rows.filter((_, i) => results[i]?.status === 'fulfilled');
      await opts.hooks?.afterPublish?.(
        events.filter((_, i) => results[i]?.status === 'fulfilled').map((e) => e.id),
      );
      if (published.length) {
        sql.write(
          `DELETE FROM outbox WHERE id IN (${placeholders(published.length)})`,
          published.map((r) => r.id),
        );
      }
      // the DELETE goes with the COMMIT; a failure rejects here (the events are published again
      // next round, deduplicated by the stream)
      ok = true;
      await end(true);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return published.length;
    } finally {
      // a round that returned or threw before its commit: roll back (idempotent after the commit)
      await end(ok);
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
      // a full batch: more may be waiting; otherwise events committed during the round poked us
      if (n >= batchSize && backoff === 0) continue;
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
