/**
 * The hub: user → this gateway's sockets of that user. It subscribes to the user's push subject when
 * the user's first socket here is being opened and unsubscribes after the last one closed, and
 * delivers every PushMessage to each socket in order, skipping for the originating connection the
 * items it already got as its direct answer. First/last are reported for presence.
 */
import { decodePush, type NatsConnection, type Subscription } from '@parley/bus';
import type { Logger } from '@parley/logger';
import { type AnswerFrame, type PushMessage, pushFrame, type Subjects } from '@parley/protocol';
import type { GatewayMetrics } from '../metrics.js';

export interface HubSocket {
  readonly connId: string;
  readonly userId: number;
  /** write one frame (the socket applies its own send-buffer limit) */
  sendFrame(frame: AnswerFrame): void;
}

export interface HubDeps {
  nc: NatsConnection;
  subjects: Subjects;
  logger: Logger;
  metrics: GatewayMetrics;
  /** the user's first socket here is opening (awaited before it opens) / the last one here closed */
  onFirst(userId: number): Promise<void> | void;
  onLast(userId: number): void;
}

interface UserEntry {
  refs: number;
  sockets: Set<HubSocket>;
  sub: Subscription;
}

export interface Hub {
  /**
   * Hold the user's push subscription (created and flushed to the server first if needed) for a
   * socket about to open; call the returned function once when that socket is gone.
   */
  retain(userId: number): Promise<() => void>;
  add(sock: HubSocket): void;
  remove(sock: HubSocket): void;
  userCount(): number;
  /** unsubscribe everything (after the sockets are closed) */
  stop(): Promise<void>;
}

export function createHub(deps: HubDeps): Hub {
  const users = new Map<number, UserEntry>();

  const deliver = (entry: UserEntry, msg: PushMessage) => {
    const skip = new Set(msg.skip_origin ?? []);
    for (const sock of entry.sockets) {
      const isOrigin = !!msg.origin_conn && sock.connId === msg.origin_conn;
      msg.items.forEach((item, i) => {
        if (isOrigin && skip.has(i)) return;
        sock.sendFrame(pushFrame(item));
        deps.metrics.pushes.inc({ event: item.event });
      });
    }
  };

  const subscribe = (userId: number): UserEntry => {
    const entry: UserEntry = { refs: 0, sockets: new Set(), sub: undefined as unknown as Subscription };
    // a synchronous callback: messages arrive in order, and an idle user costs no iterator machinery
    entry.sub = deps.nc.subscribe(deps.subjects.push(userId), {
      callback: (err, m) => {
        if (err) {
          deps.logger.error({ err, user_id: userId }, 'push loop failed');
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
      },
    });
    return entry;
  };

  const release = (userId: number, entry: UserEntry) => {
    entry.refs--;
    if (entry.refs > 0 || users.get(userId) !== entry) return;
    users.delete(userId);
    entry.sub.unsubscribe();
    deps.metrics.connections.set({ kind: 'users' }, users.size);
    deps.onLast(userId);
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
      let released = false;
      const done = () => {
        if (released) return;
        released = true;
        release(userId, held);
      };
      try {
        // the server has the subscription (and presence its key) before the socket opens: no push
        // is missed after `open`, and the user is online for whoever asks
        await Promise.all([first ? deps.onFirst(userId) : undefined, deps.nc.flush()]);
      } catch (err) {
        done();
        throw err;
      }
      return done;
    },
    add(sock) {
      users.get(sock.userId)?.sockets.add(sock);
    },
    remove(sock) {
      users.get(sock.userId)?.sockets.delete(sock);
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
