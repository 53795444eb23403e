/**
 * The per-user push outbox of the active notifier. Frames for one user leave in
 * the order they were handed in (one process, one connection, one subject).
 * Message and seen frames are never held. Counter frames go with their frame
 * when the user got none within the last `windowMs`; otherwise they wait for
 * the end of the window and only the latest value of each counter is sent, so
 * a burst of 50 messages gives 50 message frames and a few counter frames.
 */
import { counterKey, type FeedEntry } from '@parley/protocol';
import type { MemberPush } from '../fanout.js';

/** One frame for one user's feed, with the message id that makes its append idempotent. */
export interface Entry {
  entry: FeedEntry;
  /** `<event id>:<user id>:<frame kind>`: a redelivered event appends nothing twice */
  msgId: string;
}

export interface UserPushesOptions {
  windowMs: number;
  /** append the entries to the user's feed, in order; resolves once the server stored them all */
  publish: (userId: number, entries: Entry[]) => Promise<void>;
  /** a pending counter frame was replaced by a newer value */
  onCoalesced?: () => void;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface UserState {
  lastCountersAt: number;
  pending: Map<string, Entry>;
  timer: NodeJS.Timeout | null;
  waiters: Waiter[];
}

export interface UserPushes {
  /** resolves once every frame of `p` (held counters too) is stored in the feed */
  push(p: MemberPush): Promise<void>;
  /** publish every held counter now (shutdown, losing the lease) */
  flushAll(): void;
  /** users with state in memory */
  size(): number;
  dispose(): void;
}

/** The feed entries of a member push: the frame, then (when given) its counters. */
function entriesOf(p: MemberPush, withCounters: boolean): Entry[] {
  const out: Entry[] = [
    { entry: feedEntry(p.frame, p.frameSkip), msgId: `${p.event_id}:${p.user_id}:frame` },
  ];
  if (withCounters) out.push(...counterEntries(p));
  return out;
}

function counterEntries(p: MemberPush): Entry[] {
  return p.counters.map((item) => ({
    entry: { ...feedEntry(item, p.countersSkip), version: p.version },
    msgId: `${p.event_id}:${p.user_id}:${counterKey(item)}`,
  }));
}

function feedEntry(item: FeedEntry['item'], skip: string | null): FeedEntry {
  return skip === null ? { item } : { item, origin_conn: skip };
}

export function createUserPushes(opts: UserPushesOptions): UserPushes {
  const users = new Map<number, UserState>();

  const flush = (userId: number, st: UserState) => {
    if (st.timer) clearTimeout(st.timer);
    st.timer = null;
    st.lastCountersAt = Date.now();
    const entries = [...st.pending.values()];
    st.pending.clear();
    const waiters = st.waiters.splice(0);
    const sent = entries.length ? opts.publish(userId, entries) : Promise.resolve();
    sent.then(
      () => {
        for (const w of waiters) w.resolve();
      },
      (err: unknown) => {
        for (const w of waiters) w.reject(err);
      },
    );
  };

  const sweeper = setInterval(
    () => {
      const old = Date.now() - opts.windowMs;
      for (const [id, st] of users) if (!st.timer && st.lastCountersAt < old) users.delete(id);
    },
    Math.max(1_000, opts.windowMs * 4),
  );
  sweeper.unref();

  return {
    push(p) {
      let st = users.get(p.user_id);
      if (!st) {
        st = { lastCountersAt: Number.NEGATIVE_INFINITY, pending: new Map(), timer: null, waiters: [] };
        users.set(p.user_id, st);
      }
      if (p.counters.length === 0) return opts.publish(p.user_id, entriesOf(p, false));
      const now = Date.now();
      if (!st.timer && now - st.lastCountersAt >= opts.windowMs) {
        st.lastCountersAt = now;
        return opts.publish(p.user_id, entriesOf(p, true));
      }
      const framed = opts.publish(p.user_id, entriesOf(p, false));
      for (const e of counterEntries(p)) {
        const key = counterKey(e.entry.item) ?? '';
        const prev = st.pending.get(key);
        if (prev) opts.onCoalesced?.();
        // an older value never replaces a newer one held: a redelivered event (a lost ack, a takeover)
        // comes after its successors, and the newer value would be lost with the older one dropped
        // as stale when it leaves
        if (prev && (prev.entry.version ?? 0) > (e.entry.version ?? 0)) continue;
        // a held value that two connections asked for is skipped by neither
        if (prev && (prev.entry.origin_conn ?? null) !== (e.entry.origin_conn ?? null))
          delete e.entry.origin_conn;
        st.pending.set(key, e);
      }
      if (!st.timer) {
        const state = st;
        st.timer = setTimeout(
          () => flush(p.user_id, state),
          Math.max(0, st.lastCountersAt + opts.windowMs - now),
        );
      }
      const held = new Promise<void>((resolve, reject) => st.waiters.push({ resolve, reject }));
      return Promise.all([framed, held]).then(() => undefined);
    },
    flushAll() {
      for (const [id, st] of users) if (st.timer) flush(id, st);
    },
    size: () => users.size,
    dispose() {
      clearInterval(sweeper);
      this.flushAll();
      users.clear();
    },
  };
}
