/** Every migration, in the order it runs. Append only; never edit a released one. */
import { InitialSchema1700000000001 } from './0001-initial-schema.js';
import { CountersVersion1700000000003 } from './0003-counters-version.js';

export const migrations = [InitialSchema1700000000001, CountersVersion1700000000003];
