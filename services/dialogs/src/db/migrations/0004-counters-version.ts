/**
 * A version of each user's counters (PROTOCOL.md §8): bumped in the transaction of every change of
 * the user's unread counters, carried in the domain events' MemberState and in the counter frames of
 * the user's feed, so a gateway recognises a counter frame older than one a socket already holds.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CountersVersion1700000000004 implements MigrationInterface {
  name = 'CountersVersion1700000000004';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE users ADD COLUMN counters_version BIGINT UNSIGNED NOT NULL DEFAULT 0');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE users DROP COLUMN counters_version');
  }
}
