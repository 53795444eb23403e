/**
 * The per-user push outbox of the active notifier. Frames for one user leave in
 * the order they were handed in (one process, one connection, one subject).
 * Message and seen frames are never held. Counter frames go with their frame
 * when the user got none within the last `windowMs`; otherwise they wait for
 * the end of the window and only the latest value of each counter is sent, so
 * a burst of 50 messages gives 50 message frames and a few counter frames.
 */
import type { PushItem, PushMessage } from '@parley/protocol';
import type { MemberPush } from '../fanout.js';

export interface Entry {
  item: PushItem;
  /** the connection that must not get this item */
  skip: string | null;
}

export interface UserPushesOptions {
  windowMs: number;
  publish: (userId: number, msg: PushMessage) => void;
  /** a pending counter frame was replaced by a newer value */
  onCoalesced?: () => void;
}

interface UserState {
  lastCountersAt: number;
  pending: Map<string, Entry>;
  timer: NodeJS.Timeout | null;
  waiters: Array<() => void>;
}

export interface UserPushes {
  /** resolves once every frame of `p` (held counters too) is published */
  push(p: MemberPush): Promise<void>;
  /** publish every held counter now (shutdown, losing the lease) */
  flushAll(): void;
  /** users with state in memory */
  size(): number;
  dispose(): void;
}

/** Split entries into PushMessages: each carries at most one origin connection to skip. */
export function toPushMessages(entries: Entry[]): PushMessage[] {
  const out: PushMessage[] = [];
  let cur: { items: PushItem[]; conn: string | null; skip: number[] } | null = null;
  const close = () => {
    if (!cur) return;
    const msg: PushMessage = { items: cur.items };
    if (cur.conn !== null) {
      msg.origin_conn = cur.conn;
      msg.skip_origin = cur.skip;
    }
    out.push(msg);
    cur = null;
  };
  for (const e of entries) {
    if (cur && e.skip !== null && cur.conn !== null && cur.conn !== e.skip) close();
    cur ??= { items: [], conn: null, skip: [] };
    if (e.skip !== null) {
      cur.conn = e.skip;
      cur.skip.push(cur.items.length);
    }
    cur.items.push(e.item);
  }
  close();
  return out;
}

function counterKey(item: PushItem): string {
  return item.event === 'notifications.dialogs.messages.count'
    ? `${item.event}:${item.data.dialog_id}`
    : item.event;
}

export function createUserPushes(opts: UserPushesOptions): UserPushes {
  const users = new Map<number, UserState>();

  const send = (userId: number, entries: Entry[]) => {
    for (const msg of toPushMessages(entries)) opts.publish(userId, msg);
  };

  const flush = (userId: number, st: UserState) => {
    if (st.timer) clearTimeout(st.timer);
    st.timer = null;
    st.lastCountersAt = Date.now();
    const entries = [...st.pending.values()];
    st.pending.clear();
    if (entries.length) send(userId, entries);
    const waiters = st.waiters.splice(0);
    for (const w of waiters) w();
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
      const entries: Entry[] = [{ item: p.frame, skip: p.frameSkip }];
      if (p.counters.length === 0) {
        send(p.user_id, entries);
        return Promise.resolve();
      }
      const now = Date.now();
      if (!st.timer && now - st.lastCountersAt >= opts.windowMs) {
        for (const item of p.counters) entries.push({ item, skip: p.countersSkip });
        st.lastCountersAt = now;
        send(p.user_id, entries);
        return Promise.resolve();
      }
      send(p.user_id, entries);
      for (const item of p.counters) {
        const key = counterKey(item);
        const prev = st.pending.get(key);
        if (prev) opts.onCoalesced?.();
        const skip = prev && prev.skip !== p.countersSkip ? null : p.countersSkip;
        st.pending.set(key, { item, skip });
      }
      if (!st.timer) {
        const state = st;
        st.timer = setTimeout(
          () => flush(p.user_id, state),
          Math.max(0, st.lastCountersAt + opts.windowMs - now),
        );
      }
      return new Promise<void>((resolve) => st.waiters.push(resolve));
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
