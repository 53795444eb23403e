/** The remote-content rewrite of message HTML (pure logic), checked by parsing its output with htmlparser2. */
import { describe, expect, test } from '@jest/globals';
import { DomUtils, parseDocument } from 'htmlparser2';
import { withoutRemoteContent } from '../src/templates/remote-content.js';

function parse(html: string) {
  const doc = parseDocument(html);
  return { doc, elements: DomUtils.findAll(() => true, doc.children) };
}

describe('withoutRemoteContent', () => {
  test('a body without anything that loads comes back unchanged, byte for byte', () => {
    const body = '<p>Привет &amp; <strong>bye</strong> <a href="https://x.test/?a=1&amp;b=2">l</a><br></p>';
    expect(withoutRemoteContent(body)).toBe(body);
  });

  test('http(s) images become links; other sources their alt text; nothing is left that loads', () => {
    const out = withoutRemoteContent(
      '<p><img src="https://t.example/p.gif" alt="pixel"><img src=" HTTP://t.example/x.png "><img src="data:image/png;base64,AAAA" alt="inline"><img src="/relative.png"></p>',
    );
    const { doc, elements } = parse(out);
    expect(elements.map((e) => e.name)).toEqual(['p', 'a', 'a']);
    expect(elements.slice(1).map((a) => [a.attribs.href, DomUtils.textContent(a), a.attribs.rel])).toEqual([
      ['https://t.example/p.gif', 'pixel', 'nofollow noopener noreferrer'],
      ['HTTP://t.example/x.png', 'HTTP://t.example/x.png', 'nofollow noopener noreferrer'],
    ]);
    expect(DomUtils.textContent(doc)).toBe('pixelHTTP://t.example/x.pnginline');
  });

  test('media elements, srcset, background and style url() go too; the text around them stays', () => {
    const out = withoutRemoteContent(
      '<table background="https://t.example/bg.png"><tr><td style="background:url(https://t.example/c.png)">cell</td></tr></table>' +
        '<picture><source srcset="https://t.example/a.webp"><img src="https://t.example/a.png" alt="pic"></picture>' +
        '<video src="https://t.example/v.mp4" poster="https://t.example/p.png">your client</video>' +
        '<span srcset="https://t.example/s.png" title="kept">span</span>',
    );
    const { elements } = parse(out);
    const loading = elements.filter(
      (e) =>
        ['img', 'image', 'source', 'video', 'audio', 'track'].includes(e.name) ||
        Object.keys(e.attribs).some((k) => ['src', 'srcset', 'background', 'poster', 'style'].includes(k)),
    );
    expect(loading).toEqual([]);
    const links = elements
      .filter((e) => e.name === 'a')
      .map((a) => [a.attribs.href, DomUtils.textContent(a)]);
    expect(links).toEqual([
      ['https://t.example/a.png', 'pic'],
      ['https://t.example/v.mp4', 'your client'],
    ]);
    expect(out).toContain('cell');
    expect(out).toContain('title="kept"');
  });

  test('alt text is text: markup in it is escaped, never parsed back into elements', () => {
    const out = withoutRemoteContent(
      '<img src="https://t.example/p.gif" alt="&lt;b onclick=x&gt;hi&lt;/b&gt;">',
    );
    const { elements } = parse(out);
    expect(elements.map((e) => e.name)).toEqual(['a']);
    expect(DomUtils.textContent(elements[0] as never)).toBe('<b onclick=x>hi</b>');
  });
});
