/**
 * Presence across gateway instances on a NATS KV bucket (`subjects.presenceBucket`).
 *
 * - Key `p.<userId>.<gatewayId>`: "this gateway holds at least one socket of this user".
 *   The gateway refreshes it while it holds sockets and deletes it after the last one closes.
 * - The bucket has a bucket-level TTL (max_age; nats-server 2.9 has no per-key TTL): the keys of
 *   a gateway that died without cleaning up disappear after the TTL.
 * - A view watches `p.>` and re-lists the keys periodically (expiry produces no watch event), so
 *   `isOnline(userId)` is "some key of that user exists" and `onChange` reports the 0→1 and 1→0
 *   transitions.
 * - Every view sees the same transitions; the one that should act on one (push it to contacts) is
 *   the one whose `claim(change)` wins a KV `create` of `c.<userId>.<revision>.<on|off>`:
 *   `revision` is the KV revision of the PUT that started the online period (online), or the highest
 *   PUT revision of that period (offline, whether by delete or by expiry): every view computes the
 *   same number from the same ordered watch, so one claimer wins. Claim keys expire with the TTL.
 */
import type { Logger } from '@parley/logger';
import type { Subjects } from '@parley/protocol';
import type { JetStreamManager, KV, KvEntry, NatsConnection, QueuedIterator } from 'nats';
import { kvStreamName, raiseReplicas } from './replicas.js';

export interface PresenceBucketOptions {
  /** how long a key outlives its last refresh (bucket max_age), ms; default 30 s */
  ttlMs?: number;
  /** replicas in a cluster (NATS_REPLICAS); an existing bucket with fewer is raised; default 1 */
  replicas?: number;
}

/** Open (or create) the presence bucket. The TTL only applies when this call creates it. */
export async function openPresenceBucket(
  nc: NatsConnection,
  s: Subjects,
  opts: PresenceBucketOptions = {},
): Promise<KV> {
  const kv = await nc.jetstream().views.kv(s.presenceBucket, {
    history: 1,
    ttl: opts.ttlMs ?? 30_000,
    ...(opts.replicas ? { replicas: opts.replicas } : {}),
  });
  if (opts.replicas)
    await raiseReplicas(await nc.jetstreamManager(), kvStreamName(s.presenceBucket), opts.replicas);
  return kv;
}

const presenceKey = (userId: number, gatewayId: string) => `p.${userId}.${gatewayId}`;

function parsePresenceKey(key: string): { userId: number; gatewayId: string } | null {
  const m = /^p\.(\d+)\.([A-Za-z0-9_-]+)$/.exec(key);
  return m ? { userId: Number(m[1]), gatewayId: m[2]! } : null;
}

export interface PresenceChange {
  user_id: number;
  online: boolean;
  /** KV revision that caused the change; the claim key */
  revision: number;
}

export interface PresenceView {
  start(): Promise<void>;
  stop(): Promise<void>;
  isOnline(userId: number): boolean;
  /** called for every 0→1 (online) and 1→0 (offline) transition seen after start() */
  onChange(cb: (change: PresenceChange) => void): void;
  /** true for exactly one caller among all views that saw this change */
  claim(change: PresenceChange): Promise<boolean>;
}

export interface PresenceViewOptions {
  logger: Logger;
  ttlMs?: number;
  /** how often to re-list the keys to notice expired ones, ms; default 5 s */
  relistMs?: number;
  /** replicas of the presence bucket (NATS_REPLICAS) */
  replicas?: number;
}

/**
 * One online user in a view: gateway id → revision of its live key, and the highest PUT revision of
 * this online period (the claim revision of its end, equal in every view). A view holds one for every
 * online user of the cluster, nearly always on one gateway: that one is two fields, a Map only for
 * the others.
 */
class UserPresence {
  lastPut = 0;
  private gateway: string | undefined = undefined;
  private revision = 0;
  private others: Map<string, number> | undefined = undefined;

  get size(): number {
    return (this.gateway === undefined ? 0 : 1) + (this.others?.size ?? 0);
  }

  set(gatewayId: string, revision: number): void {
    if (this.gateway === undefined || this.gateway === gatewayId) {
      this.gateway ??= gatewayId;
      this.revision = revision;
    } else {
      this.others ??= new Map();
      this.others.set(gatewayId, revision);
    }
  }

