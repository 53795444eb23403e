/**
 * The hub: user → this gateway's sockets of that user. It subscribes to the user's push subject when
 * the user's first socket here is being opened and unsubscribes after the last one closed. Two kinds
 * of message arrive there: entries of the user's feed, republished by the feed stream with their
 * `seq` (PROTOCOL.md §8), and plain PushMessages (`users.status.online`, no seq).
 *
 * Feed entries go to every socket's FeedCursor in seq order. The stream tells the previous seq of
 * the user with each entry: when it is one this gateway never saw (a message lost while the NATS
 * connection was down), the hub reads the missing entries from the stream first and holds later
 * live ones meanwhile; after a reconnect it asks the stream for the user's latest seq for the same
 * reason. First/last are reported for presence.
 */
import {
  decodeFeedDelivery,
  decodePush,
  type FeedDelivery,
  type FeedReader,
  Limiter,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@parley/bus';
import type { Logger } from '@parley/logger';
import { type AnswerFrame, feedFrame, type PushMessage, pushFrame, type Subjects } from '@parley/protocol';
import type { GatewayMetrics } from '../metrics.js';
import type { FeedCursor } from './feed-cursor.js';

export interface HubSocket {
  readonly connId: string;
  readonly userId: number;
  /** where the socket stands in the user's feed */
  readonly feed: FeedCursor;
  /** write one frame (the socket applies its own send-buffer limit) */
  sendFrame(frame: AnswerFrame): void;
  /** write one frame already encoded: a push is encoded once for all the user's sockets */
  sendText(text: string): void;
}

export interface HubDeps {
  nc: NatsConnection;
  subjects: Subjects;
  logger: Logger;
  metrics: GatewayMetrics;
  /** reads the feed stream (gap filling) */
  feed: FeedReader;
  /** the user's first socket here is opening (awaited before it opens) / the last one here closed */
  onFirst(userId: number): Promise<void> | void;
  onLast(userId: number): void;
}

interface UserEntry {
  refs: number;
  /** the user's open sockets here: an array made for its first (nearly always the only one) */
  sockets: HubSocket[] | undefined;
  sub: Subscription;
  /** the highest feed seq handed to the sockets (or known to be older than any of them) */
  lastSeq: number;
  /** lastSeq was read from the stream: a gap can be recognised */
  known: boolean;
  /** entries waiting for a gap fill to finish (made when one starts) */
  waiting: FeedDelivery[] | undefined;
}

export interface Hub {
  /**
   * Hold the user's push subscription (created and flushed to the server first if needed) for a
   * socket about to open; call release(userId) once when that socket is gone. A failed retain holds
   * nothing.
   */
  retain(userId: number): Promise<void>;
  /** give back one retain of the user (after stop(): nothing is held any more) */
  release(userId: number): void;
  /** retains of the user not given back: its sockets here, open or opening */
  holds(userId: number): number;
  add(sock: HubSocket): void;
  remove(sock: HubSocket): void;
  userCount(): number;
  /** unsubscribe everything (after the sockets are closed) */
  stop(): Promise<void>;
}

export function createHub(deps: HubDeps): Hub {
  const users = new Map<number, UserEntry>();

  const apply = (entry: UserEntry, seq: number, feedEntry: FeedDelivery['entry']) => {
    if (seq <= entry.lastSeq) return;
    entry.lastSeq = seq;
    // encoded on first use, then the same string for every socket of the user
    let text: string | undefined;
    const encoded = () => {
      text ??= JSON.stringify(feedFrame(feedEntry.item, seq));
      return text;
    };
    for (const sock of entry.sockets ?? []) {
      if (sock.feed.live(seq, feedEntry, encoded)) deps.metrics.pushes.inc({ event: feedEntry.item.event });
    }
  };

  /** read the user's entries after entry.lastSeq up to `upto` from the stream, then the waiting ones */
  const fill = async (userId: number, entry: UserEntry, upto: number) => {
    entry.waiting ??= [];
    try {
      for await (const e of deps.feed.read(userId, entry.lastSeq, upto)) {
        if (e.entry) apply(entry, e.seq, e.entry);
        else entry.lastSeq = Math.max(entry.lastSeq, e.seq);
      }
      deps.metrics.feedGapsFilled.inc();
    } catch (err) {
      deps.logger.warn({ err, user_id: userId }, 'could not fill a gap in the feed (a sync fills it)');
    } finally {
      const waiting = entry.waiting ?? [];
      entry.waiting = undefined;
      waiting.sort((a, b) => a.seq - b.seq);
      for (const d of waiting) apply(entry, d.seq, d.entry);
    }
  };

  const onFeed = (userId: number, entry: UserEntry, d: FeedDelivery) => {
    if (entry.waiting) {
      entry.waiting.push(d);
      return;
    }
    if (entry.known && d.last > entry.lastSeq) {
      entry.waiting = [d];
      void fill(userId, entry, d.last);
      return;
    }
    apply(entry, d.seq, d.entry);
  };

  /** after a reconnect every user here is checked: a bounded number at once, not a burst of thousands */
  const catchUps = new Limiter(16);

  /** after a reconnect: whatever the user's feed got while the connection was down */
  const catchUp = async (userId: number, entry: UserEntry) => {
    if (!entry.known || entry.waiting) return;
    await catchUps.acquire();
    try {
      const latest = await deps.feed.latest(userId);
      if (latest > entry.lastSeq && !entry.waiting && users.get(userId) === entry)
        await fill(userId, entry, latest);
    } catch (err) {
      deps.logger.warn({ err, user_id: userId }, 'could not read the latest seq after a reconnect');
    } finally {
      catchUps.release();
    }
  };

  void (async () => {
    for await (const st of deps.nc.status()) {
      if (st.type !== 'reconnect') continue;
      for (const [userId, entry] of users) void catchUp(userId, entry);
    }
  })().catch(() => undefined);

  const deliver = (entry: UserEntry, msg: PushMessage) => {
    if (!entry.sockets?.length) return;
    const skip = new Set(msg.skip_origin ?? []);
    const texts = msg.items.map((item) => JSON.stringify(pushFrame(item)));
    for (const sock of entry.sockets) {
      const isOrigin = !!msg.origin_conn && sock.connId === msg.origin_conn;
      msg.items.forEach((item, i) => {
        if (isOrigin && skip.has(i)) return;
        sock.sendText(texts[i]!);
        deps.metrics.pushes.inc({ event: item.event });
      });
    }
  };

  /**
   * One callback for every user's subscription (the user is the subject's last token): synchronous,
   * so messages arrive in order, and an idle user costs no iterator machinery and no closure.
   */
  const onMessage = (err: Error | null, m: Msg) => {
    if (err) {
      deps.logger.error({ err }, 'push loop failed');
      return;
    }
    const userId = Number(m.subject.slice(m.subject.lastIndexOf('.') + 1));
    const entry = users.get(userId);
    // unsubscribed meanwhile: nobody here to deliver to
    if (!entry) return;
    const delivery = decodeFeedDelivery(m);
    if (delivery === null) {
      deps.logger.warn({ user_id: userId }, 'dropped a malformed feed entry');
      return;
    }
    if (delivery) {
      try {
        onFeed(userId, entry, delivery);
      } catch (e) {
        deps.logger.error({ err: e, user_id: userId }, 'feed delivery failed');
      }
      return;
    }
    const msg = decodePush(m.data);
    if (!msg) {
      deps.logger.warn({ user_id: userId }, 'dropped a malformed push message');
      return;
    }
    try {
      deliver(entry, msg);
    } catch (e) {
      deps.logger.error({ err: e, user_id: userId }, 'push delivery failed');
    }
  };

  const subscribe = (userId: number): UserEntry => ({
    refs: 0,
    sockets: undefined,
    sub: deps.nc.subscribe(deps.subjects.push(userId), { callback: onMessage }),
    lastSeq: 0,
    known: false,
    waiting: undefined,
  });

  const release = (userId: number) => {
    const entry = users.get(userId);
    if (!entry) return;
    entry.refs--;
    if (entry.refs > 0) return;
    users.delete(userId);
    entry.sub.unsubscribe();
    deps.metrics.connections.set({ kind: 'users' }, users.size);
    deps.onLast(userId);
  };

  /** where the user's feed stands now: entries up to it are older than this gateway's sockets */
  const learnLatest = async (userId: number, entry: UserEntry) => {
    try {
      const latest = await deps.feed.latest(userId);
      entry.lastSeq = Math.max(entry.lastSeq, latest);
      entry.known = true;
    } catch (err) {
      deps.logger.warn(
        { err, user_id: userId },
        'could not read the latest seq (gaps go unnoticed until a sync)',
      );
    }
  };

  return {
    async retain(userId) {
      let entry = users.get(userId);
      const first = !entry;
      if (!entry) {
        entry = subscribe(userId);
        users.set(userId, entry);
        deps.metrics.connections.set({ kind: 'users' }, users.size);
      }
      entry.refs++;
      const held = entry;
      try {
        // the server has the subscription (and presence its key) before the socket opens: no push
        // is missed after `open`, and the user is online for whoever asks
        await Promise.all([
          first ? deps.onFirst(userId) : undefined,
          deps.nc.flush(),
          first ? learnLatest(userId, held) : undefined,
        ]);
      } catch (err) {
        if (users.get(userId) === held) release(userId);
        throw err;
      }
    },
    release,
    holds: (userId) => users.get(userId)?.refs ?? 0,
    add(sock) {
      const entry = users.get(sock.userId);
      if (!entry) return;
      if (entry.sockets) entry.sockets.push(sock);
      else entry.sockets = [sock];
    },
    remove(sock) {
      const sockets = users.get(sock.userId)?.sockets;
      const i = sockets ? sockets.indexOf(sock) : -1;
      if (i >= 0) sockets!.splice(i, 1);
    },
    userCount: () => users.size,
    async stop() {
      const entries = [...users.values()];
      for (const [userId, entry] of users) {
        entry.sub.unsubscribe();
        deps.onLast(userId);
      }
      users.clear();
      await Promise.all(entries.map((e) => e.sub.closed));
    },
  };
}
