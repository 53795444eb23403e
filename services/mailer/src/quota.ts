/**
 * The hourly cap per recipient (MAIL_MAX_PER_RECIPIENT_PER_HOUR): one KV
 * record `q.<recipient>` holds the e-mails admitted in the sliding window and
 * the digest of the surplus. Nothing over the cap is dropped: the first e-mail
 * refused a slot leads the digest, later ones join it, and the leader sends
 * them all as one e-mail when the oldest slot of the window frees. Every
 * change is one compare-and-set, so instances and redeliveries race safely,
 * and each answer is idempotent: asked again after a crash, `admit` gives the
 * same verdict (an admitted leader stays admitted, a folded message stays
 * folded even once its digest went out).
 */
import type { JsonKv } from '@parley/bus';
import { type Digest, keys, type MailValue, type QuotaEntry, type QuotaRecord } from './records.js';
import type { MailItem } from './templates/index.js';

export type Admission =
  /** a slot is this e-mail's: send it */
  | { kind: 'send' }
  /** folded into the digest led by `into` (or already sent in it) */
  | { kind: 'join'; into: number }
  /** this e-mail leads the digest: come back at `until` */
  | { kind: 'wait'; until: number }
  /** this e-mail leads the digest, which holds more messages than `items`: take these first */
  | { kind: 'refresh'; items: MailItem[] };

export interface QuotaDeps {
  kv: JsonKv<MailValue>;
  /** e-mails per recipient per window; 0 = no cap (a digest left from a capped time is still sent) */
  cap: number;
  windowMs: number;
}

type Current = { value: QuotaRecord; revision: number } | null;

const byDate = (a: MailItem, b: MailItem) =>
  a.date_created.localeCompare(b.date_created) || a.message_id - b.message_id;

export function createQuota(deps: QuotaDeps) {
  const { kv, windowMs } = deps;
  const cap = deps.cap > 0 ? deps.cap : Number.POSITIVE_INFINITY;

  const read = async (userId: number): Promise<Current> => (await kv.get(keys.quota(userId))) as Current;

  const write = async (userId: number, cur: Current, next: QuotaRecord): Promise<boolean> =>
    (cur
      ? await kv.update(keys.quota(userId), next, cur.revision)
      : await kv.create(keys.quota(userId), next)) !== null;

  return {
    /** May the e-mail of `leader` carrying `items` go to `userId` now? */
    async admit(leader: number, userId: number, items: MailItem[]): Promise<Admission> {
      for (;;) {
        const now = Date.now();
        const cur = await read(userId);
        const live = (cur?.value.sent ?? []).filter((e) => e.at > now - windowMs).sort((a, b) => a.at - b.at);
        // asked again after a crash between this answer and the record's write
        if (live.some((e) => e.leader === leader)) return { kind: 'send' };
        const went = live.find((e) => e.folded?.includes(leader));
        if (went) return { kind: 'join', into: went.leader };

        const free = live.length < cap;
        /** when the window has a free slot again */
        const slotAt = free ? now : (live[live.length - cap]?.at ?? now) + windowMs;
        const digest = cur?.value.digest ?? null;
        // no cap and nothing held: nothing to count
        if (cap === Number.POSITIVE_INFINITY && !digest) return { kind: 'send' };
        const mine = new Set(items.map((i) => i.message_id));

        if (digest?.leader === leader) {
          const missing = digest.items.filter((i) => !mine.has(i.message_id));
          if (missing.length) return { kind: 'refresh', items: [...items, ...missing].sort(byDate) };
          if (now < digest.due || !free) return { kind: 'wait', until: Math.max(digest.due, slotAt) };
          const entry: QuotaEntry = {
            at: now,
            leader,
            folded: items.map((i) => i.message_id).filter((id) => id !== leader),
          };
          if (await write(userId, cur, { sent: [...live, entry], digest: null })) return { kind: 'send' };
          continue;
        }
        if (digest) {
          const add = items.filter((i) => !digest.items.some((x) => x.message_id === i.message_id));
          if (add.length === 0) return { kind: 'join', into: digest.leader };
          const grown: Digest = { ...digest, items: [...digest.items, ...add].sort(byDate) };
          if (await write(userId, cur, { sent: live, digest: grown }))
            return { kind: 'join', into: digest.leader };
          continue;
        }
        if (free) {
          if (await write(userId, cur, { sent: [...live, { at: now, leader }], digest: null }))
            return { kind: 'send' };
          continue;
        }
        const opened: Digest = { leader, due: slotAt, items: [...items].sort(byDate) };
        if (await write(userId, cur, { sent: live, digest: opened })) return { kind: 'wait', until: slotAt };
      }
    },

    /**
     * The e-mail of `leader` will not be sent (every message of it was read): if it leads the
     * digest, close the digest without taking a slot — unless messages joined that `items` does not
     * hold (false: take those and decide again). True when nothing is held for it any more.
     */
    async release(leader: number, userId: number, items: MailItem[]): Promise<boolean> {
      for (;;) {
        const cur = await read(userId);
        const digest = cur?.value.digest;
        if (!cur || digest?.leader !== leader) return true;
        if (digest.items.some((i) => !items.some((x) => x.message_id === i.message_id))) return false;
        if (await write(userId, cur, { sent: cur.value.sent, digest: null })) return true;
      }
    },

    /** The digest `leader` leads for `userId`, if it still does. */
    async digestOf(leader: number, userId: number): Promise<Digest | null> {
      const d = (await read(userId))?.value.digest;
      return d?.leader === leader ? d : null;
    },
  };
}

export type Quota = ReturnType<typeof createQuota>;
