/**
 * A JSON-typed view of a NATS KV bucket with the two atomic operations the
 * services build on: `create` (succeeds for exactly one caller while the key
 * is absent) and `update` (compare-and-set on the revision). A lost race is a
 * `null` result, never an exception; other failures (no JetStream, timeouts)
 * throw as usual.
 */
import type { KV, NatsConnection } from 'nats';
import { decode, encode } from './codec.js';
import { kvStreamName, raiseReplicas } from './replicas.js';

export interface KvBucketOptions {
  /** how long a value outlives its last write (bucket max_age), ms; 0 = forever. Applies when this call creates the bucket. */
  ttlMs?: number;
  /** replicas in a cluster (NATS_REPLICAS); an existing bucket with fewer is raised; default 1 */
  replicas?: number;
}

export interface KvRecord<T> {
  value: T;
  revision: number;
}

export interface JsonKv<T> {
  readonly bucket: string;
  /** the current value, or null when absent (deleted, purged, expired) */
  get(key: string): Promise<KvRecord<T> | null>;
  /** write only if absent: the new revision, or null when someone else holds the key */
  create(key: string, value: T): Promise<number | null>;
  /** write only if the key is still at `revision`: the new revision, or null when it moved on */
  update(key: string, value: T, revision: number): Promise<number | null>;
  /** unconditional write */
  put(key: string, value: T): Promise<number>;
  /** delete; with `revision`, only if the key is still there (null when it moved on) */
  delete(key: string, revision?: number): Promise<boolean>;
  /** the underlying nats KV (watchers, keys) */
  readonly raw: KV;
}

/** JetStream API error "wrong last sequence": a create/update lost its race. */
const WRONG_LAST_SEQUENCE = 10071;

function lostRace(err: unknown): boolean {
  const api = (err as { api_error?: { err_code?: number } } | null)?.api_error;
  return api?.err_code === WRONG_LAST_SEQUENCE;
}

/** Open (or create) a bucket holding JSON values of type T. */
export async function openJsonKv<T>(
  nc: NatsConnection,
  bucket: string,
  opts: KvBucketOptions = {},
): Promise<JsonKv<T>> {
  const kv = await nc.jetstream().views.kv(bucket, {
    history: 1,
    ...(opts.ttlMs ? { ttl: opts.ttlMs } : {}),
    ...(opts.replicas ? { replicas: opts.replicas } : {}),
  });
  if (opts.replicas) await raiseReplicas(await nc.jetstreamManager(), kvStreamName(bucket), opts.replicas);
  return {
    bucket,
    raw: kv,
    async get(key) {
      const e = await kv.get(key);
      if (e?.operation !== 'PUT' || e.length === 0) return null;
      return { value: decode<T>(e.value), revision: e.revision };
    },
    async create(key, value) {
      try {
        return await kv.create(key, encode(value));
      } catch (err) {
        if (lostRace(err)) return null;
        throw err;
      }
    },
    async update(key, value, revision) {
      try {
        return await kv.update(key, encode(value), revision);
      } catch (err) {
        if (lostRace(err)) return null;
        throw err;
      }
    },
    put: (key, value) => kv.put(key, encode(value)),
    async delete(key, revision) {
      try {
        await kv.delete(key, revision ? { previousSeq: revision } : undefined);
        return true;
      } catch (err) {
        if (lostRace(err)) return false;
        throw err;
      }
    },
  };
}
