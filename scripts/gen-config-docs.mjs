#!/usr/bin/env node
// Regenerates README.md's configuration table and .env.example from the
// services' config declarations (run `npm run build` first).
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigTable, renderEnvExample, spliceConfigTable } from '@parley/config';

const specs = {
  gateway: (await import('../services/gateway/dist/config.js')).gatewayConfigSpec,
  dialogs: (await import('../services/dialogs/dist/config.js')).dialogsConfigSpec,
  notifier: (await import('../services/notifier/dist/config.js')).notifierConfigSpec,
  mailer: (await import('../services/mailer/dist/config.js')).mailerConfigSpec,
};
writeFileSync('README.md', spliceConfigTable(readFileSync('README.md', 'utf8'), renderConfigTable(specs)));
writeFileSync('.env.example', renderEnvExample(specs));
console.log('README.md configuration table and .env.example regenerated');
