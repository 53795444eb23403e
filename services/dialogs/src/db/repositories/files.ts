/** SQL of `files`. */
import type { FileRow } from '../entities/file.js';
import { placeholders, type Sql } from '../sql.js';

const FILE_COLUMNS = 'id, owner_id, storage_key, file_name, size, content_type, kind, date_created';

export async function findFile(sql: Sql, id: number): Promise<FileRow | undefined> {
  return sql.one<FileRow>(`SELECT ${FILE_COLUMNS} FROM files WHERE id = ?`, [id]);
}

export async function findFileByKey(sql: Sql, storageKey: string): Promise<FileRow | undefined> {
  return sql.one<FileRow>(`SELECT ${FILE_COLUMNS} FROM files WHERE storage_key = ?`, [storageKey]);
}

export async function findFiles(sql: Sql, ids: Iterable<number>): Promise<Map<number, FileRow>> {
  const list = [...new Set(ids)];
  const out = new Map<number, FileRow>();
  if (!list.length) return out;
  const rows = await sql.rows<FileRow>(
    `SELECT ${FILE_COLUMNS} FROM files WHERE id IN (${placeholders(list.length)})`,
    list,
  );
  for (const r of rows) out.set(r.id, r);
  return out;
}

export async function insertFile(sql: Sql, f: Omit<FileRow, 'id'>): Promise<number> {
  const { insertId } = await sql.exec(
    `INSERT INTO files (owner_id, storage_key, file_name, size, content_type, kind, date_created)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    [f.owner_id, f.storage_key, f.file_name, f.size, f.content_type, f.kind, f.date_created],
  );
  return insertId;
}

/** bytes of the files `ownerId` recorded since `since` (a UTC DATETIME string) */
export async function uploadedBytesSince(sql: Sql, ownerId: number, since: string): Promise<number> {
  const row = await sql.one<{ bytes: string | number | null }>(
    'SELECT SUM(size) AS bytes FROM files WHERE owner_id = ? AND date_created >= ?',
    [ownerId, since],
  );
  return Number(row?.bytes ?? 0);
}

/** The file `id` with a shared lock (a message attaching it): the sweeper cannot delete it meanwhile. */
export async function lockFileForAttach(sql: Sql, id: number): Promise<FileRow | undefined> {
  return sql.one<FileRow>(`SELECT ${FILE_COLUMNS} FROM files WHERE id = ? LOCK IN SHARE MODE`, [id]);
}

/** Up to `limit` files created before `before` that no message carries (sweeper candidates). */
export async function findUnattachedBefore(
  sql: Sql,
  before: string,
  limit: number,
): Promise<Array<Pick<FileRow, 'id' | 'storage_key'>>> {
  return sql.rows(
    `SELECT f.id, f.storage_key FROM files f
     WHERE f.date_created < ? AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.file_id = f.id)
     ORDER BY f.date_created, f.id LIMIT ${Math.trunc(limit)}`,
    [before],
  );
}

/**
 * In a transaction: delete file `id` if still no message carries it. The row is locked first, so a
 * message attaching it (lockFileForAttach) either committed before — and is seen here — or waits
 * and then finds no file. True when the row was deleted.
 */
export async function deleteFileIfUnattached(sql: Sql, id: number): Promise<boolean> {
  const row = await sql.one<{ id: number }>('SELECT id FROM files WHERE id = ? FOR UPDATE', [id]);
  if (!row) return false;
  const used = await sql.one('SELECT 1 AS used FROM messages WHERE file_id = ? LIMIT 1', [id]);
  if (used) return false;
  const { affectedRows } = await sql.exec('DELETE FROM files WHERE id = ?', [id]);
  return affectedRows === 1;
}
