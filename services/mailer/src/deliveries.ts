/**
 * Exactly-once delivery of one e-mail to one recipient, driven by the KV
 * records of records.ts. Every step is a KV create or compare-and-set, so
 * redelivery, a restart or two mailer instances race safely: only the one
 * whose `claimed → sending` CAS wins talks to the SMTP server. A record left
 * in `sending` by a crash is treated as possibly sent and is NOT sent again
 * (at most once in that crash window; everywhere else exactly once).
 */
import type { JsonKv } from '@parley/bus';
import type { Logger } from '@parley/logger';
import {
  type BatchRecord,
  type DeliveryRecord,
  FINAL,
  keys,
  type MailRecipient,
  type MailValue,
} from './records.js';
import type { MailItem } from './templates/index.js';

export type Outcome = { kind: 'done' } | { kind: 'defer'; ms: number };

export interface DeliveryDeps {
  kv: JsonKv<MailValue>;
  delayMs: number;
  logger: Logger;
  /** send the e-mail of `leader` with `items` to `to`; throws when the server did not accept it */
  send(leader: number, items: MailItem[], to: MailRecipient): Promise<void>;
  onResult(result: 'sent' | 'failed' | 'skipped'): void;
}

type Rec = { value: DeliveryRecord; revision: number };
const now = () => new Date().toISOString();

export function createDeliveries(deps: DeliveryDeps) {
  const { kv } = deps;
  const getRec = async (key: string) => (await kv.get(key)) as Rec | null;

  /** First sight of a message with a delay: lead a new batch of its dialog, or join the open one. */
  async function joinOrLead(item: MailItem, to: MailRecipient, due: number): Promise<Rec | null> {
    const dkey = keys.delivery(item.message_id, to.user_id);
    const bkey = keys.batch(item.dialog_id, to.user_id);
    for (;;) {
      const b = (await kv.get(bkey)) as { value: BatchRecord; revision: number } | null;
      if (b && b.value.state === 'open' && b.value.leader === item.message_id) {
        return writeRec(dkey, { state: 'leading', due: b.value.due, batch: true, items: [item], at: now() });
      }
      if (b && b.value.state === 'open') {
        if (!b.value.items.some((i) => i.message_id === item.message_id)) {
          const rev = await kv.update(bkey, { ...b.value, items: [...b.value.items, item] }, b.revision);
          if (rev === null) continue;
        }
        return writeRec(dkey, { state: 'batched', into: b.value.leader, at: now() });
      }
      const fresh: BatchRecord = { state: 'open', leader: item.message_id, due, items: [item] };
      const rev = b ? await kv.update(bkey, fresh, b.revision) : await kv.create(bkey, fresh);
      if (rev === null) continue;
      return writeRec(dkey, { state: 'leading', due, batch: true, items: [item], at: now() });
    }
  }

  async function writeRec(key: string, value: DeliveryRecord): Promise<Rec | null> {
    const rev = await kv.create(key, value);
    return rev === null ? getRec(key) : { value, revision: rev };
  }

  /** Fix the batch's content into the leader's record and close the batch (idempotent). */
  async function closeBatch(
    leader: number,
    dialogId: number,
    to: MailRecipient,
    rec: Rec,
  ): Promise<Rec | null> {
    const dkey = keys.delivery(leader, to.user_id);
    const bkey = keys.batch(dialogId, to.user_id);
    let cur: Rec | null = rec;
    for (;;) {
      if (!cur || (cur.value.state !== 'leading' && cur.value.state !== 'claimed')) return cur;
      const b = (await kv.get(bkey)) as { value: BatchRecord; revision: number } | null;
      if (b?.value.state !== 'open' || b.value.leader !== leader) {
        if (cur.value.state === 'claimed') return cur;
        // the batch vanished (expired): send what we know of our own message
        const value: DeliveryRecord = {
          ...cur.value,
          state: 'claimed',
          items: cur.value.items ?? [],
          at: now(),
        };
        const rev = await kv.update(dkey, value, cur.revision);
        cur = rev === null ? await getRec(dkey) : { value, revision: rev };
        return cur;
      }
      const value: DeliveryRecord = { ...cur.value, state: 'claimed', items: b.value.items, at: now() };
      const rev = await kv.update(dkey, value, cur.revision);
      if (rev === null) {
        cur = await getRec(dkey);
        continue;
      }
      cur = { value, revision: rev };
      if ((await kv.update(bkey, { ...b.value, state: 'closed' }, b.revision)) !== null) return cur;
    }
  }

  /** claimed/failed → (read? skipped) → sending → sent | failed. */
  async function sendClaimed(leader: number, to: MailRecipient, rec: Rec): Promise<void> {
    const dkey = keys.delivery(leader, to.user_id);
    const all = rec.value.items ?? [];
    const unread: MailItem[] = [];
    for (const it of all)
      if (deps.delayMs === 0 || !(await kv.get(keys.seen(it.message_id)))) unread.push(it);
    if (unread.length === 0) {
      if ((await kv.update(dkey, { ...rec.value, state: 'skipped', at: now() }, rec.revision)) !== null) {
        deps.onResult('skipped');
      }
      return;
    }
    const attempts = (rec.value.attempts ?? 0) + 1;
    const sending: DeliveryRecord = { ...rec.value, items: unread, state: 'sending', attempts, at: now() };
    const rev = await kv.update(dkey, sending, rec.revision);
    if (rev === null) return; // another instance got there first
    try {
      await deps.send(leader, unread, to);
    } catch (err) {
      await kv.update(dkey, { ...sending, state: 'failed', at: now() }, rev);
      deps.onResult('failed');
      throw err;
    }
    await kv.update(dkey, { ...sending, state: 'sent', at: now() }, rev);
    deps.onResult('sent');
  }

  return {
    /** Drive the e-mail of `item` to `to` as far as it can go now. */
    async deliver(item: MailItem, to: MailRecipient, createdAt: number): Promise<Outcome> {
      const dkey = keys.delivery(item.message_id, to.user_id);
      let rec = await getRec(dkey);
      if (!rec) {
        rec =
          deps.delayMs === 0
            ? await writeRec(dkey, { state: 'claimed', items: [item], at: now() })
            : await joinOrLead(item, to, createdAt + deps.delayMs);
      }
      if (!rec) return { kind: 'done' };
      if (rec.value.state === 'leading') {
        const wait = (rec.value.due ?? 0) - Date.now();
        if (wait > 0) return { kind: 'defer', ms: wait };
      }
      if (rec.value.batch) rec = await closeBatch(item.message_id, item.dialog_id, to, rec);
      if (!rec || FINAL.includes(rec.value.state)) {
        if (rec?.value.state === 'sending') {
          deps.logger.warn(
            { message_id: item.message_id, user_id: to.user_id },
            'e-mail possibly sent before a crash: not resent',
          );
        }
        return { kind: 'done' };
      }
      await sendClaimed(item.message_id, to, rec);
      return { kind: 'done' };
    },

    /** A read marks every message id: a held e-mail of it is then not sent. */
    async markSeen(ids: number[]): Promise<void> {
      await Promise.all(ids.map((id) => kv.put(keys.seen(id), { seen: true })));
    },
  };
}

export type Deliveries = ReturnType<typeof createDeliveries>;
