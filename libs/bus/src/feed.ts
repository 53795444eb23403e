/**
 * The per-user feed of PROTOCOL.md §8 on JetStream. The frames one push appends for a user (a message
 * frame and its counters) are one message of the feed stream on the user's subject, a FeedBundle; the
 * seq of its frame i is `feedSeq(stream sequence, i)` (docs/decisions.md §29). Messages stored before
 * bundles hold one bare FeedEntry, whose seq is the stream sequence itself; they are still read. The
 * notifier appends with a message id (the bundle's first frame's), so a redelivered event is
 * deduplicated by the server. The stream republishes each stored message to the user's push subject
 * (RePublish, nats-server 2.9+), with its sequence (`Nats-Sequence`) and the previous sequence of the
 * same subject (`Nats-Last-Sequence`): gateways get live pushes with their `seq` and can notice one
 * they missed. Replays read the stream with an ordered consumer filtered on the user's subject.
 */
import {
  counterKey,
  FEED_FRAMES_PER_MESSAGE,
  type FeedBundle,
  type FeedEntry,
  feedBundleSchema,
  feedEntrySchema,
  feedSeq,
  feedStreamSeqAfter,
  type Subjects,
} from '@parley/protocol';
import {
  type ConsumerMessages,
  DeliverPolicy,
  DiscardPolicy,
  type JsMsg,
  type Msg,
  type MsgHdrs,
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

/**
 * Headers Parley sets on feed messages with counter frames, so a headers-only scan finds the newest
 * version of each: `Parley-Counters: <key>=<version>,…` on bundles; a one-frame message stored before
 * bundles has `Parley-Counter` and `Parley-Counter-Version`.
 */
export const FEED_HEADERS = {
  COUNTERS: 'Parley-Counters',
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
 * Append entries to a user's feed, in order: consecutive entries go as one stream message (a bundle of
 * at most FEED_FRAMES_PER_MESSAGE) with the msg id of its first entry, all messages with one flush and
 * asynchronous acks. One settled result per entry, with the entry's frame seq.
 *
 * A bundle the server already holds (its first entry's msg id, within the duplicate window) stores
 * nothing; when the stored one was made of other entries (a redelivered event whose counters were held
 * the first time, docs/decisions.md §29), the rest of ours go again as a bundle of their own, headed by
 * the next entry's msg id. Bundles are made so that their first entry is the one that must never be
 * doubled (the message or seen frame); a counter frame sent twice holds the same value and version.
 */
export async function appendFeed(
  nc: NatsConnection,
  s: Subjects,
  userId: number,
  entries: readonly FeedAppend[],
  opts: { timeoutMs?: number } = {},
): Promise<PublishResult[]> {
  const results: PublishResult[] = new Array(entries.length);
  let ranges: [number, number][] = [];
  for (let a = 0; a < entries.length; a += FEED_FRAMES_PER_MESSAGE)
    ranges.push([a, Math.min(entries.length, a + FEED_FRAMES_PER_MESSAGE)]);
  while (ranges.length) {
    const acks = await publishAll(
      nc,
      ranges.map(([a, b]) => bundleMessage(s, userId, entries.slice(a, b))),
      opts,
    );
    const again: [number, number][] = [];
    for (const [k, ack] of acks.entries()) {
      const [a, b] = ranges[k] as [number, number];
      if (ack.status === 'rejected') {
        for (let i = a; i < b; i++) results[i] = ack;
        continue;
      }
      const { seq, duplicate } = ack.value;
      if (duplicate && b - a > 1) {
        results[a] = { status: 'fulfilled', value: { seq: feedSeq(seq, 0), duplicate } };
        const stored = await storedCounters(nc, s, seq);
        const rest = entries.slice(a + 1, b).map((e, i) => ({ e, i: a + 1 + i }));
        // what the stored bundle holds is a duplicate; the rest goes again, in order
        let first = b;
        for (const { e, i } of rest) {
          const key = counterKey(e.entry.item);
          if (key !== null && stored?.has(`${key}=${e.entry.version}`)) {
            results[i] = { status: 'fulfilled', value: { seq: feedSeq(seq, 0), duplicate: true } };
          } else first = Math.min(first, i);
        }
        if (first < b) again.push(...rangesOf(entries, first, b, results));
        continue;
      }
      for (let i = a; i < b; i++)
        results[i] = { status: 'fulfilled', value: { seq: feedSeq(seq, i - a), duplicate } };
    }
    ranges = again;
  }
  return results;
}

/** the entries in [a, b) that have no result yet, as ranges of consecutive ones */
function rangesOf(
  entries: readonly FeedAppend[],
  a: number,
  b: number,
  results: PublishResult[],
): [number, number][] {
  const out: [number, number][] = [];
  for (let i = a; i < b && i < entries.length; i++) {
    if (results[i] !== undefined) continue;
    const last = out[out.length - 1];
    if (last && last[1] === i) last[1] = i + 1;
    else out.push([i, i + 1]);
  }
  return out;
}

/** the `<key>=<version>` counters of the feed message stored at `seq`; undefined when it cannot be read */
async function storedCounters(
  nc: NatsConnection,
  s: Subjects,
  seq: number,
): Promise<Set<string> | undefined> {
  try {
    const jsm = await nc.jetstreamManager({ checkAPI: false });
    const m = await jsm.streams.getMessage(s.feedStream, { seq });
    return new Set(
      framesOf(m.seq, m.data).flatMap((f) => {
        const key = f.entry ? counterKey(f.entry.item) : null;
        return key !== null ? [`${key}=${f.entry?.version}`] : [];
      }),
    );
  } catch {
    return undefined;
  }
}

function bundleMessage(s: Subjects, userId: number, entries: readonly FeedAppend[]) {
  const counters: string[] = [];
  for (const { entry } of entries) {
    const key = counterKey(entry.item);
    if (key !== null && entry.version !== undefined) counters.push(`${key}=${entry.version}`);
  }
  const h = natsHeaders();
  if (counters.length) h.set(FEED_HEADERS.COUNTERS, counters.join(','));
  const bundle: FeedBundle = { frames: entries.map((e) => e.entry) };
  return {
    subject: s.feed(userId),
    msgId: (entries[0] as FeedAppend).msgId,
    data: encode(bundle),
    headers: h,
  };
}

export interface FeedDelivery {
  seq: number;
  /** the previous seq of the same user (0: none) */
  last: number;
  entry: FeedEntry;
}

/**
 * A message on a push subject: the frames of a republished feed message, each with its `seq` and the
 * one before it (`last`: for the first frame, the lowest seq the previous message of the user may
 * hold — a gap is recognised, never imagined); `null` when it is one but malformed, `undefined` when
 * it is no feed message (a plain PushMessage).
 */
export function decodeFeedDelivery(m: Msg): FeedDelivery[] | null | undefined {
  const seqHeader = m.headers?.get(REPUBLISH_HEADERS.SEQUENCE);
  if (!seqHeader) return undefined;
  const seq = Number(seqHeader);
  const last = Number(m.headers?.get(REPUBLISH_HEADERS.LAST_SEQUENCE) || 0);
  if (!Number.isSafeInteger(seq) || seq <= 0 || !Number.isSafeInteger(last) || last < 0) return null;
  const frames = framesOf(seq, m.data);
  if (frames.some((f) => f.entry === null)) return null;
  const bundle = frames[0]?.seq !== seq;
  return frames.map((f, i) => ({
    seq: f.seq,
    last: i > 0 ? (frames[i - 1]?.seq ?? 0) : last === 0 ? 0 : bundle ? feedSeq(last, 0) : last,
    entry: f.entry as FeedEntry,
  }));
}

/**
 * The frames of one stored feed message with their seq: a bundle's, or the one bare entry of a message
 * stored before bundles (seq = the stream sequence). A malformed message is one frame with no entry,
 * whose seq is the highest its frames could have had (readers pass over it).
 */
export function framesOf(streamSeq: number, data: Uint8Array): StoredFeedEntry[] {
  let raw: unknown;
  try {
    raw = decode(data);
  } catch {
    return [{ seq: streamSeq, entry: null }];
  }
  if (raw !== null && typeof raw === 'object' && 'frames' in raw) {
    const parsed = feedBundleSchema.safeParse(raw);
    if (!parsed.success) return [{ seq: feedSeq(streamSeq, FEED_FRAMES_PER_MESSAGE - 1), entry: null }];
    return parsed.data.frames.map((entry, i) => ({ seq: feedSeq(streamSeq, i), entry }));
  }
  const parsed = feedEntrySchema.safeParse(raw);
  return [{ seq: streamSeq, entry: parsed.success ? parsed.data : null }];
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
      const frames = decodeFeedDelivery(m);
      const user = Number(m.subject.slice(m.subject.lastIndexOf('.') + 1));
      for (const d of frames ?? []) onEntry(user, d);
    },
  });
}

