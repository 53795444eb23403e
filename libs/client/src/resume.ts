/**
 * Resume bookkeeping of PROTOCOL.md §8, apart from the socket so it is testable as pure logic: the
 * highest `seq` seen, which pushes to drop, the `sync` frame to send after a reconnect, and what its
 * answer means. A server without §8 sends no `seq`: then every push is delivered and `sync` is given
 * up after its first `unknown_event` answer.
 */
import { RESUME_SYNC_EVENT, type ResumeSyncAnswer } from '@parley/protocol/resume';

export class ResumeState {
  /** the highest `seq` seen (0: none yet) */
  lastSeq = 0;
  /** false once the server answered `sync` with `unknown_event` */
  supported = true;

  /** whether a push is new (deliver it) or was already delivered (drop it); records its `seq` */
  accept(seq: unknown): boolean {
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq)) return true;
    if (seq <= this.lastSeq) return false;
    this.lastSeq = seq;
    return true;
  }

  /** the frame to send on a new socket, or undefined when the server has no §8 */
  syncFrame(): Record<string, unknown> | undefined {
    if (!this.supported) return undefined;
    return this.lastSeq > 0
      ? { event: RESUME_SYNC_EVENT, since: this.lastSeq }
      : { event: RESUME_SYNC_EVENT };
  }

  /** the answer to `sync`: returns true when the client must reload (`resync_required`) */
  onAnswer(data: unknown): boolean {
    const answer = data as ResumeSyncAnswer | null;
    if (!answer || typeof answer.seq !== 'number') return false;
    if (answer.resync_required) {
      this.lastSeq = answer.seq;
      return true;
    }
    if (answer.seq > this.lastSeq) this.lastSeq = answer.seq;
    return false;
  }

  /** the answer was an error: `unknown_event` means a server without §8 */
  onError(code: string): void {
    if (code === 'unknown_event') this.supported = false;
  }
}
