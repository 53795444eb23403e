/**
 * Reads and writes of delivery records, each write a KV create or
 * compare-and-set checked against the transition table (records.ts): a lost
 * race is `null` (re-read and decide again), a move the table forbids throws.
 */
import type { JsonKv } from '@parley/bus';
import { canMove, type DeliveryRecord, type MailValue } from './records.js';

export interface Rec<R extends DeliveryRecord = DeliveryRecord> {
  key: string;
  value: R;
  revision: number;
}

export const stamp = () => new Date().toISOString();

export function createRecordStore(kv: JsonKv<MailValue>) {
  async function get(key: string): Promise<Rec | null> {
    const r = await kv.get(key);
    return r ? { key, value: r.value as DeliveryRecord, revision: r.revision } : null;
  }

  return {
    get,
    /** The first record of `key`; when one is already there, that one. */
    async begin(key: string, value: DeliveryRecord): Promise<Rec | null> {
      if (!canMove(null, value.state)) throw new Error(`a delivery record cannot start as ${value.state}`);
      const rev = await kv.create(key, value);
      return rev === null ? get(key) : { key, value, revision: rev };
    },
    /** `cur` → `next` if nobody changed the record since `cur` was read; null when someone did. */
    async move<R extends DeliveryRecord>(cur: Rec, next: R): Promise<Rec<R> | null> {
      if (!canMove(cur.value.state, next.state)) {
        throw new Error(`delivery record ${cur.key}: ${cur.value.state} → ${next.state} is not a transition`);
      }
      const rev = await kv.update(cur.key, next, cur.revision);
      return rev === null ? null : { key: cur.key, value: next, revision: rev };
    },
  };
}

export type RecordStore = ReturnType<typeof createRecordStore>;
