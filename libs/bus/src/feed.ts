/**
 * The per-user feed of PROTOCOL.md §8 on JetStream. Every push frame with a `seq` is one message
 * of the feed stream on the user's subject; its stream sequence is the `seq`. The notifier appends
 * with a message id, so a redelivered event is deduplicated by the server. The stream republishes
 * each stored message to the user's push subject (RePublish, nats-server 2.9+), with its sequence
 * (`Nats-Sequence`) and the previous sequence of the same subject (`Nats-Last-Sequence`): gateways
 * get live pushes with their `seq` and can notice one they missed. Replays read the stream with an
 * ordered consumer filtered on the user's subject.
 */
import { counterKey, type FeedEntry, feedEntrySchema, type Subjects } from '@parley/protocol';
import {
  type ConsumerMessages,
  DeliverPolicy,
  DiscardPolicy,
  type JsMsg,
  type Msg,
  type NatsConnection,
  nanos,
  headers as natsHeaders,
  RetentionPolicy,
  StorageType,
  type Subscription,
} from 'nats';
import { decode, encode } from './codec.js';
import { isJsNotFound } from './not-found.js';
import { type PublishResult, publishAll } from './publish-batch.js';
import { ensureStream } from './stream.js';

/** Headers the server sets on republished messages. */
export const REPUBLISH_HEADERS = {
  SEQUENCE: 'Nats-Sequence',
  LAST_SEQUENCE: 'Nats-Last-Sequence',
} as const;

/** Headers Parley sets on counter entries, so a headers-only scan finds the newest version of each. */
export const FEED_HEADERS = {
  COUNTER: 'Parley-Counter',
  VERSION: 'Parley-Counter-Version',
} as const;

export interface FeedStreamOptions {
  /** how long a push stays replayable (stream max_age), ms */
  retentionMs: number;
  /** how long an append is deduplicated by its message id, ms (capped at the retention) */
  duplicateWindowMs: number;
  /** replicas in a cluster (NATS_REPLICAS); an existing stream with fewer is raised; default 1 */
  replicas?: number;
}

/**
 * Create the feed stream if missing; with `update`, bring retention and duplicate window of an
 * existing one to `opts` (the notifier owns them; gateways only make sure it exists).
 */
export async function ensureFeedStream(
  nc: NatsConnection,
  s: Subjects,
  opts: FeedStreamOptions,
  mode: { update?: boolean } = {},
): Promise<void> {
  const maxAge = nanos(Math.round(opts.retentionMs));
  const window = nanos(Math.round(Math.min(opts.duplicateWindowMs, opts.retentionMs)));
  const existing = await ensureStream(
    nc,
    {
      name: s.feedStream,
      subjects: [s.feedWildcard],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: maxAge,
      duplicate_window: window,
      allow_direct: true,
      republish: { src: s.feedWildcard, dest: s.feedRepublish },
    },
    opts.replicas,
  );
  if (existing && mode.update && (existing.max_age !== maxAge || existing.duplicate_window !== window)) {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.update(s.feedStream, {
      ...existing,
      // `existing` is the config from before ensureStream raised the replicas
      num_replicas: Math.max(existing.num_replicas, opts.replicas ?? 1),
      max_age: maxAge,
      duplicate_window: window,
    });
  }
}

/** one entry for a user's feed and the message id that makes its append idempotent */
export interface FeedAppend {
  entry: FeedEntry;
  msgId: string;
}

/**
 * Append entries to a user's feed, in order, with asynchronous acks (one flush for all of them); a
 * repeated `msgId` within the duplicate window stores nothing. One settled result per entry.
 */
export function appendFeed(
  nc: NatsConnection,
  s: Subjects,
  userId: number,
  entries: readonly FeedAppend[],
  opts: { timeoutMs?: number } = {},
): Promise<PublishResult[]> {
  return publishAll(
    nc,
    entries.map(({ entry, msgId }) => {
      const key = counterKey(entry.item);
      const h = natsHeaders();
      if (key !== null && entry.version !== undefined) {
        h.set(FEED_HEADERS.COUNTER, key);
        h.set(FEED_HEADERS.VERSION, String(entry.version));
      }
      return { subject: s.feed(userId), msgId, data: encode(entry), headers: h };
    }),
    opts,
  );
}

export interface FeedDelivery {
  seq: number;
  /** the previous seq of the same user (0: none) */
  last: number;
  entry: FeedEntry;
}

/**
 * A message on a push subject: a republished feed entry (`seq` and the previous one), `null` when
 * it is one but malformed, `undefined` when it is no feed entry (a plain PushMessage).
 */
