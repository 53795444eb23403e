/**
 * The unattached-files sweeper: uploads no message carries are deleted FILES_UNATTACHED_TTL_HOURS
 * after upload — first the row (in a transaction that re-checks no message carries it, see
 * `deleteFileIfUnattached`), then the bytes in the object store. A row deleted whose bytes could not
 * be (NATS down) leaves an orphan object that nothing serves (media needs the row); it is logged.
 * Several dialogs instances may sweep at once: the row lock makes each deletion happen once.
 */
import { type FileStore, type NatsConnection, openFileStore } from '@parley/bus';
import type { Logger } from '@parley/logger';
import type { Subjects } from '@parley/protocol';
import type { DataSource } from 'typeorm';
import { deleteFileIfUnattached, findUnattachedBefore } from '../db/repositories/files.js';
import { inTransaction, sqlOf } from '../db/sql.js';
import { utcAgo } from '../dto/dates.js';

export interface SweeperDeps {
  ds: DataSource;
  nc: NatsConnection;
  subjects: Subjects;
  logger: Logger;
  ttlHours: number;
  /** replicas of the files bucket, should this sweeper create it (NATS_REPLICAS) */
  replicas?: number;
  intervalMs: number;
}

export interface Sweeper {
  start(): void;
  /** one pass now; resolves with how many files were deleted */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

/** files handled per pass (the next pass takes the rest) */
const BATCH = 200;

export function createFilesSweeper(deps: SweeperDeps): Sweeper {
  const log = deps.logger.child({ component: 'files-sweeper' });
  let store: FileStore | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  async function pass(): Promise<number> {
    const before = utcAgo(deps.ttlHours * 3_600_000);
    const candidates = await findUnattachedBefore(sqlOf(deps.ds), before, BATCH);
    let deleted = 0;
    for (const file of candidates) {
      const gone = await inTransaction(deps.ds, (sql) => deleteFileIfUnattached(sql, file.id));
      if (!gone) continue;
      deleted++;
      try {
        store ??= await openFileStore(
          deps.nc,
          deps.subjects,
          deps.replicas ? { replicas: deps.replicas } : {},
        );
        await store.delete(file.storage_key);
      } catch (err) {
        log.warn(
          { file_id: file.id, err_name: (err as Error).name },
          'expired file row deleted, its bytes not',
        );
      }
    }
    if (deleted) log.info({ deleted }, 'expired unattached files deleted');
    return deleted;
  }

  const sweep = (): Promise<number> => {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    start() {
      if (!deps.intervalMs || timer) return;
      timer = setInterval(() => {
        sweep().catch((err: unknown) => log.warn({ err_name: (err as Error).name }, 'files sweep failed'));
      }, deps.intervalMs);
      timer.unref();
    },
    sweep,
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}
