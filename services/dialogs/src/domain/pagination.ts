/** Paging rules of the history (PROTOCOL.md §4, event 8). */

/**
 * Where a message sits for `dialogs.messages.load` pages of `limit`, counted
 * from the newest: `to_skip_count` messages are newer than it, and the page
 * starting at `offset` (a multiple of `limit`) holds it.
 */
export function pageOf(
  newerCount: number,
  limit: number,
): { offset: number; limit: number; to_skip_count: number } {
  return { offset: newerCount - (newerCount % limit), limit, to_skip_count: newerCount };
}