/** the (key, version) of every counter frame of a feed message, from its headers */
function countersIn(h: MsgHdrs | undefined): [string, number][] {
  const out: [string, number][] = [];
  for (const pair of (h?.get(FEED_HEADERS.COUNTERS) ?? '').split(',')) {
    const at = pair.lastIndexOf('=');
    const version = Number(pair.slice(at + 1));
    if (at > 0 && Number.isSafeInteger(version)) out.push([pair.slice(0, at), version]);
  }
  const key = h?.get(FEED_HEADERS.COUNTER);
  const version = Number(h?.get(FEED_HEADERS.VERSION));
  if (key && Number.isSafeInteger(version)) out.push([key, version]);
  return out;
}

export interface StoredFeedEntry {
  seq: number;
  /** null: malformed (skipped by readers, but its seq counts as read) */
  entry: FeedEntry | null;
}

export interface FeedReader {
  /** the user's latest seq (0: the feed holds nothing for the user) */
  latest(userId: number): Promise<number>;
  /** the lowest seq whose predecessors may all still be held: a `since` below `firstSeq() - 1` may have lost frames (1: nothing expired yet) */
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
        return framesOf(m.seq, m.data).at(-1)?.seq ?? m.seq;
      } catch (err) {
        if (isJsNotFound(err)) return 0;
        throw err;
      }
    },
    async firstSeq() {
      const info = await (await jsm).streams.info(s.feedStream);
      const first = info.state.messages === 0 ? info.state.last_seq + 1 : info.state.first_seq;
      // nothing expired yet: every seq is retained; else the lowest seq of the first message held
      return first <= 1 ? 1 : feedSeq(first, 0);
    },
    async *read(userId, after, upto) {
      if (upto <= after) return;
      const consumer = await nc.jetstream().consumers.get(s.feedStream, {
        filterSubjects: s.feed(userId),
        // the message holding the frame after `after` is at this stream sequence or later
        opt_start_seq: feedStreamSeqAfter(after),
      });
      for await (const m of untilIdle(await consumer.consume({ max_messages: 256 }))) {
        for (const f of framesOf(m.seq, m.data)) {
          if (f.seq <= after) continue;
          if (f.seq > upto) return;
          yield f;
          if (f.seq === upto) return;
        }
        if (m.info.pending === 0) return;
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
    const user = Number(m.subject.slice(m.subject.lastIndexOf('.') + 1));
    for (const [key, version] of countersIn(m.headers)) onCounter(user, key, version);
    if (m.seq >= info.state.last_seq || m.info.pending === 0) break;
  }
  return read;
}
