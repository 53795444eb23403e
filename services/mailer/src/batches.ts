/**
 * MAIL_DELAY_SECONDS: the first message of a dialog for a recipient opens a
 * batch `b.<dialog>.<recipient>` and leads it; later messages within the
 * delay join it, and the leader's e-mail carries them all. The leader's record
 * takes the batch's content before the batch is closed, so a crash between the
 * two writes leaves a record that closes the batch again when its event comes
 * back. A message that joined a batch and crashed before writing its own record
 * finds the batch that carried it in the batch record's history (the replaced
 * batches, newest first) when its event comes back, several batches later.
 */
import type { JsonKv } from '@parley/bus';
import type { Rec, RecordStore } from './record-store.js';
import { stamp } from './record-store.js';
import {
  BATCH_HISTORY,
  BATCH_HISTORY_MS,
  type BatchGeneration,
  type BatchRecord,
  historyOf,
  keys,
  type MailRecipient,
  type MailValue,
} from './records.js';
import type { MailItem } from './templates/index.js';

type Batch = { value: BatchRecord; revision: number } | null;

/** the history of the batch replacing `b`: `b` itself first, then what `b` remembered, bounded */
function replaced(b: BatchRecord, history: BatchGeneration[]): BatchGeneration[] {
  const now = Date.now();
  const own = { leader: b.leader, ids: b.items.map((i) => i.message_id), at: now };
  return [own, ...history.filter((g) => now - g.at < BATCH_HISTORY_MS)].slice(0, BATCH_HISTORY);
}

export function createBatches(kv: JsonKv<MailValue>, records: RecordStore) {
  const getBatch = async (key: string) => (await kv.get(key)) as Batch;

  return {
    /** First sight of a message with a delay: lead a new batch of its dialog, or join the open one. */
    async joinOrLead(item: MailItem, to: MailRecipient, due: number): Promise<Rec | null> {
      const dkey = keys.delivery(item.message_id, to.user_id);
      const bkey = keys.batch(item.dialog_id, to.user_id);
      for (;;) {
        const b = await getBatch(bkey);
        if (b?.value.state === 'open' && b.value.leader === item.message_id) {
          return records.begin(dkey, { state: 'leading', due: b.value.due, items: [item], at: stamp() });
        }
        // joined a batch, then crashed before writing its own record: the batch (or the one that
        // replaced it) still lists it, so it is not put in a second e-mail
        const history = b ? historyOf(b.value) : [];
        const went = b?.value.items.some((i) => i.message_id === item.message_id)
          ? b.value.leader
          : (history.find((g) => g.ids.includes(item.message_id))?.leader ?? null);
        if (went !== null && went !== item.message_id) {
          return records.begin(dkey, { state: 'batched', into: went, at: stamp() });
        }
        if (b?.value.state === 'open') {
          const grown = { ...b.value, items: [...b.value.items, item] };
          if ((await kv.update(bkey, grown, b.revision)) === null) continue;
          return records.begin(dkey, { state: 'batched', into: b.value.leader, at: stamp() });
        }
        const fresh: BatchRecord = {
          state: 'open',
          leader: item.message_id,
          due,
          items: [item],
          ...(b ? { history: replaced(b.value, history) } : {}),
        };
        const rev = b ? await kv.update(bkey, fresh, b.revision) : await kv.create(bkey, fresh);
        if (rev === null) continue;
        return records.begin(dkey, { state: 'leading', due, items: [item], at: stamp() });
      }
    },

    /**
     * Fix the batch's content into its leader's record (leading/claimed → claimed) and close the
     * batch; idempotent. Returns the record as it stands afterwards.
     */
    async close(leader: number, dialogId: number, to: MailRecipient, rec: Rec): Promise<Rec | null> {
      const bkey = keys.batch(dialogId, to.user_id);
      let cur: Rec | null = rec;
      for (;;) {
        if (!cur || (cur.value.state !== 'leading' && cur.value.state !== 'claimed')) return cur;
        const b = await getBatch(bkey);
        if (b?.value.state !== 'open' || b.value.leader !== leader) {
          // already closed (by us, before a crash) — or gone: the record's own content stands
          if (cur.value.state === 'claimed') return cur;
          const own: Rec | null = await records.move(cur, {
            state: 'claimed',
            items: cur.value.items,
            at: stamp(),
          });
          if (own) return own;
          cur = await records.get(cur.key);
          continue;
        }
        const claimed: Rec | null = await records.move(cur, {
          state: 'claimed',
          items: b.value.items,
          batch: true,
          at: stamp(),
        });
        if (!claimed) {
          cur = await records.get(cur.key);
          continue;
        }
        cur = claimed;
        if ((await kv.update(bkey, { ...b.value, state: 'closed' }, b.revision)) !== null) return cur;
      }
    },
  };
}

export type Batches = ReturnType<typeof createBatches>;
