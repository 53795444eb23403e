/**
 * One e-mail to one recipient, driven through the delivery record's states
 * (records.ts) until it is sent, folded into another e-mail, skipped, or has
 * to wait. Every step is a KV create or compare-and-set, so redeliveries, a
 * restart and several mailer instances race safely.
 *
 * At least once, effectively exactly once (PROTOCOL.md §6): a record that is
 * not `sent` is sent again when its event comes back, with the same
 * Message-ID (derived from the record's key). `sending` is a lease held by the
 * process talking to the server and renewed while it does, so a live sender
 * is never doubled; a crashed one's lease runs out within the consumer's ack
 * wait, when its events come back. The record becomes `sent` right after the
 * server's acceptance, inside the in-flight limit, so the only repeat a crash
 * can cause is the SMTP transaction(s) in flight at that moment.
 */
import { type JsonKv, Limiter, retry } from '@parley/bus';
import type { Logger } from '@parley/logger';
import { createBatches } from './batches.js';
import type { Quota } from './quota.js';
import { createRecordStore, type Rec, stamp } from './record-store.js';
import { isFinal, keys, type MailRecipient, type MailValue, type SendingRecord } from './records.js';
import type { MailItem } from './templates/index.js';

export type Outcome = { kind: 'done' } | { kind: 'defer'; ms: number };

export interface DeliveryDeps {
  kv: JsonKv<MailValue>;
  delayMs: number;
  logger: Logger;
  /** this process, as the owner of the `sending` leases it holds */
  instance: string;
  /** how long a `sending` lease lasts unrenewed (≤ the consumer's ack wait) */
  leaseMs: number;
  /** SMTP transactions at once (SMTP_MAX_CONNECTIONS) */
  inFlight: number;
  /** the hourly cap per recipient (also with no cap: a digest from a capped time is still sent) */
  quota: Quota;
  /** send the e-mail of `leader` with `items` to `to`; throws when the server did not accept it */
  send(leader: number, items: MailItem[], to: MailRecipient): Promise<void>;
  onResult(result: 'sent' | 'failed' | 'skipped' | 'folded'): void;
  /** tries at writing `sent` after the server accepted an e-mail (default 12, about 15 s) */
  recordAttempts?: number;
}

const DONE: Outcome = { kind: 'done' };
const defer = (ms: number): Outcome => ({ kind: 'defer', ms: Math.max(1, Math.ceil(ms)) });
/** CAS losses in a row before giving up on this delivery for now (the event is retried) */
const MAX_STEPS = 64;

