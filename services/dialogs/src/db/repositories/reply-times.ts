/** SQL of `reply_times` (PROTOCOL.md §9 statistics): the answered runs whose reply falls in a window. */
import { placeholders, type Sql } from '../sql.js';

export interface ReplySample {
  user_id: number;
  team: boolean;
  /** seconds from `awaiting_since` to the reply, microsecond precision */
  seconds: number;
}

/** Every sample with `replied_at` in `[from, to)` (an index range on `replied_at`). */
export async function findReplySamples(sql: Sql, from: string, to: string): Promise<ReplySample[]> {
  const rows = await sql.rows<{ user_id: number; team: number; us: number | string }>(
    `SELECT user_id, team, TIMESTAMPDIFF(MICROSECOND, awaiting_since, replied_at) AS us
       FROM reply_times WHERE replied_at >= ? AND replied_at < ?`,
    [from, to],
  );
  return rows.map((r) => ({
    user_id: Number(r.user_id),
    team: Number(r.team) === 1,
    seconds: Number(r.us) / 1e6,
  }));
}

/** Reviewers (role `reviewer`) and the other given users, with their stored queue counts. */
export async function findQueueCounts(
  sql: Sql,
  also: number[],
  onlyThese: boolean,
): Promise<Map<number, number>> {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (!onlyThese) parts.push("SELECT id, awaiting_count FROM users WHERE role = 'reviewer'");
  if (also.length) {
    parts.push(`SELECT id, awaiting_count FROM users WHERE id IN (${placeholders(also.length)})`);
    params.push(...also);
  }
  if (!parts.length) return new Map();
  const rows = await sql.rows<{ id: number; awaiting_count: number }>(parts.join(' UNION '), params);
  return new Map(rows.map((r) => [Number(r.id), Number(r.awaiting_count)]));
}

export async function teamAwaitingCount(sql: Sql): Promise<number> {
  const r = await sql.one<{ n: number }>(
    "SELECT awaiting_count AS n FROM team_counters WHERE role = 'support'",
  );
  return Number(r?.n ?? 0);
}
