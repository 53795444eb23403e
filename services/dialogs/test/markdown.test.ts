/** Markdown → sanitized HTML: what renders, and an XSS corpus of which nothing executable survives. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { caller } from '@parley/bus';
import { renderMarkdown } from '../src/markdown.js';
import { createDialog, createUser, type StartedDialogs, startDialogs } from './harness.js';

const XSS: string[] = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<svg onload=alert(1)>',
  '<iframe src="javascript:alert(1)"></iframe>',
  '[click](javascript:alert(1))',
  '[click](JaVaScRiPt:alert(1))',
  '[click](javascript&#58;alert(1))',
  '[click](&#106;avascript:alert(1))',
  '<a href="javascript:alert(1)">x</a>',
  '<a href="  javascript:alert(1)">x</a>',
  '<a href="java\tscript:alert(1)">x</a>',
  '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
  '![x](javascript:alert(1))',
  '![x](data:image/svg+xml;base64,PHN2Zz4=)',
  '<img src="data:image/png;base64,AAAA">',
  '<a href="vbscript:msgbox(1)">x</a>',
  '<body onload=alert(1)>',
  '<div style="background:url(javascript:alert(1))">x</div>',
  '<style>body{background:red}</style>',
  '<object data="javascript:alert(1)"></object>',
  '<embed src="javascript:alert(1)">',
  '<form action="javascript:alert(1)"><input type=submit></form>',
  '<input autofocus onfocus=alert(1)>',
  '<details open ontoggle=alert(1)>',
  '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>',
  '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:alert(1)">x</a>',
  '[a](<javascript:alert(1)>)',
  '<marquee onstart=alert(1)>',
  '<video><source onerror=alert(1)></video>',
  '<audio src=x onerror=alert(1)>',
  '<base href="javascript:alert(1)//">',
  '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
  '<link rel=stylesheet href="javascript:alert(1)">',
  '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
  '<a href="#" onclick="alert(1)">x</a>',
  '<scr<script>ipt>alert(1)</script>',
  '<<script>script>alert(1)<</script>/script>',
  '<img """><script>alert(1)</script>">',
  '<IMG SRC="jav&#x0A;ascript:alert(1);">',
  '<a href="javas&#99;ript:alert(1)">x</a>',
  '[x](javascript://%0aalert(1))',
  '<svg><script>alert(1)</script></svg>',
  '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
  '<textarea><script>alert(1)</script></textarea>',
  '<a href="data:text/html,<script>alert(1)</script>">x</a>',
  '<img srcset="javascript:alert(1)">',
  '<a xlink:href="javascript:alert(1)">x</a>',
  '<button formaction="javascript:alert(1)">x</button>',
  '<isindex action="javascript:alert(1)" type=image>',
  '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></object>',
  '<a href="https://ok.example" onmouseover="alert(1)">ok</a>',
  '<img src="https://ok.example/a.png" onload="alert(1)">',
  '<frameset onload=alert(1)>',
  '<template><script>alert(1)</script></template>',
  '[x](vbscript:msgbox(1))',
  '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
  '<p onclick="alert(1)">x</p>',
  '<span style="x:expression(alert(1))">x</span>',
  '<a href="jav&#x09;ascript:alert(1)">x</a>',
  '[x](  javascript:alert(1)  "title")',
  '<a href="\u0001javascript:alert(1)">x</a>',
  '> <img src=x onerror=alert(1)>\n> quoted',
  '- item <script>alert(1)</script>\n- [l](javascript:alert(1))',
  '| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |',
  '<a href="https://ok.example/?q=javascript:alert(1)">fine</a>',
  '<div><iframe srcdoc="<script>alert(1)</script>"></iframe></div>',
  '<a href=javascript&colon;alert(1)>x</a>',
  '<code onclick="alert(1)" class="language-js evil">x</code>',
];

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
