/**
 * The reviewer's queue (PROTOCOL.md §9), kept in the transaction of each message: a dialog's
 * unanswered run (`dialogs.awaiting_since`), its copy on the member rows of staff members of plain
 * dialogs (`dialog_members.awaiting_since`, indexed per user in queue order), each staff user's count
 * (`users.awaiting_count`) and the support team's (`team_counters.awaiting_count`), and one
 * `reply_times` row per answered run for the response-time statistics. Existing dialogs are
 * backfilled from their messages, classifying each author by their role now.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';
const STAFF = "('reviewer', 'support', 'admin')";
/** whether `u` answers for dialog `d`: the support team in a support dialog, else any staff role */
const ANSWERS = (u: string, d: string) =>
  `IF(${d}.with_role = 'support', ${u}.role = 'support', ${u}.role IN ${STAFF})`;

export class AwaitingReply1700000000005 implements MigrationInterface {
  name = 'AwaitingReply1700000000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE dialogs ADD COLUMN awaiting_since DATETIME(6) NULL,
      ADD KEY ix_dialogs_role_awaiting (with_role, awaiting_since, id)`);
    await q.query(`ALTER TABLE dialog_members ADD COLUMN awaiting_since DATETIME(6) NULL,
      ADD KEY ix_members_user_awaiting (user_id, awaiting_since, dialog_id)`);
    await q.query('ALTER TABLE users ADD COLUMN awaiting_count INT NOT NULL DEFAULT 0');
    await q.query('ALTER TABLE team_counters ADD COLUMN awaiting_count INT NOT NULL DEFAULT 0');
    await q.query(`CREATE TABLE reply_times (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      dialog_id BIGINT UNSIGNED NOT NULL,
      user_id BIGINT UNSIGNED NOT NULL,
      team TINYINT(1) NOT NULL DEFAULT 0,
      awaiting_since DATETIME(6) NOT NULL,
      replied_at DATETIME(6) NOT NULL,
      PRIMARY KEY (id),
      KEY ix_reply_times_replied (replied_at),
      KEY ix_reply_times_user (user_id, replied_at)
    ) ${TABLE}`);
    // backfill: the oldest message after the last answering one, when its author does not answer
    await q.query(`UPDATE dialogs d SET awaiting_since = (
        SELECT MIN(m.date_created) FROM messages m JOIN users u ON u.id = m.user_id
         WHERE m.dialog_id = d.id AND NOT ${ANSWERS('u', 'd')}
           AND m.id > COALESCE((
             SELECT MAX(m2.id) FROM messages m2 JOIN users u2 ON u2.id = m2.user_id
              WHERE m2.dialog_id = d.id AND ${ANSWERS('u2', 'd')}), 0))`);
    await q.query(`UPDATE dialog_members m JOIN dialogs d ON d.id = m.dialog_id JOIN users u ON u.id = m.user_id
        SET m.awaiting_since = d.awaiting_since
      WHERE m.team_dialog = 0 AND u.role IN ${STAFF}`);
    await q.query(`UPDATE users u SET awaiting_count = (
        SELECT COUNT(*) FROM dialog_members m WHERE m.user_id = u.id AND m.awaiting_since IS NOT NULL)`);
    await q.query(`UPDATE team_counters SET awaiting_count = (
        SELECT COUNT(*) FROM dialogs WHERE with_role = 'support' AND awaiting_since IS NOT NULL)
      WHERE role = 'support'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS reply_times');
    await q.query('ALTER TABLE team_counters DROP COLUMN awaiting_count');
    await q.query('ALTER TABLE users DROP COLUMN awaiting_count');
    await q.query('ALTER TABLE dialog_members DROP KEY ix_members_user_awaiting, DROP COLUMN awaiting_since');
    await q.query('ALTER TABLE dialogs DROP KEY ix_dialogs_role_awaiting, DROP COLUMN awaiting_since');
  }
}
