/**
 * A single-holder lease among the instances of one service, on a NATS KV
 * bucket (`subjects.leaseBucket(service)`) whose max_age is the lease TTL.
 *
 * - Acquire: `create` of the key (atomic: one winner while the key exists).
 * - Keep: the holder re-writes it with a compare-and-set every TTL/3; a lost
 *   CAS, or no successful renewal for 2/3 of the TTL (NATS unreachable), means
 *   the lease is lost and the holder steps down before anyone else can take it.
 * - Release: `stop()` deletes the key so a standby takes over within TTL/3;
 *   a holder that dies without releasing is replaced once its key expires.
 */
import type { Logger } from '@parley/logger';
import type { ServiceName, Subjects } from '@parley/protocol';
import type { NatsConnection } from 'nats';
import { type JsonKv, openJsonKv } from './kv.js';

export interface LeaseOptions {
  nc: NatsConnection;
  subjects: Subjects;
  service: ServiceName;
  /** who asks (unique per process) */
  holder: string;
  /** how long a dead holder keeps the lease, ms */
  ttlMs: number;
  logger: Logger;
  /** replicas of the lease bucket (NATS_REPLICAS); default 1 */
  replicas?: number;
}

export interface Lease {
  start(): Promise<void>;
  /** release (if held) and stop trying */
  stop(): Promise<void>;
  readonly held: boolean;
  /** called on every change of `held`, in order; stop() reports `false` when it releases */
  onChange(cb: (held: boolean) => void): void;
}

interface LeaseValue {
  holder: string;
  since: string;
}

const KEY = 'leader';

/** no stream stores the bucket's subjects: a write has no responders (503), a read 10059 "stream not found" */
function streamMissing(err: unknown): boolean {
  const e = err as { code?: string; message?: string; api_error?: { err_code?: number } } | null;
  return e?.code === '503' || e?.api_error?.err_code === 10059 || /stream not found/i.test(e?.message ?? '');
}

export function createLease(opts: LeaseOptions): Lease {
  const log = opts.logger.child({ lease: opts.service, holder: opts.holder });
  const listeners: Array<(held: boolean) => void> = [];
  let kv: JsonKv<LeaseValue> | undefined;
  let revision = 0;
  let renewedAt = 0;
  let held = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let ticking: Promise<void> = Promise.resolve();
  const value: LeaseValue = { holder: opts.holder, since: new Date().toISOString() };

  const openBucket = () =>
    openJsonKv<LeaseValue>(opts.nc, opts.subjects.leaseBucket(opts.service), {
      ttlMs: opts.ttlMs,
      ...(opts.replicas ? { replicas: opts.replicas } : {}),
    });

  const set = (next: boolean) => {
    if (next === held) return;
    held = next;
    log.info({ held }, held ? 'lease acquired' : 'lease lost');
    for (const cb of listeners) cb(held);
  };

  const tick = async () => {
    if (stopped || !kv) return;
    try {
      if (held) {
        const rev = await kv.update(KEY, value, revision);
        if (rev === null) set(false);
        else {
          revision = rev;
          renewedAt = Date.now();
        }
      } else {
        const rev = await kv.create(KEY, value);
        if (rev !== null) {
          revision = rev;
          renewedAt = Date.now();
          set(true);
        }
      }
    } catch (err) {
      log.warn({ err }, 'lease renewal failed');
      // the bucket itself is gone (deleted, or its only replica lost): create it again, or no
      // instance could ever hold the lease
      if (streamMissing(err)) kv = await openBucket().catch(() => kv);
    }
    if (held && Date.now() - renewedAt > (opts.ttlMs * 2) / 3) set(false);
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(
      () => {
        ticking = tick().finally(schedule);
      },
      Math.max(50, Math.floor(opts.ttlMs / 3)),
    );
  };

  return {
    get held() {
      return held;
    },
    onChange(cb) {
      listeners.push(cb);
    },
    async start() {
      kv = await openBucket();
      ticking = tick();
      await ticking;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await ticking.catch(() => undefined);
      if (held && kv) {
        await kv.delete(KEY, revision).catch(() => undefined);
        set(false);
      }
    },
  };
}