export function decodeFeedDelivery(m: Msg): FeedDelivery | null | undefined {
  const seqHeader = m.headers?.get(REPUBLISH_HEADERS.SEQUENCE);
  if (!seqHeader) return undefined;
  const seq = Number(seqHeader);
  const last = Number(m.headers?.get(REPUBLISH_HEADERS.LAST_SEQUENCE) || 0);
  if (!Number.isSafeInteger(seq) || seq <= 0 || !Number.isSafeInteger(last)) return null;
  const entry = parseEntry(m.data);
  return entry ? { seq, last, entry } : null;
}

function parseEntry(data: Uint8Array): FeedEntry | null {
  try {
    const parsed = feedEntrySchema.safeParse(decode(data));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Watch the live feed entries of one user (or of every user with `'*'`), as gateways get them. */
export function subscribeFeed(
  nc: NatsConnection,
  s: Subjects,
  userId: number | '*',
  onEntry: (userId: number, delivery: FeedDelivery) => void,
): Subscription {
  return nc.subscribe(userId === '*' ? s.pushWildcard : s.push(userId), {
    callback: (err, m) => {
      if (err) return;
      const d = decodeFeedDelivery(m);
      if (d) onEntry(Number(m.subject.slice(m.subject.lastIndexOf('.') + 1)), d);
    },
  });
}

export interface StoredFeedEntry {
  seq: number;
  /** null: malformed (skipped by readers, but its seq counts as read) */
  entry: FeedEntry | null;
}

export interface FeedReader {
  /** the user's latest seq (0: the feed holds nothing for the user) */
  latest(userId: number): Promise<number>;
  /** the oldest seq the stream still holds (last + 1 when it is empty) */
  firstSeq(): Promise<number>;
  /** the user's entries with `after` < seq ≤ `upto`, in order */
  read(userId: number, after: number, upto: number): AsyncGenerator<StoredFeedEntry>;
}

/** how long a replay waits for the next stored message before it gives up (expired meanwhile) */
const READ_IDLE_MS = 5_000;

/**
 * The messages of a pull consumer until the caller stops or none came for READ_IDLE_MS (a filtered
 * read may have nothing left to deliver and `pending` never reaches it); always closed after.
 */
async function* untilIdle(messages: ConsumerMessages): AsyncGenerator<JsMsg> {
  let idle: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => void messages.close().catch(() => undefined), READ_IDLE_MS);
  };
  arm();
  try {
    for await (const m of messages as AsyncIterable<JsMsg>) {
      arm();
      yield m;
    }
  } finally {
    clearTimeout(idle);
    await messages.close().catch(() => undefined);
  }
}

export function createFeedReader(nc: NatsConnection, s: Subjects): FeedReader {
  const jsm = nc.jetstreamManager();
  return {
    async latest(userId) {
      try {
        const m = await (await jsm).streams.getMessage(s.feedStream, { last_by_subj: s.feed(userId) });
        return m.seq;
      } catch (err) {
        if (isJsNotFound(err)) return 0;
        throw err;
      }
    },
    async firstSeq() {
      const info = await (await jsm).streams.info(s.feedStream);
      return info.state.messages === 0 ? info.state.last_seq + 1 : info.state.first_seq;
    },
    async *read(userId, after, upto) {
      if (upto <= after) return;
      const consumer = await nc.jetstream().consumers.get(s.feedStream, {
        filterSubjects: s.feed(userId),
        opt_start_seq: after + 1,
      });
      for await (const m of untilIdle(await consumer.consume({ max_messages: 256 }))) {
        if (m.seq > upto) break;
        yield { seq: m.seq, entry: parseEntry(m.data) };
        if (m.seq >= upto || m.info.pending === 0) break;
      }
    },
  };
}

/**
 * Every counter entry appended since `sinceMs` (epoch ms), headers only: what a notifier taking over
 * needs to know so it never appends a counter older than one already in the feed. Returns how many
 * entries it read.
 */
export async function scanFeedCounters(
  nc: NatsConnection,
  s: Subjects,
  sinceMs: number,
  onCounter: (userId: number, key: string, version: number) => void,
): Promise<number> {
  const jsm = await nc.jetstreamManager();
  const info = await jsm.streams.info(s.feedStream);
  if (info.state.messages === 0 || Date.parse(info.state.last_ts) < sinceMs) return 0;
  const consumer = await nc.jetstream().consumers.get(s.feedStream, {
    filterSubjects: s.feedWildcard,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(sinceMs).toISOString(),
    headers_only: true,
  });
  let read = 0;
  for await (const m of untilIdle(await consumer.consume({ max_messages: 1024 }))) {
    read++;
    const key = m.headers?.get(FEED_HEADERS.COUNTER);
    const version = Number(m.headers?.get(FEED_HEADERS.VERSION));
    if (key && Number.isSafeInteger(version)) {
      onCounter(Number(m.subject.slice(m.subject.lastIndexOf('.') + 1)), key, version);
    }
    if (m.seq >= info.state.last_seq || m.info.pending === 0) break;
  }
  return read;
}
