/** Markdown → sanitized HTML: what renders, and an XSS corpus of which nothing executable survives. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { caller } from '@parley/bus';
import { renderMarkdown } from '../src/markdown.js';
import { createDialog, createUser, type StartedDialogs, startDialogs } from './harness.js';
import { XSS } from './xss-corpus.js';

const ALLOWED_TAGS = new Set(
  'p br strong b em i del s code pre blockquote ul ol li a h1 h2 h3 h4 h5 h6 hr table thead tbody tr th td img input span'.split(
    ' ',
  ),
);
const URL_ATTRS = new Set([
  'href',
  'src',
  'srcset',
  'action',
  'formaction',
  'xlink:href',
  'background',
  'data',
]);

function decodeEntities(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);?/gi, (_, h: string) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&#(\d+);?/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&colon;/gi, ':')
    .replace(/&tab;/gi, '\t')
    .replace(/&newline;/gi, '\n')
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Every problem an HTML string has: tags off the allow-list, handlers, styles, dangerous URLs. */
function problems(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/<\s*([a-zA-Z][a-zA-Z0-9:-]*)([^>]*)>/g)) {
    const tag = m[1]!.toLowerCase();
    if (!ALLOWED_TAGS.has(tag)) out.push(`tag ${tag}`);
    for (const a of (m[2] ?? '').matchAll(/([^\s="'/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
      const name = a[1]!.toLowerCase();
      const value = a[2] ?? a[3] ?? a[4] ?? '';
      if (name.startsWith('on')) out.push(`handler ${name}`);
      if (name === 'style') out.push('style attribute');
      if (URL_ATTRS.has(name)) {
        // browsers ignore whitespace and control characters inside a scheme
        const url = [...decodeEntities(value)]
          .filter((c) => {
            const code = c.codePointAt(0)!;
            return code > 0x20 && (code < 0x7f || code > 0x9f);
          })
          .join('')
          .toLowerCase();
        if (/^(javascript|data|vbscript):/.test(url)) out.push(`${name}=${url}`);
        const scheme = /^([a-z][a-z0-9+.-]*):/.exec(url)?.[1];
        if (scheme && !['http', 'https', 'mailto'].includes(scheme)) out.push(`${name} scheme ${scheme}`);
      }
    }
  }
  if (/<\s*(script|style|iframe|object|embed|form|svg|math|base|meta|link)\b/i.test(html))
    out.push('forbidden tag text');
  return out;
}

describe('the XSS corpus', () => {
  test('has at least 50 payloads and the checker catches raw ones', () => {
    expect(XSS.length).toBeGreaterThanOrEqual(50);
    expect(problems('<a href="java&#x09;script:x" onclick="y">x</a><script></script>')).toEqual(
      expect.arrayContaining(['handler onclick', 'tag script']),
    );
    expect(problems('<a href="java&#x09;script:x">x</a>')).toContain('href=javascript:x');
  });

  test.each(XSS.map((p, i) => [i, p]))('payload %i leaves nothing executable', (_i, payload) => {
    const html = renderMarkdown(payload as string);
    expect({ payload, html, problems: problems(html) }).toEqual({ payload, html, problems: [] });
  });
});

describe('what renders', () => {
  test('paragraphs, kept line breaks, emphasis, code with a language class, lists, quotes', () => {
    expect(renderMarkdown('a\nb')).toBe('<p>a<br />b</p>');
    expect(renderMarkdown('**b** _i_ ~~s~~ `c`')).toBe(
      '<p><strong>b</strong> <em>i</em> <del>s</del> <code>c</code></p>',
    );
    expect(renderMarkdown('```js\nconst x = 1 < 2;\n```')).toBe(
      '<pre><code class="language-js">const x = 1 &lt; 2;\n</code></pre>',
    );
    expect(renderMarkdown('- a\n- b')).toBe('<ul>\n<li>a</li>\n<li>b</li>\n</ul>');
    expect(renderMarkdown('3. c\n4. d')).toContain('<ol start="3">');
    expect(renderMarkdown('> q')).toBe('<blockquote>\n<p>q</p>\n</blockquote>');
  });

  test('links keep http(s)/mailto and get rel and target; GFM autolinks and tables work', () => {
    expect(renderMarkdown('[x](https://example.com/a?b=1)')).toBe(
      '<p><a href="https://example.com/a?b=1" rel="nofollow noopener noreferrer" target="_blank">x</a></p>',
    );
    expect(renderMarkdown('see www.example.com')).toContain('href="http://www.example.com"');
    expect(renderMarkdown('<mail@example.com>')).toContain('href="mailto:mail@example.com"');
    const table = renderMarkdown('| a | b |\n|:--|--:|\n| 1 | 2 |');
    expect(table).toContain('<th align="left">a</th>');
    expect(table).toContain('<td align="right">2</td>');
    expect(renderMarkdown('- [x] done\n- [ ] todo')).toBe(
      '<ul>\n<li><input type="checkbox" disabled checked /> done</li>\n<li><input type="checkbox" disabled /> todo</li>\n</ul>',
    );
  });

  test('unicode survives; raw HTML text is escaped, not dropped', () => {
    expect(renderMarkdown('Привет 👋🏽 مرحبا')).toBe('<p>Привет 👋🏽 مرحبا</p>');
    expect(renderMarkdown('`<b>` and 1 < 2')).toBe('<p><code>&lt;b&gt;</code> and 1 &lt; 2</p>');
    expect(renderMarkdown('')).toBe('');
  });
});

describe('through the service', () => {
  let h: StartedDialogs;
  beforeAll(async () => {
    h = await startDialogs();
    await createUser(h.rpc, 1);
    await createUser(h.rpc, 2);
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('the stored HTML is sanitized, the markdown source kept as sent, both in utf8mb4', async () => {
    const d = await createDialog(h.rpc, [1, 2]);
    const body = 'hi 🦄 <img src=x onerror=alert(1)> [x](javascript:alert(1))';
    const { data } = await h.rpc.request('dialogs.messages.create', {
      caller: caller(1),
      params: { dialog_id: d.id, body },
    });
    expect(data.markdown_body).toBe(body);
    expect(problems(data.body)).toEqual([]);
    const page = await h.rpc.request('dialogs.messages.load', {
      caller: caller(2),
      params: { dialog_id: d.id },
    });
    expect(page.data[0]).toMatchObject({ body: data.body, markdown_body: body });
  });
});
