#!/usr/bin/env node
// Writes docs/asyncapi.json from the built libs/protocol (run by `npm run docs:asyncapi`, after a build).
// A test (libs/protocol/test/asyncapi.test.ts) fails when the file and the generator disagree.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asyncapiDocument } from '../libs/protocol/dist/index.js';

const out = join(import.meta.dirname, '..', 'docs', 'asyncapi.json');
writeFileSync(out, `${JSON.stringify(asyncapiDocument(), null, 2)}\n`);
console.log(`wrote ${out}`);
