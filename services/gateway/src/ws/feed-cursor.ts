/**
 * Where one socket stands in its user's feed (PROTOCOL.md §8): the highest `seq` it has been given,
 * the counters version of each counter it holds, and, while a `sync` replays, the live pushes held
 * back until the replay is answered. It is the one place that decides whether a feed entry reaches
 * the socket: never a `seq` twice, always in `seq` order, never a counter older (by version) than
 * the one the socket holds, and (live only) not the frame the socket got as its direct answer.
 */
import type { FeedDelivery, StoredFeedEntry } from '@parley/bus';
import { type AnswerFrame, counterKey, type FeedEntry, feedFrame } from '@parley/protocol';

export interface FeedSink {
  readonly connId: string;
  sendFrame(frame: AnswerFrame): void;
  /** write a frame already encoded (the same bytes for every socket of the user) */
  sendText(text: string): void;
}

/** the frame of one feed entry, encoded at most once however many sockets it goes to */
export type EncodedEntry = () => string;

type Pending = Pick<FeedDelivery, 'seq' | 'entry'>;

export class FeedCursor {
  /** the highest seq this socket has been given (or passed over: a duplicate, an older counter) */
  lastSeq = 0;
  private readonly sink: FeedSink;
  /** counter key → the version of the value the socket holds (made on the first counter frame) */
  private versions: Map<string, number> | undefined;
  /** live entries that arrived during a replay */
  private held: Pending[] | undefined;

  constructor(sink: FeedSink) {
    this.sink = sink;
  }

  /** a live entry (the hub hands them over in seq order); held while a replay runs */
  live(seq: number, entry: FeedEntry, encoded?: EncodedEntry): boolean {
    if (this.held) {
      this.held.push({ seq, entry });
      return false;
    }
    return this.deliver(seq, entry, true, encoded);
  }

  /** from now on live entries wait for endReplay() */
  beginReplay(): void {
    this.held ??= [];
  }

  /**
   * Replay stored entries (seq order): message and seen frames all, counter frames collapsed to the
   * newest value of each counter in the batch. Returns the frames sent.
   */
  replay(batch: readonly StoredFeedEntry[]): number {
    const chosen = new Map<string, StoredFeedEntry>();
    for (const e of batch) {
      const key = e.entry ? counterKey(e.entry.item) : null;
      if (key === null || !e.entry) continue;
      const prev = chosen.get(key);
      if (!prev || (e.entry.version ?? 0) >= (prev.entry?.version ?? 0)) chosen.set(key, e);
    }
    let sent = 0;
    for (const e of batch) {
      const key = e.entry ? counterKey(e.entry.item) : null;
      if (!e.entry || (key !== null && chosen.get(key) !== e)) {
        this.lastSeq = Math.max(this.lastSeq, e.seq);
        continue;
      }
      if (this.deliver(e.seq, e.entry, false)) sent++;
    }
    return sent;
  }

  /** the replay is answered: send the held live entries that are still new, in seq order */
  endReplay(): void {
    const held = this.held;
    this.held = undefined;
    if (!held?.length) return;
    held.sort((a, b) => a.seq - b.seq);
    for (const p of held) this.deliver(p.seq, p.entry, true);
  }

  private deliver(seq: number, entry: FeedEntry, live: boolean, encoded?: EncodedEntry): boolean {
    if (seq <= this.lastSeq) return false;
    this.lastSeq = seq;
    // the requesting socket has this frame as its direct answer (a replay includes it: §8)
    if (live && entry.origin_conn && entry.origin_conn === this.sink.connId) return false;
    if (!this.fresh(entry)) return false;
    if (encoded) this.sink.sendText(encoded());
    else this.sink.sendFrame(feedFrame(entry.item, seq));
    return true;
  }

  /** false for a counter frame older than the value of the same counter the socket holds */
  private fresh(entry: FeedEntry): boolean {
    const key = counterKey(entry.item);
    if (key === null || entry.version === undefined) return true;
    this.versions ??= new Map();
    const held = this.versions.get(key);
    if (held !== undefined && entry.version < held) return false;
    this.versions.set(key, entry.version);
    return true;
  }
}
