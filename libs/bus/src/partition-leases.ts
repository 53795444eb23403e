/**
 * Leases on the partitions of a service's work, shared out among its running instances, on a NATS
 * KV bucket (`subjects.leaseBucket(service)`) whose max_age is the lease TTL. With one partition it
 * is a plain single-holder lease (active/standby).
 *
 * - Members: every instance re-writes `m.<holder>` every TTL/3. The live members are the bucket's
 *   `m.*` subjects, listed with one stream-info request (never `kv.keys()`, which can hang on
 *   nats-server 2.9 while keys expire): an expired key's message is gone, and a stopping instance
 *   purges its subject.
 * - Shares: with N live members sorted by name, the one at rank r aims at floor(P/N) partitions,
 *   plus one when r < P mod N, so the shares add up to P and nobody waits for a partition that
 *   another instance is entitled to keep.
 * - Take: `create` of `p.<k>` (one winner while the key exists). Keep: a compare-and-set every
 *   TTL/3; a lost CAS, or no successful renewal for 2/3 of the TTL (NATS unreachable), means the
 *   partition is lost, and its work stops before the key can expire and anyone else take it.
 * - Give back (above the share, or stopping): the work stops first, then the key is deleted, so
 *   the next holder never overlaps the previous one; a holder that dies is replaced once its keys
 *   expire (within the TTL and one tick).
 *
 * `acquire` and `release` run one at a time, in order; an acquisition still retrying when its
 * partitions are lost is aborted through its signal. One signal covers the partitions taken in one
 * tick, so those of an aborted acquisition that are still held are released and acquired again (a
 * give-back of part of them must not leave the rest held with their work half-started).
 */
import type { Logger } from '@parley/logger';
import type { ServiceName, Subjects } from '@parley/protocol';
import { type NatsConnection, nanos } from 'nats';
import { type JsonKv, openJsonKv } from './kv.js';
import { kvStreamName } from './replicas.js';

export interface PartitionLeasesOptions {
  nc: NatsConnection;
  subjects: Subjects;
  service: ServiceName;
  /** who asks (unique per process) */
  holder: string;
  /** how long a dead holder keeps its partitions, ms */
  ttlMs: number;
  /** how many partitions there are (fixed for the service) */
  partitions: number;
  logger: Logger;
  /** replicas of the lease bucket (NATS_REPLICAS); default 1 */
  replicas?: number;
  /** these partitions are now held: start their work (resolve when it runs) */
  acquire(partitions: number[], signal: AbortSignal): Promise<void>;
  /** these partitions are no longer held, or are about to be given back: stop their work */
  release(partitions: number[]): Promise<void>;
}

export interface PartitionLeases {
  /** join the members; resolves once the partitions taken at the first look are acquired */
  start(): Promise<void>;
  /** stop every partition's work, give the keys back, leave the members */
  stop(): Promise<void>;
  /** partitions whose key this instance holds, ascending */
  held(): number[];
  /** partitions whose work runs (acquired and not released) */
  serving(): number[];
  /** live members at the last look (this instance included) */
  members(): number;
}

interface LeaseValue {
  holder: string;
  since: string;
}

interface Held {
  revision: number;
  renewedAt: number;
}

const partitionKey = (p: number) => `p.${p}`;
const memberKey = (holder: string) => `m.${holder}`;

/** no stream stores the bucket's subjects: a write has no responders (503), a read 10059 "stream not found" */
function streamMissing(err: unknown): boolean {
  const e = err as { code?: string; message?: string; api_error?: { err_code?: number } } | null;
  return e?.code === '503' || e?.api_error?.err_code === 10059 || /stream not found/i.test(e?.message ?? '');
}

/** how many partitions the member at `rank` of `n` aims to hold */
export function shareOf(partitions: number, n: number, rank: number): number {
  return Math.floor(partitions / n) + (rank < partitions % n ? 1 : 0);
}

