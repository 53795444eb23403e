/**
 * The plain-text fast path of renderMarkdown must give exactly what the full renderer (marked +
 * sanitize-html) gives: generated sources over an alphabet of the characters the fast path accepts,
 * mixed with markdown syntax and the line starts that open blocks, are rendered both ways and compared.
 * The fast path must also really be taken for plain sources (else the comparison proves nothing).
 */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { plainText, renderMarkdown, renderMarkdownFull } from '../src/markdown.js';

const PLAIN_CHARS = [
  ...'aZqwé中Жß09 7',
  ' ',
  ' ',
  '\n',
  '\n',
  ...',.;:?!\'"()->&',
  'w',
  'w',
  '\u0301',
  '²',
  'Ⅻ',
];
const MARKDOWN_CHARS = [
  ...'*_#`[]<>/@\t|~=+\\$%{}^',
  '\r',
  '\u00a0',
  '\u2028',
  '😀',
  'http://',
  'www.',
  '1. ',
  '- ',
  '    ',
  '  \n',
  '&amp;',
  '&#',
];

const fromChars = (chars: string[], maxLength: number) =>
  fc.array(fc.constantFrom(...chars), { maxLength }).map((a) => a.join(''));

const WORDS = [
  'hello',
  'world',
  "it's",
  '"quoted"',
  '(aside)',
  'a-b',
  'x > y',
  'Q&A',
  'tom & jerry',
  '2.',
  '3)',
  '1.5',
  'www.example.com',
  'note:',
  'end.',
  '-',
  '>',
  '&',
  '',
  ' ',
  '\n',
  '\n\n',
  '\n\n\n',
];
const sentences = fc
  .array(fc.constantFrom(...WORDS), { maxLength: 25 })
  .chain((words) =>
    fc
      .array(fc.constantFrom(' ', '', '\n'), { minLength: words.length, maxLength: words.length })
      .map((seps) => words.map((w, i) => w + seps[i]).join('')),
  );

const same = (source: string) => {
  expect(renderMarkdown(source)).toBe(renderMarkdownFull(source));
};

describe('renderMarkdown fast path for plain text', () => {
  test('plain-alphabet sources render exactly as with the full renderer, and most take the fast path', () => {
    let fast = 0;
    fc.assert(
      fc.property(fromChars(PLAIN_CHARS, 80), (source) => {
        if (plainText(source) !== undefined) fast++;
        same(source);
      }),
      { numRuns: 3_000 },
    );
    expect(fast).toBeGreaterThan(300);
  });

  test('sources mixing plain text with markdown syntax render exactly as with the full renderer', () => {
    fc.assert(fc.property(fromChars([...PLAIN_CHARS, ...MARKDOWN_CHARS], 80), same), { numRuns: 3_000 });
  });

  test('sentences of words, numbers, autolink-looking and block-opening tokens render exactly as with the full renderer', () => {
    let fast = 0;
    fc.assert(
      fc.property(sentences, (source) => {
        if (plainText(source) !== undefined) fast++;
        same(source);
      }),
      { numRuns: 3_000 },
    );
    expect(fast).toBeGreaterThan(100);
  });

  test('typical chat messages take the fast path; markdown never does', () => {
    for (const s of [
      'hello',
      'see you at 5, ok?',
      "it's done!\nthanks",
      'para one\n\npara two',
      'a > b & c',
    ]) {
      expect(plainText(s)).toBeDefined();
      same(s);
    }
    for (const s of [
      '**bold**',
      '- item',
      '1. first',
      '> quote',
      'www.example.com',
      'a  \nb',
      '    code',
      'a &amp; b',
      'x\n===',
      // a GFM table delimiter row without pipes (found by the property above)
      'a\n:-',
      'a\n:-:',
    ]) {
      expect(plainText(s)).toBeUndefined();
      same(s);
    }
    expect(renderMarkdown('a > b & c\n\nnew')).toBe('<p>a &gt; b &amp; c</p>\n<p>new</p>');
  });
});
