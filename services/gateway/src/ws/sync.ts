/**
 * The `sync` event (PROTOCOL.md §8), answered by the gateway itself from the user's feed: without
 * `since`, the latest seq; with it, every entry after `since` the socket has not been given, in
 * order and with its original seq, then the answer. Live pushes arriving meanwhile are held by the
 * socket's FeedCursor and follow the answer (the connection ends the replay after sending it).
 * A `since` older than the feed's retention, or greater than the user's latest seq, replays nothing
 * and asks the client to reload (`resync_required`).
 */
import type { FeedReader, StoredFeedEntry } from '@parley/bus';
import { ParleyError, type SyncAnswer } from '@parley/protocol';
import type { GatewayMetrics } from '../metrics.js';
import type { FeedCursor } from './feed-cursor.js';

/** entries sent to the socket at once (counters are collapsed within one batch) */
const BATCH = 256;

export type SyncHandler = (userId: number, cursor: FeedCursor, since: number | null) => Promise<SyncAnswer>;

export function createSyncHandler(reader: FeedReader, metrics: Pick<GatewayMetrics, 'syncs'>): SyncHandler {
  const run = replayer(reader, metrics);
  // the feed stream not answering (NATS down) is `unavailable`: the client retries from its last seq
  return (userId, cursor, since) =>
    run(userId, cursor, since).catch((err: unknown) => {
      metrics.syncs.inc({ outcome: 'unavailable' });
      throw err instanceof ParleyError ? err : new ParleyError('unavailable');
    });
}

function replayer(reader: FeedReader, metrics: Pick<GatewayMetrics, 'syncs'>): SyncHandler {
  return async (userId, cursor, since) => {
    if (since === null) {
      const latest = await reader.latest(userId);
      metrics.syncs.inc({ outcome: 'latest' });
      return { seq: Math.max(latest, cursor.lastSeq), replayed: 0 };
    }
    // hold live pushes from before the latest seq is read: they follow the answer
    cursor.beginReplay();
    const [latest, first] = await Promise.all([reader.latest(userId), reader.firstSeq()]);
    if (since > latest || (since < latest && since + 1 < first)) {
      metrics.syncs.inc({ outcome: 'resync_required' });
      return { seq: latest, replayed: 0, resync_required: true };
    }
    let replayed = 0;
    let batch: StoredFeedEntry[] = [];
    for await (const e of reader.read(userId, Math.max(since, cursor.lastSeq), latest)) {
      batch.push(e);
      if (batch.length >= BATCH) {
        replayed += cursor.replay(batch);
        batch = [];
      }
    }
    replayed += cursor.replay(batch);
    metrics.syncs.inc({ outcome: 'replayed' });
    return { seq: Math.max(latest, cursor.lastSeq), replayed };
  };
}
