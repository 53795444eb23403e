/**
 * The first schema. Valid on MySQL 8 and MariaDB 10.6+: utf8mb4, DATETIME(6)
 * in UTC, no foreign keys on the hot tables (their shared locks on parent rows
 * deadlock against the counter updates; the service checks references itself).
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

export class InitialSchema1700000000001 implements MigrationInterface {
  name = 'InitialSchema1700000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE users (
      id BIGINT UNSIGNED NOT NULL,
      email VARCHAR(254) NOT NULL DEFAULT '',
      first_name VARCHAR(150) NOT NULL DEFAULT '',
      last_name VARCHAR(150) NOT NULL DEFAULT '',
      github_url VARCHAR(255) NULL,
      avatar VARCHAR(255) NULL,
      thumbnail_avatar VARCHAR(255) NULL,
      role VARCHAR(16) CHARACTER SET ascii NOT NULL DEFAULT 'student',
      reviewer_id BIGINT UNSIGNED NULL,
      email_notifications TINYINT(1) NOT NULL DEFAULT 1,
      email_confirmed TINYINT(1) NOT NULL DEFAULT 0,
      is_active TINYINT(1) NOT NULL DEFAULT 1,
      unread_dialogs INT NOT NULL DEFAULT 0,
      date_joined DATETIME(6) NOT NULL,
      date_updated DATETIME(6) NOT NULL,
      PRIMARY KEY (id),
      KEY ix_users_role (role, id)
    ) ${TABLE}`);
    await q.query(`CREATE TABLE dialogs (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      with_role VARCHAR(16) CHARACTER SET ascii NULL,
      pair_key VARCHAR(64) CHARACTER SET ascii NULL,
      date_created DATETIME(6) NOT NULL,
      last_activity DATETIME(6) NOT NULL,
      last_message_id BIGINT UNSIGNED NULL,
      message_count INT NOT NULL DEFAULT 0,
      team_unread INT NOT NULL DEFAULT 0,
      PRIMARY KEY (id),
      UNIQUE KEY ux_dialogs_pair (pair_key),
      KEY ix_dialogs_role_activity (with_role, last_activity, id)
    ) ${TABLE}`);
    await q.query(`CREATE TABLE dialog_members (
      dialog_id BIGINT UNSIGNED NOT NULL,
      user_id BIGINT UNSIGNED NOT NULL,
      position SMALLINT UNSIGNED NOT NULL DEFAULT 0,
      team_dialog TINYINT(1) NOT NULL DEFAULT 0,
      last_activity DATETIME(6) NOT NULL,
      unread_count INT NOT NULL DEFAULT 0,
      last_read_message_id BIGINT UNSIGNED NULL,
      date_joined DATETIME(6) NOT NULL,
      PRIMARY KEY (dialog_id, user_id),
      KEY ix_members_user_activity (user_id, team_dialog, last_activity, dialog_id)
    ) ${TABLE}`);
    await q.query(`CREATE TABLE messages (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      dialog_id BIGINT UNSIGNED NOT NULL,
      user_id BIGINT UNSIGNED NOT NULL,
      markdown_body MEDIUMTEXT NOT NULL,
      body MEDIUMTEXT NOT NULL,
      file_id BIGINT UNSIGNED NULL,
      reply_id BIGINT UNSIGNED NULL,
      lesson_id BIGINT UNSIGNED NULL,
      client_id VARCHAR(64) COLLATE utf8mb4_bin NULL,
      date_created DATETIME(6) NOT NULL,
      date_read DATETIME(6) NULL,
      PRIMARY KEY (id),
      KEY ix_messages_dialog_id (dialog_id, id),
      KEY ix_messages_dialog_unread (dialog_id, date_read, id),
      UNIQUE KEY ux_messages_client (user_id, client_id)
    ) ${TABLE}`);
    await q.query(`CREATE TABLE files (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      owner_id BIGINT UNSIGNED NOT NULL,
      storage_key VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      file_name VARCHAR(255) NOT NULL,
      size BIGINT UNSIGNED NOT NULL,
      content_type VARCHAR(127) NOT NULL,
      kind TINYINT UNSIGNED NOT NULL,
      date_created DATETIME(6) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY ux_files_storage_key (storage_key),
      KEY ix_files_owner (owner_id, id)
    ) ${TABLE}`);
    await q.query(`CREATE TABLE outbox (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      event_id CHAR(36) CHARACTER SET ascii NOT NULL,
      event_type VARCHAR(32) CHARACTER SET ascii NOT NULL,
      payload LONGTEXT NOT NULL,
      date_created DATETIME(6) NOT NULL,
      PRIMARY KEY (id)
    ) ${TABLE}`);
    await q.query(`CREATE TABLE team_counters (
      role VARCHAR(16) CHARACTER SET ascii NOT NULL,
      unread_dialogs INT NOT NULL DEFAULT 0,
      PRIMARY KEY (role)
    ) ${TABLE}`);
    await q.query(`INSERT INTO team_counters (role, unread_dialogs) VALUES ('support', 0)`);
    await q.query(`CREATE TABLE outbox_lease (
      id TINYINT UNSIGNED NOT NULL,
      PRIMARY KEY (id)
    ) ${TABLE}`);
    await q.query(`INSERT INTO outbox_lease (id) VALUES (1)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'outbox_lease',
      'team_counters',
      'outbox',
      'files',
      'messages',
      'dialog_members',
      'dialogs',
      'users',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
