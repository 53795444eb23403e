/** Every migration, in the order it runs. Append only; never edit a released one. */
import { InitialSchema1700000000001 } from './0001-initial-schema.js';
import { FilesSweepIndexes1700000000002 } from './0002-files-sweep-indexes.js';

export const migrations = [InitialSchema1700000000001, FilesSweepIndexes1700000000002];
