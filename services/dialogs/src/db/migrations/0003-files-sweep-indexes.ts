/**
 * Indexes the unattached-files sweeper needs (src/files/sweeper.ts): files by age, and messages by
 * the file they carry (is this file attached anywhere?). Valid on MySQL 8 and MariaDB 10.6+.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class FilesSweepIndexes1700000000003 implements MigrationInterface {
  name = 'FilesSweepIndexes1700000000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX ix_files_created ON files (date_created, id)');
    await q.query('CREATE INDEX ix_messages_file ON messages (file_id)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX ix_messages_file ON messages');
    await q.query('DROP INDEX ix_files_created ON files');
  }
}
