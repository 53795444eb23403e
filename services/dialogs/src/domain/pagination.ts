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

/**
 * The positions of one history page (1 = the oldest message): skip `offset`
 * messages down from position `top` (the newest one the page may show), take
 * up to `limit`. `null` when nothing is left: the caller answers an empty page
 * without asking the database.
 */
export function historyRange(
  top: number,
  offset: number,
  limit: number,
): { from: number; to: number } | null {
  const to = top - offset;
  if (to < 1) return null;
  return { from: Math.max(1, to - limit + 1), to };
}

/** Messages newer than the one at `position` in a dialog of `total` (never negative). */
export function newerThan(total: number, position: number): number {
  return Math.max(0, total - position);
}
