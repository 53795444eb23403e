import type { FileKind } from '@parley/protocol';
import { EntitySchema } from 'typeorm';

/** A row of `files`: metadata of an upload; the bytes live where the gateway put them (storage_key). */
export interface FileRow {
  id: number;
  owner_id: number;
  storage_key: string;
  file_name: string;
  size: number;
  content_type: string;
  kind: FileKind;
  date_created: string;
}

export const FileEntity = new EntitySchema<FileRow>({
  name: 'File',
  tableName: 'files',
  columns: {
    id: { type: 'bigint', unsigned: true, primary: true, generated: 'increment' },
    owner_id: { type: 'bigint', unsigned: true },
    storage_key: { type: 'varchar', length: 255, unique: true, charset: 'ascii', collation: 'ascii_bin' },
    file_name: { type: 'varchar', length: 255 },
    size: { type: 'bigint', unsigned: true },
    content_type: { type: 'varchar', length: 127 },
    kind: { type: 'tinyint', unsigned: true },
    date_created: { type: 'datetime', precision: 6 },
  },
  indices: [{ name: 'ix_files_owner', columns: ['owner_id', 'id'] }],
});