  delete(gatewayId: string): void {
    if (this.gateway !== gatewayId) {
      this.others?.delete(gatewayId);
      return;
    }
    this.gateway = undefined;
    const next = this.others?.entries().next();
    if (!next || next.done) return;
    [this.gateway, this.revision] = next.value;
    this.others!.delete(this.gateway);
  }

  /** [gatewayId, revision] of every key (a copy: the caller may delete while it reads) */
  keys(): Array<[string, number]> {
    const all: Array<[string, number]> = this.gateway === undefined ? [] : [[this.gateway, this.revision]];
    if (this.others) all.push(...this.others);
    return all;
  }
}

/** at most this many distinct gateway ids are shared between users' records (then the table starts again) */
const MAX_INTERNED_GATEWAYS = 1_024;

export function createPresenceView(nc: NatsConnection, s: Subjects, opts: PresenceViewOptions): PresenceView {
  const users = new Map<number, UserPresence>();
  /** one string per gateway id for every user's record, not a copy parsed from each key */
  const gatewayIds = new Map<string, string>();
  const intern = (id: string) => {
    const known = gatewayIds.get(id);
    if (known !== undefined) return known;
    if (gatewayIds.size >= MAX_INTERNED_GATEWAYS) gatewayIds.clear();
    gatewayIds.set(id, id);
    return id;
  };
  const listeners: Array<(c: PresenceChange) => void> = [];
  let kv: KV | undefined;
  /** made on the first relist, reused by every later one (each jetstreamManager() costs a request) */
  let jsm: JetStreamManager | undefined;
  let watch: QueuedIterator<KvEntry> | undefined;
  let loop: Promise<void> | undefined;
  let relistTimer: NodeJS.Timeout | undefined;
  let relisting: Promise<void> | undefined;
  let initialized = false;
  let lastRevision = 0;
  let stopped = false;

  const emit = (change: PresenceChange) => {
    if (!initialized) return;
    for (const cb of listeners) {
      try {
        cb(change);
      } catch (err) {
        opts.logger.error({ err }, 'presence listener failed');
      }
    }
  };

  const apply = (e: KvEntry) => {
    lastRevision = Math.max(lastRevision, e.revision);
    const parsed = parsePresenceKey(e.key);
    if (!parsed) return;
    const { userId, gatewayId } = parsed;
    let u = users.get(userId);
    const wasOnline = !!u && u.size > 0;
    if (e.operation === 'PUT') {
      if (!u) {
        u = new UserPresence();
        users.set(userId, u);
      }
      u.set(intern(gatewayId), e.revision);
      u.lastPut = e.revision;
      if (!wasOnline) emit({ user_id: userId, online: true, revision: e.revision });
    } else if (u) {
      u.delete(gatewayId);
      if (wasOnline && u.size === 0) {
        users.delete(userId);
        emit({ user_id: userId, online: false, revision: u.lastPut });
      }
    }
  };

  /**
   * Drop keys the server no longer has (expired); only those known before the listing began. The
   * live keys come from one stream-info request with a subject filter, not `kv.keys()`: on
   * nats-server 2.9 a keys listing of a bucket whose messages expire can block for ever (its
   * ordered consumer never sees pending reach 0), which froze expiry and the view's stop().
   */
  const relist = async () => {
    if (!kv || stopped) return;
    const before = lastRevision;
    const subjectPrefix = `$KV.${s.presenceBucket}.`;
    jsm ??= await nc.jetstreamManager();
    const info = await jsm.streams.info(kvStreamName(s.presenceBucket), {
      subjects_filter: `${subjectPrefix}p.>`,
    });
    const live = new Set(
      Object.keys(info.state.subjects ?? {}).map((subj) => subj.slice(subjectPrefix.length)),
    );
    for (const [userId, u] of [...users]) {
      for (const [gatewayId, rev] of u.keys()) {
        if (rev <= before && !live.has(presenceKey(userId, gatewayId))) u.delete(gatewayId);
      }
      if (u.size === 0) {
        users.delete(userId);
        emit({ user_id: userId, online: false, revision: u.lastPut });
      }
    }
  };

  return {
    async start() {
      kv = await openPresenceBucket(nc, s, {
        ...(opts.ttlMs ? { ttlMs: opts.ttlMs } : {}),
        ...(opts.replicas ? { replicas: opts.replicas } : {}),
      });
      let ready!: () => void;
      const initialValues = new Promise<void>((r) => {
        ready = r;
      });
      watch = await kv.watch({ key: 'p.>', initializedFn: () => ready() });
      loop = (async () => {
        for await (const e of watch!) apply(e);
      })().catch((err: unknown) => {
        if (!stopped) opts.logger.error({ err }, 'presence watch ended');
      });
      await initialValues;
      initialized = true;
      relistTimer = setInterval(() => {
        relisting ??= relist()
          .catch((err: unknown) => opts.logger.warn({ err }, 'presence relist failed'))
          .finally(() => {
            relisting = undefined;
          });
      }, opts.relistMs ?? 5_000);
    },
    async stop() {
      stopped = true;
      if (relistTimer) clearInterval(relistTimer);
      watch?.stop();
      await loop;
      await relisting;
    },
    isOnline: (userId) => (users.get(userId)?.size ?? 0) > 0,
    onChange(cb) {
      listeners.push(cb);
    },
    async claim(change) {
      if (!kv) return false;
      try {
        await kv.create(
          `c.${change.user_id}.${change.revision}.${change.online ? 'on' : 'off'}`,
          new Uint8Array(),
        );
        return true;
      } catch {
        return false;
      }
    },
  };
}

