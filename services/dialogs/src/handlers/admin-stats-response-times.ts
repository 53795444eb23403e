/**
 * `admin.stats.response_times` (GET /api/admin/stats/response-times, PROTOCOL.md §9): per reviewer
 * and for the support team, the answered runs whose reply falls in `[from, to)` (default: the 30
 * days before now) as nearest-rank percentiles, and the dialogs awaiting a reply now. Reviewers are
 * every user with the reviewer role plus any other staff user who answered a plain dialog in the
 * window; `reviewer_id` narrows the list to that user (the team figures stay).
 */
import type { Handler } from '@parley/bus';
import { ParleyError, type ResponseTimesStats } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import { findQueueCounts, findReplySamples, teamAwaitingCount } from '../db/repositories/reply-times.js';
import { figures } from '../domain/percentiles.js';
import { formatDate, utcAt } from '../dto/dates.js';

const DEFAULT_WINDOW_MS = 30 * 24 * 3600 * 1000;

export const adminStatsResponseTimes =
  (ctx: DialogsContext): Handler<'admin.stats.response_times'> =>
  async (req) => {
    const to = req.to ?? Date.now();
    const from = req.from ?? to - DEFAULT_WINDOW_MS;
    if (from >= to) throw ParleyError.invalid('from');
    const [fromUtc, toUtc] = [utcAt(from), utcAt(to)];
    const samples = await findReplySamples(ctx.sql, fromUtc, toUtc);
    const byReviewer = new Map<number, number[]>();
    const team: number[] = [];
    for (const s of samples) {
      if (s.team) {
        team.push(s.seconds);
        continue;
      }
      if (req.reviewer_id !== null && s.user_id !== req.reviewer_id) continue;
      const list = byReviewer.get(s.user_id) ?? [];
      list.push(s.seconds);
      byReviewer.set(s.user_id, list);
    }
    const listed = req.reviewer_id !== null ? [req.reviewer_id] : [...byReviewer.keys()];
    const counts = await findQueueCounts(ctx.sql, listed, req.reviewer_id !== null);
    const ids = [...new Set([...counts.keys(), ...byReviewer.keys()])].sort((a, b) => a - b);
    const data: ResponseTimesStats = {
      from: formatDate(fromUtc, ctx.config.TIME_ZONE),
      to: formatDate(toUtc, ctx.config.TIME_ZONE),
      reviewers: ids.map((id) => ({
        user_id: id,
        ...figures(byReviewer.get(id) ?? []),
        awaiting_now: counts.get(id) ?? 0,
      })),
      support_team: { ...figures(team), awaiting_now: await teamAwaitingCount(ctx.sql) },
    };
    return { data };
  };