export function createPartitionLeases(opts: PartitionLeasesOptions): PartitionLeases {
  if (!/^[A-Za-z0-9_-]+$/.test(opts.holder)) throw new Error('a lease holder is a single KV key token');
  const log = opts.logger.child({ lease: opts.service, holder: opts.holder });
  const bucket = opts.subjects.leaseBucket(opts.service);
  const value: LeaseValue = { holder: opts.holder, since: new Date().toISOString() };
  const held = new Map<number, Held>();
  /** stopping their work before the key goes back */
  const givingBack = new Set<number>();
  /** work stopped: the key goes back at the next tick */
  const toDelete = new Set<number>();
  const serving = new Set<number>();
  const acquisitions = new Map<number, AbortController>();
  let kv: JsonKv<LeaseValue> | undefined;
  let memberCount = 1;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> = Promise.resolve();
  let work: Promise<void> = Promise.resolve();
  const tickMs = Math.max(50, Math.floor(opts.ttlMs / 3));

  const openBucket = async () => {
    const store = await openJsonKv<LeaseValue>(opts.nc, bucket, {
      ttlMs: opts.ttlMs,
      ...(opts.replicas ? { replicas: opts.replicas } : {}),
    });
    // a bucket made without the lease's max_age (by a tool, an operator, another TTL setting) would
    // keep a dead holder's partitions for ever: the TTL is what makes a crash recoverable
    const jsm = await opts.nc.jetstreamManager();
    const { config } = await jsm.streams.info(kvStreamName(bucket));
    if (config.max_age !== nanos(opts.ttlMs)) {
      log.warn({ max_age_ms: config.max_age / 1e6 }, 'lease bucket max_age set to the lease TTL');
      await jsm.streams.update(kvStreamName(bucket), {
        ...config,
        max_age: nanos(opts.ttlMs),
        // the server refuses a duplicate window longer than max_age
        duplicate_window: Math.min(config.duplicate_window || nanos(opts.ttlMs), nanos(opts.ttlMs)),
      });
    }
    return store;
  };

  const queue = (step: () => Promise<void>) => {
    work = work.then(step).catch((err: unknown) => log.error({ err }, 'partition transition failed'));
    return work;
  };

  const startWork = (ps: number[]) => {
    const ctl = new AbortController();
    for (const p of ps) acquisitions.set(p, ctl);
    log.info({ partitions: ps }, 'partitions acquired');
    void queue(async () => {
      const mine = ps.filter((p) => acquisitions.get(p) === ctl);
      if (mine.length === 0 || ctl.signal.aborted) return;
      await opts.acquire(mine, ctl.signal);
      for (const p of mine) {
        if (acquisitions.get(p) !== ctl) continue;
        // acquired in full: no longer an acquisition a give-back could interrupt
        acquisitions.delete(p);
        if (held.has(p)) serving.add(p);
      }
    });
  };

  const stopWork = (ps: number[]) => {
    const interrupted = new Set<AbortController>();
    for (const p of ps) {
      const ctl = acquisitions.get(p);
      if (ctl) {
        ctl.abort();
        interrupted.add(ctl);
      }
      acquisitions.delete(p);
    }
    // an interrupted acquisition may have stopped half-way, also through partitions still held (a
    // give-back of part of what was just taken): those are released with the others and acquired again
    const again = [...acquisitions].filter(([, ctl]) => interrupted.has(ctl)).map(([p]) => p);
    for (const p of again) acquisitions.delete(p);
    const all = [...ps, ...again];
    const released = queue(async () => {
      await opts.release(all);
      for (const p of all) serving.delete(p);
    });
    const retake = again.filter((p) => held.has(p) && !givingBack.has(p));
    if (retake.length && !stopped) startWork(retake);
    return released;
  };

  const lose = (ps: number[]) => {
    for (const p of ps) {
      held.delete(p);
      givingBack.delete(p);
      toDelete.delete(p);
    }
    log.warn({ partitions: ps }, 'partitions lost');
    void stopWork(ps);
  };

  const giveBack = (ps: number[]) => {
    for (const p of ps) givingBack.add(p);
    log.info({ partitions: ps }, 'giving partitions back');
    return stopWork(ps).then(() => {
      for (const p of ps) {
        if (givingBack.delete(p) && held.has(p)) toDelete.add(p);
      }
      kick();
    });
  };

  const liveMembers = async (): Promise<string[]> => {
    const jsm = await opts.nc.jetstreamManager();
    const prefix = `$KV.${bucket}.m.`;
    const info = await jsm.streams.info(kvStreamName(bucket), { subjects_filter: `${prefix}*` });
    const names = new Set(Object.keys(info.state.subjects ?? {}).map((subj) => subj.slice(prefix.length)));
    names.add(opts.holder);
    return [...names].sort();
  };

  const tick = async () => {
    if (stopped || !kv || opts.nc.isClosed()) return;
    const store = kv;
    try {
      await store.put(memberKey(opts.holder), value);
      // keys whose work has stopped go back first: the next holder may take them at once
      for (const p of [...toDelete]) {
        const h = held.get(p);
        toDelete.delete(p);
        held.delete(p);
        if (h) await store.delete(partitionKey(p), h.revision);
      }
      const lost: number[] = [];
      await Promise.all(
        [...held].map(async ([p, h]) => {
          const rev = await store.update(partitionKey(p), value, h.revision).catch((err: unknown) => {
            log.warn({ err, partition: p }, 'partition renewal failed');
            return undefined;
          });
          if (rev === null) lost.push(p);
          else if (rev !== undefined) {
            h.revision = rev;
            h.renewedAt = Date.now();
          }
        }),
      );
      for (const [p, h] of held) {
        if (!lost.includes(p) && Date.now() - h.renewedAt > (opts.ttlMs * 2) / 3) lost.push(p);
      }
      if (lost.length) lose(lost);

      const members = await liveMembers();
      memberCount = members.length;
      const rank = members.indexOf(opts.holder);
      const share = shareOf(opts.partitions, members.length, rank);
      const keeping = [...held.keys()].filter((p) => !givingBack.has(p)).sort((a, b) => a - b);
      if (keeping.length > share) {
        void giveBack(keeping.slice(share));
      } else if (keeping.length < share) {
        // start where this rank's share would begin, so members look in different places
        const first = Math.floor((rank * opts.partitions) / members.length);
        const taken: number[] = [];
        for (let i = 0; i < opts.partitions && keeping.length + taken.length < share; i++) {
          const p = (first + i) % opts.partitions;
          if (held.has(p)) continue;
          const rev = await store.create(partitionKey(p), value);
          if (rev === null) continue;
          held.set(p, { revision: rev, renewedAt: Date.now() });
          taken.push(p);
        }
        if (taken.length) startWork(taken);
      }
    } catch (err) {
      log.warn({ err }, 'partition leases tick failed');
      // the bucket itself is gone (deleted, or its only replica lost): create it again, or no
      // instance could ever hold a partition
      if (streamMissing(err)) kv = await openBucket().catch(() => kv);
      const late = [...held].filter(([, h]) => Date.now() - h.renewedAt > (opts.ttlMs * 2) / 3);
      if (late.length) lose(late.map(([p]) => p));
    }
  };

  const schedule = () => {
    // a closed connection never comes back: nothing left to renew
    if (stopped || opts.nc.isClosed()) return;
    timer = setTimeout(() => {
      timer = undefined;
      ticking = tick().finally(schedule);
    }, tickMs);
    // the connection keeps the process alive, not the lease
    timer.unref();
  };

  /** tick as soon as the current one ends (a partition was given back: hand it over now) */
  const kick = () => {
    if (stopped || !timer) return;
    clearTimeout(timer);
    timer = undefined;
    ticking = ticking.then(tick).finally(schedule);
  };

  return {
    held: () => [...held.keys()].sort((a, b) => a - b),
    serving: () => [...serving].sort((a, b) => a - b),
    members: () => memberCount,
    async start() {
      kv = await openBucket();
      ticking = tick();
      await ticking;
      schedule();
      // the partitions taken at once are worked on when start() resolves
      await work;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await ticking.catch(() => undefined);
      const ps = [...held.keys()];
      await stopWork(ps);
      await work;
      const store = kv;
      if (!store) return;
      await Promise.all(
        ps.map((p) => {
          const h = held.get(p);
          held.delete(p);
          return h ? store.delete(partitionKey(p), h.revision).catch(() => false) : false;
        }),
      );
      // leave the members at once: the others' shares grow now, not when the key expires
      const jsm = await opts.nc.jetstreamManager().catch(() => undefined);
      await jsm?.streams
        .purge(kvStreamName(bucket), { filter: `$KV.${bucket}.${memberKey(opts.holder)}` })
        .catch(() => undefined);
    },
  };
}