export interface PresenceWriter {
  start(): Promise<void>;
  /** set whether this gateway holds sockets of `userId`; writes are ordered per user */
  set(userId: number, present: boolean): Promise<void>;
  /** delete every key of this gateway (graceful shutdown) */
  stop(): Promise<void>;
}

export interface PresenceWriterOptions {
  gatewayId: string;
  logger: Logger;
  ttlMs?: number;
  /** refresh period of the keys this gateway holds, ms; default ttl / 3 */
  refreshMs?: number;
  /** replicas of the presence bucket (NATS_REPLICAS) */
  replicas?: number;
}

export function createPresenceWriter(
  nc: NatsConnection,
  s: Subjects,
  opts: PresenceWriterOptions,
): PresenceWriter {
  if (!/^[A-Za-z0-9_-]+$/.test(opts.gatewayId)) throw new Error('gateway id: letters, digits, _ and - only');
  const ttlMs = opts.ttlMs ?? 30_000;
  const desired = new Set<number>();
  const chains = new Map<number, Promise<void>>();
  let kv: KV | undefined;
  let timer: NodeJS.Timeout | undefined;

  /** bring the key of `userId` to its desired state; serialized per user */
  const sync = (userId: number): Promise<void> => {
    const prev = chains.get(userId) ?? Promise.resolve();
    const next = prev.then(async () => {
      if (!kv) return;
      const key = presenceKey(userId, opts.gatewayId);
      try {
        if (desired.has(userId)) await kv.put(key, new Uint8Array());
        else await kv.delete(key);
      } catch (err) {
        opts.logger.warn({ err, user_id: userId }, 'presence write failed');
      }
    });
    chains.set(userId, next);
    void next.finally(() => {
      if (chains.get(userId) === next) chains.delete(userId);
    });
    return next;
  };

  /**
   * Every held key again, as a plain publish to the key's subject (what a KV put publishes, without
   * waiting for the stream's ack): a refresh holds nothing per user while it travels (an acked put is
   * a request with its timer and promises, thousands at once every period), and a lost one is
   * repeated by the next well within the TTL. A user whose write is queued is left to that write;
   * one connection keeps the order of a refresh and a later delete.
   */
  const refresh = () => {
    if (!kv) return;
    const subjectPrefix = `$KV.${s.presenceBucket}.`;
    for (const userId of desired) {
      if (chains.has(userId)) continue;
      try {
        nc.publish(subjectPrefix + presenceKey(userId, opts.gatewayId));
      } catch (err) {
        opts.logger.warn({ err }, 'presence refresh failed');
        return;
      }
    }
  };

  return {
    async start() {
      kv = await openPresenceBucket(nc, s, { ttlMs, ...(opts.replicas ? { replicas: opts.replicas } : {}) });
      timer = setInterval(refresh, opts.refreshMs ?? Math.floor(ttlMs / 3));
    },
    set(userId, present) {
      if (present) desired.add(userId);
      else desired.delete(userId);
      return sync(userId);
    },
    async stop() {
      if (timer) clearInterval(timer);
      const held = [...desired];
      desired.clear();
      await Promise.all(held.map((u) => sync(u)));
      await Promise.all([...chains.values()]);
      kv = undefined;
    },
  };
}
