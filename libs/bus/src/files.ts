/**
 * Uploaded file bytes in a NATS Object Store bucket (`subjects.filesBucket`), so every gateway
 * instance can serve what any of them stored. Metadata lives in `dialogs` (files.create / files.get).
 */
import type { Subjects } from '@parley/protocol';
import { type NatsConnection, type ObjectStore, StorageType } from 'nats';
import { objectStreamName, raiseReplicas } from './replicas.js';

export interface StoredObject {
  size: number;
  /** the bytes, streamed chunk by chunk from NATS */
  data: ReadableStream<Uint8Array>;
}

export interface FileStore {
  /**
   * Store the bytes of `source` under `key`. If `source` throws (e.g. an upload over the limit),
   * the chunks written so far are purged and the error is rethrown: nothing stays stored.
   */
  put(key: string, source: AsyncIterable<Uint8Array>): Promise<{ size: number }>;
  get(key: string): Promise<StoredObject | null>;
  delete(key: string): Promise<void>;
  /** names of the stored objects (tests, maintenance) */
  list(): Promise<string[]>;
}

export interface FileStoreOptions {
  /**
   * byte limit of the bucket (its stream's `max_bytes`; a write past it is refused, nothing old is
   * dropped). Given: applied to an existing bucket too. Absent: the bucket is left as it is.
   */
  maxBytes?: number;
  /** replicas in a cluster (NATS_REPLICAS); an existing bucket with fewer is raised; default 1 */
  replicas?: number;
}

/** the object store refused a write because the bucket is at its byte limit */
export function isBucketFull(err: unknown): boolean {
  const api = (err as { api_error?: { err_code?: number; description?: string } } | null)?.api_error;
  // JetStream 10077 "maximum bytes exceeded" (a stream with discard: new at max_bytes)
  return api?.err_code === 10077 || /maximum bytes/i.test(api?.description ?? '');
}

export async function openFileStore(
  nc: NatsConnection,
  s: Subjects,
  opts: FileStoreOptions = {},
): Promise<FileStore> {
  const os: ObjectStore = await nc.jetstream().views.os(s.filesBucket, {
    storage: StorageType.File,
    ...(opts.maxBytes ? { max_bytes: opts.maxBytes } : {}),
    ...(opts.replicas ? { replicas: opts.replicas } : {}),
  });
  if (opts.replicas || opts.maxBytes) {
    const jsm = await nc.jetstreamManager();
    const stream = objectStreamName(s.filesBucket);
    if (opts.replicas) await raiseReplicas(jsm, stream, opts.replicas);
    if (opts.maxBytes) {
      const info = await jsm.streams.info(stream);
      if (info.config.max_bytes !== opts.maxBytes) {
        await jsm.streams.update(stream, { ...info.config, max_bytes: opts.maxBytes });
      }
    }
  }
  return {
    async put(key, source) {
      const iterator = source[Symbol.asyncIterator]();
      const rs = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await iterator.next();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        async cancel() {
          await iterator.return?.();
        },
      });
      const info = await os.put({ name: key }, rs);
      return { size: info.size };
    },
    async get(key) {
      const res = await os.get(key);
      if (!res) return null;
      return { size: res.info.size, data: res.data };
    },
    async delete(key) {
      await os.delete(key);
    },
    async list() {
      const all = await os.list();
      return all.filter((i) => !i.deleted).map((i) => i.name);
    },
  };
}
