/**
 * The XSS corpus through the real service (NATS + MariaDB): every payload is
 * created as a message, read back with `dialogs.messages.load`, and each stored
 * `body` is parsed by a real HTML parser (htmlparser2, the one sanitize-html
 * itself uses) — no regular expressions over HTML. What a browser would treat
 * as markup must be on the allow-list: no script/style/frame/object/embed/
 * base/meta/form (or any tag outside the list), no `on*`, `style`, `srcdoc`,
 * `formaction` attributes, and every URL attribute relative or http(s)/mailto.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { caller } from '@parley/bus';
import type { MessageDto } from '@parley/protocol';
import { Parser } from 'htmlparser2';
import { createDialog, createUser, type StartedDialogs, startDialogs } from './harness.js';
import { XSS } from './xss-corpus.js';

const ALLOWED_TAGS = new Set(
  'p br strong b em i del s code pre blockquote ul ol li a h1 h2 h3 h4 h5 h6 hr table thead tbody tr th td img input span'.split(
    ' ',
  ),
);
const FORBIDDEN_TAGS = ['script', 'style', 'iframe', 'object', 'embed', 'base', 'meta', 'form'];
const FORBIDDEN_ATTRS = new Set(['srcdoc', 'formaction', 'style']);
const URL_ATTRS = new Set([
  'href',
  'src',
  'srcset',
  'action',
  'formaction',
  'xlink:href',
  'background',
  'data',
  'poster',
  'cite',
]);
const SCHEMES = new Set(['http', 'https', 'mailto']);

/** The scheme a browser would see: leading C0/space stripped, tab/CR/LF removed anywhere (URL standard). */
function schemeOf(url: string): string | null {
  let start = 0;
  while (start < url.length && url.charCodeAt(start) <= 0x20) start++;
  const cleaned = url.slice(start).replace(/[\t\n\r]/g, '');
  return /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(cleaned)?.[1]?.toLowerCase() ?? null;
}

/** Every problem the parsed HTML has (attribute values arrive entity-decoded from the parser). */
function problems(html: string): string[] {
  const out: string[] = [];
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (FORBIDDEN_TAGS.includes(name)) out.push(`forbidden element <${name}>`);
        else if (!ALLOWED_TAGS.has(name)) out.push(`element <${name}> off the allow-list`);
        for (const [attr, value] of Object.entries(attribs)) {
          if (attr.startsWith('on')) out.push(`handler ${attr} on <${name}>`);
          if (FORBIDDEN_ATTRS.has(attr)) out.push(`attribute ${attr} on <${name}>`);
          if (URL_ATTRS.has(attr)) {
            const scheme = schemeOf(value);
            if (scheme !== null && !SCHEMES.has(scheme)) out.push(`${attr} scheme ${scheme}: on <${name}>`);
          }
        }
      },
      oncomment() {
        out.push('comment');
      },
      oncdatastart() {
        out.push('CDATA section');
      },
      onprocessinginstruction(name) {
        out.push(`processing instruction ${name}`);
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  return out;
}

describe('the checker', () => {
  test('finds what it looks for in raw HTML (so a clean answer means something)', () => {
    expect(problems('<script>x</script><style></style><iframe srcdoc="x"></iframe>')).toEqual(
      expect.arrayContaining([
        'forbidden element <script>',
        'forbidden element <style>',
        'forbidden element <iframe>',
        'attribute srcdoc on <iframe>',
      ]),
    );
    expect(problems('<a href="&#x6A;ava&#x09;script:x" onclick="y" style="z">x</a>').sort()).toEqual([
      'attribute style on <a>',
      'handler onclick on <a>',
      'href scheme javascript: on <a>',
    ]);
    expect(problems('<img src=" \u0001DATA:image/png,x">')).toEqual(['src scheme data: on <img>']);
    expect(problems('<button formaction="vbscript:x"></button>')).toEqual([
      'element <button> off the allow-list',
      'attribute formaction on <button>',
      'formaction scheme vbscript: on <button>',
    ]);
    expect(problems('<base href="/"><meta http-equiv="refresh"><form></form><!-- c -->')).toEqual([
      'forbidden element <base>',
      'forbidden element <meta>',
      'forbidden element <form>',
      'comment',
    ]);
    expect(
      problems(
        '<p><a href="https://x.example/a?javascript:1" rel="nofollow noopener noreferrer" target="_blank">ok</a> <a href="/rel">r</a> <a href="mailto:a@b.c">m</a> <img src="http://x/a.png" alt="i" /></p>',
      ),
    ).toEqual([]);
  });
});

describe('every corpus payload, stored and loaded through the service', () => {
  let h: StartedDialogs;
  let dialogId: number;
  const created = new Map<number, { payload: string; answer: MessageDto }>();

  beforeAll(async () => {
    h = await startDialogs();
    await createUser(h.rpc, 1);
    await createUser(h.rpc, 2);
    dialogId = (await createDialog(h.rpc, [1, 2])).id;
    for (const payload of XSS) {
      const { data } = await h.rpc.request('dialogs.messages.create', {
        caller: caller(1),
        params: { dialog_id: dialogId, body: payload },
      });
      created.set(data.id, { payload, answer: data });
    }
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('the corpus has at least 60 distinct payloads and every one was stored', () => {
    expect(XSS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(XSS).size).toBe(XSS.length);
    expect(created.size).toBe(XSS.length);
  });

  test('the loaded bodies hold nothing executable, and equal what create answered', async () => {
    const loaded: MessageDto[] = [];
    for (let offset = 0; offset < XSS.length; offset += 100) {
      const page = await h.rpc.request('dialogs.messages.load', {
        caller: caller(2),
        params: { dialog_id: dialogId, limit: 100, offset },
      });
      loaded.unshift(...page.data);
    }
    expect(loaded.map((m) => m.id).sort((a, b) => a - b)).toEqual([...created.keys()].sort((a, b) => a - b));
    const found = loaded
      .map((m) => ({ payload: created.get(m.id)!.payload, body: m.body, problems: problems(m.body) }))
      .filter((r) => r.problems.length > 0);
    expect(found).toEqual([]);
    for (const m of loaded) {
      expect(m.body).toBe(created.get(m.id)!.answer.body);
      expect(m.markdown_body).toBe(created.get(m.id)!.payload);
    }
  });

  test('safe parts survive: an https link keeps its href with rel and target, text is kept as text', async () => {
    const byPayload = new Map([...created.values()].map((c) => [c.payload, c.answer.body]));
    expect(byPayload.get('<a href="https://ok.example" onmouseover="alert(1)">ok</a>')).toBe(
      '<p><a href="https://ok.example" rel="nofollow noopener noreferrer" target="_blank">ok</a></p>',
    );
    expect(byPayload.get('"><script>alert(1)</script>')).toBe('<p>"&gt;</p>');
  });
});