export function createDeliveries(deps: DeliveryDeps) {
  const { kv, quota } = deps;
  const records = createRecordStore(kv);
  const batches = createBatches(kv, records);
  // at most `inFlight` e-mails between "the SMTP transaction starts" and "its record says sent": a
  // crash can only repeat an e-mail in that window, so this bounds the repeats per crash (§6)
  const limit = new Limiter(deps.inFlight);
  /** keys this process is transmitting now */
  const transmitting = new Set<string>();
  /**
   * keys whose e-mail the server accepted while the record could not be moved to `sent` (NATS away
   * longer than the retries): when the event comes back the record is written, the e-mail not sent again
   */
  const accepted = new Set<string>();

  /** `sending` (owned by this process) → `sent`, re-reading the record on every try */
  async function recordSent(key: string, count: number): Promise<void> {
    await retry(
      async () => {
        const now = await records.get(key);
        if (now?.value.state !== 'sending' || now.value.owner !== deps.instance) return;
        const sent = await records.move(now, {
          state: 'sent',
          attempts: now.value.attempts,
          count,
          at: stamp(),
        });
        if (!sent) throw new Error('the record moved meanwhile');
      },
      {
        what: 'recording a sent e-mail',
        logger: deps.logger,
        attempts: deps.recordAttempts ?? 12,
        maxMs: 2_000,
      },
    );
    accepted.delete(key);
  }

  /**
   * Keep the lease of a `sending` record alive while the e-mail waits for its turn and
   * talks to the server; `release()` stops renewing and gives the record as it now stands
   * (null when another process took it over, which only happens after this one stalled).
   */
  function holdLease(rec: Rec<SendingRecord>) {
    let chain: Promise<Rec<SendingRecord> | null> = Promise.resolve(rec);
    const renew = () => {
      chain = chain.then(async (cur) => {
        if (!cur) return null;
        try {
          return await records.move(cur, { ...cur.value, until: Date.now() + deps.leaseMs, at: stamp() });
        } catch (err) {
          deps.logger.warn({ err, key: cur.key }, 'could not renew a sending lease');
          return cur;
        }
      });
    };
    const timer = setInterval(renew, Math.max(100, Math.floor(deps.leaseMs / 3)));
    timer.unref();
    return {
      release() {
        clearInterval(timer);
        return chain;
      },
    };
  }

  /** Own the record as `sending` and talk to the server; the record ends `sent` or `failed`. */
  async function transmit(leader: number, to: MailRecipient, cur: Rec, items: MailItem[]): Promise<Outcome> {
    // `?? 0`: records written by an older mailer may lack the count
    const prior =
      cur.value.state === 'sending' || cur.value.state === 'failed' ? (cur.value.attempts ?? 0) : 0;
    const mine = await records.move(cur, {
      state: 'sending',
      items,
      owner: deps.instance,
      until: Date.now() + deps.leaseMs,
      attempts: prior + 1,
      at: stamp(),
    });
    if (!mine) return drive(leader, 0, to, null, cur.key); // someone moved it meanwhile: look again
    transmitting.add(mine.key);
    const lease = holdLease(mine);
    try {
      await limit.run(async () => {
        try {
          await deps.send(leader, items, to);
        } catch (err) {
          const now = await lease.release();
          if (now)
            await records.move(now, { state: 'failed', items, attempts: now.value.attempts, at: stamp() });
          deps.onResult('failed');
          throw err;
        }
        // accepted: record it before the next transaction may start (the limit above). A write
        // whose answer was lost (a NATS node dying) leaves a stale revision: re-read and retry, or
        // the record stays `sending` and another instance sends the e-mail again
        accepted.add(mine.key);
        await lease.release().catch(() => undefined);
        await recordSent(mine.key, items.length);
        deps.onResult('sent');
      });
    } finally {
      transmitting.delete(mine.key);
      await lease.release();
    }
    return DONE;
  }

  /** Messages of `items` not read meanwhile (only tracked with MAIL_DELAY_SECONDS). */
  async function unread(items: MailItem[]): Promise<MailItem[]> {
    if (deps.delayMs === 0) return items;
    const seen = await Promise.all(items.map((it) => kv.get(keys.seen(it.message_id))));
    return items.filter((_, i) => !seen[i]);
  }

  /** Take the record as far as it can go now. `dialogId` 0: unknown (the batch is closed then). */
  async function drive(
    leader: number,
    dialogId: number,
    to: MailRecipient,
    start: Rec | null,
    key: string,
  ): Promise<Outcome> {
    let rec = start;
    let batchClosed = false;
    for (let step = 0; step < MAX_STEPS; step++) {
      rec ??= await records.get(key);
      if (!rec || isFinal(rec.value.state)) return DONE;
      const v = rec.value;
      switch (v.state) {
        case 'leading': {
          if (v.due > Date.now()) return defer(v.due - Date.now());
          rec = await batches.close(leader, dialogId, to, rec);
          batchClosed = true;
          continue;
        }
        case 'held': {
          if (v.due > Date.now()) return defer(v.due - Date.now());
          // the digest's content: every message folded in meanwhile
          const digest = await quota.digestOf(leader, to.user_id);
          rec = await records.move(rec, { state: 'claimed', items: digest?.items ?? v.items, at: stamp() });
          continue;
        }
        case 'claimed': {
          if (v.batch && !batchClosed && dialogId) {
            rec = await batches.close(leader, dialogId, to, rec);
            batchClosed = true;
            continue;
          }
          const items = await unread(v.items);
          if (items.length === 0) {
            // a digest it leads must not be left behind with nobody to send it
            if (!(await quota.release(leader, to.user_id, v.items))) {
              const digest = await quota.digestOf(leader, to.user_id);
              rec = await records.move(rec, {
                state: 'claimed',
                items: digest?.items ?? v.items,
                at: stamp(),
              });
              continue;
            }
            rec = await records.move(rec, { state: 'skipped', at: stamp() });
            if (rec) deps.onResult('skipped');
            continue;
          }
          const admission = await quota.admit(leader, to.user_id, items);
          switch (admission.kind) {
            case 'send':
              return transmit(leader, to, rec, items);
            case 'join':
              rec = await records.move(rec, { state: 'batched', into: admission.into, at: stamp() });
              if (rec) deps.onResult('folded');
              continue;
            case 'wait':
              rec = await records.move(rec, { state: 'held', due: admission.until, items, at: stamp() });
              continue;
            case 'refresh':
              rec = await records.move(rec, { state: 'claimed', items: admission.items, at: stamp() });
              continue;
          }
          continue;
        }
        case 'sending': {
          if (v.owner === deps.instance && accepted.has(rec.key) && !transmitting.has(rec.key)) {
            // sent already; only its record was not written
            await recordSent(rec.key, v.items.length);
            deps.onResult('sent');
            return DONE;
          }
          if (v.owner === deps.instance ? transmitting.has(rec.key) : v.until > Date.now()) {
            // a live sender holds it: look again when its lease would have run out
            return defer(v.until - Date.now() + 100);
          }
          // left by a crashed (or stalled) process: it may or may not have reached the server
          deps.logger.info(
            { key: rec.key, owner: v.owner, attempts: v.attempts },
            'sending an e-mail again whose sender stopped mid-way',
          );
          return transmit(leader, to, rec, v.items);
        }
        case 'failed':
          return transmit(leader, to, rec, v.items);
      }
    }
    throw new Error(`delivery ${key}: no progress after ${MAX_STEPS} steps`);
  }

  return {
    /** Drive the e-mail of `item` to `to` as far as it can go now. */
    async deliver(item: MailItem, to: MailRecipient, createdAt: number): Promise<Outcome> {
      const key = keys.delivery(item.message_id, to.user_id);
      let rec: Rec | null;
      if (deps.delayMs === 0) {
        rec = await records.begin(key, { state: 'claimed', items: [item], at: stamp() });
      } else {
        rec = await records.get(key);
        rec ??= await batches.joinOrLead(item, to, createdAt + deps.delayMs);
      }
      return drive(item.message_id, item.dialog_id, to, rec, key);
    },

    /** A read marks every message id: a held e-mail of it is then not sent. */
    async markSeen(ids: number[]): Promise<void> {
      await Promise.all(ids.map((id) => kv.put(keys.seen(id), { seen: true })));
    },
  };
}

export type Deliveries = ReturnType<typeof createDeliveries>;
