/** Every migration, in the order it runs. Append only; never edit a released one. */
import { InitialSchema1700000000001 } from './0001-initial-schema.js';
import { MessagePositions1700000000002 } from './0002-message-positions.js';
import { FilesSweepIndexes1700000000003 } from './0003-files-sweep-indexes.js';
import { CountersVersion1700000000004 } from './0004-counters-version.js';
import { AwaitingReply1700000000005 } from './0005-awaiting-reply.js';

export const migrations = [
  InitialSchema1700000000001,
  MessagePositions1700000000002,
  FilesSweepIndexes1700000000003,
  CountersVersion1700000000004,
  AwaitingReply1700000000005,
];
