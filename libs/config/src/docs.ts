/**
 * The README's configuration table and `.env.example`, rendered from the
 * declarations, so that the docs cannot drift (a test compares them).
 */
import type { ConfigSpec } from './define.js';

type Specs = Record<string, ConfigSpec>;

function merged(specs: Specs) {
  const vars = new Map<string, { doc: string; default: string; services: string[] }>();
  for (const [service, spec] of Object.entries(specs)) {
    for (const [name, v] of Object.entries(spec)) {
      const row = vars.get(name);
      if (row) row.services.push(service);
      else {
        const def =
          v.default !== undefined && v.default !== '-'
            ? v.default
            : v.devDefault !== undefined
              ? '(development default, with a warning)'
              : v.default === '-'
                ? '(unset)'
                : '(required)';
        vars.set(name, { doc: v.doc, default: def, services: [service] });
      }
    }
  }
  return [...vars.entries()].sort(([a], [b]) => a.localeCompare(b));
}

export function renderConfigTable(specs: Specs): string {
  const lines = ['| variable | services | meaning | default |', '|---|---|---|---|'];
  for (const [name, v] of merged(specs)) {
    lines.push(
      `| \`${name}\` | ${v.services.join(', ')} | ${v.doc.replace(/\|/g, '\\|')} | ${v.default.replace(/\|/g, '\\|')} |`,
    );
  }
  return lines.join('\n');
}

export function renderEnvExample(specs: Specs): string {
  const out = [
    '# Every variable the services read, with its default (generated from their config.ts declarations).',
  ];
  for (const [name, v] of merged(specs)) {
    out.push(`# ${v.doc} [${v.services.join(', ')}]`);
    // a default written in the code is no secret; a secret without one is left for the operator to fill
    const value = v.default.startsWith('(') ? '' : v.default;
    out.push(`${name}=${value}`);
  }
  return `${out.join('\n')}\n`;
}

/** Replace the text between `<!-- config:start -->` and `<!-- config:end -->`. */
export function spliceConfigTable(readme: string, table: string): string {
  return readme.replace(
    /<!-- config:start -->[\s\S]*?<!-- config:end -->/,
    () => `<!-- config:start -->\n${table}\n<!-- config:end -->`,
  );
}
