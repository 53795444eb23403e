/** files rows → FileDto: `content` is the `/media/…` path, `url` the absolute one. */
import { FILE_KIND, type FileDto, type FileKind } from '@parley/protocol';
import type { FileRow } from '../db/entities/file.js';
import { formatDate } from './dates.js';

export function fileKindOf(contentType: string): FileKind {
  return contentType.toLowerCase().startsWith('image/') ? FILE_KIND.IMAGE : FILE_KIND.FILE;
}

export function fileDto(row: FileRow, cfg: { PUBLIC_URL: string; TIME_ZONE: string }): FileDto {
  const content = `/media/${row.storage_key}`;
  return {
    id: row.id,
    date_created: formatDate(row.date_created, cfg.TIME_ZONE),
    content,
    url: `${cfg.PUBLIC_URL}${content}`,
    file_name: row.file_name,
    size: Number(row.size),
    content_type: row.content_type,
    type: Number(row.kind) === FILE_KIND.IMAGE ? FILE_KIND.IMAGE : FILE_KIND.FILE,
  };
}
