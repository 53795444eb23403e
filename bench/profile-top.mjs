#!/usr/bin/env node
// Top frames of V8 CPU profiles (`npm run bench` with BENCH_CPU_PROF=<dir> writes one per service):
// self time per function (name, file:line), summed over every profile in each <dir>/<service>/.
// Usage: node bench/profile-top.mjs <dir> [top=15]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, topArg] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node bench/profile-top.mjs <dir> [top]');
  process.exit(1);
}
const top = Number(topArg ?? 15);
for (const service of readdirSync(dir).sort()) {
  const self = new Map();
  let total = 0;
  for (const file of readdirSync(join(dir, service)).filter((f) => f.endsWith('.cpuprofile'))) {
    const prof = JSON.parse(readFileSync(join(dir, service, file), 'utf8'));
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const dt = prof.timeDeltas;
    prof.samples.forEach((id, i) => {
      const n = byId.get(id);
      const f = n.callFrame;
      const url = (f.url || '')
        .replace(/^file:\/\/.*\/node_modules\//, '')
        .replace(/^file:\/\/.*\/(services|libs)\//, '$1/');
      const key = `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
      const us = dt[i] ?? 0;
      self.set(key, (self.get(key) ?? 0) + us);
      total += us;
    });
  }
  const busy = [...self]
    .filter(([k]) => !/^\((idle|program|garbage collector)\)/.test(k))
    .reduce((a, [, v]) => a + v, 0);
  console.log(
    `\n## ${service}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (not idle)`,
  );
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1e3).toFixed(0).padStart(6)} ms  ${k}`,
    );
  }
}
