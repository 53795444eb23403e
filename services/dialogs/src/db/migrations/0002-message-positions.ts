/**
 * A dense per-dialog position for every message (1 = the oldest), so a history
 * page at any depth is a range on `(dialog_id, position)` instead of an OFFSET
 * that reads and discards every newer row. Messages are never deleted, so the
 * positions of a dialog stay 1..message_count; the create path assigns
 * `message_count + 1` under the dialog lock it already holds.
 *
 * The backfill uses ROW_NUMBER() (MySQL 8 and MariaDB 10.2+) in a derived table,
 * which both engines materialize, so the UPDATE may read the table it writes.
 * `message_count` is recounted in the same step so that the stored count and the
 * highest position agree even if an older version ever let them drift.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class MessagePositions1700000000002 implements MigrationInterface {
  name = 'MessagePositions1700000000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE messages ADD COLUMN position INT UNSIGNED NOT NULL DEFAULT 0 AFTER dialog_id');
    await q.query(`UPDATE messages m
      JOIN (SELECT id, ROW_NUMBER() OVER (PARTITION BY dialog_id ORDER BY id) AS pos FROM messages) r
        ON r.id = m.id
       SET m.position = r.pos`);
    await q.query(`UPDATE dialogs d
       SET d.message_count = (SELECT COUNT(*) FROM messages m WHERE m.dialog_id = d.id)`);
    // from now on every insert names its position: no silent 0
    await q.query('ALTER TABLE messages ALTER COLUMN position DROP DEFAULT');
    await q.query('ALTER TABLE messages ADD UNIQUE KEY ux_messages_dialog_position (dialog_id, position)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE messages DROP INDEX ux_messages_dialog_position');
    await q.query('ALTER TABLE messages DROP COLUMN position');
  }
}
