/**
 * No remote content in an e-mail (issue 8). An image from a message body
 * would be fetched from its server when the e-mail is opened — a tracking
 * pixel telling whoever placed it who read the e-mail, when and where. In the
 * HTML part an `<img>` with an http(s) source becomes a link to it, labelled
 * with its alt text (or the URL when there is none); one with any other
 * source becomes its alt text. Media elements and other attributes that load
 * something (srcset, background, poster, `url(…)` in a style) go as well.
 * Parsed with htmlparser2 (never regexes over markup) and serialized as UTF-8.
 */
import { type AnyNode, Element, Text } from 'domhandler';
import { DomUtils, parseDocument } from 'htmlparser2';

/** cheap pre-check: most message bodies hold nothing that loads, and are returned as they are */
const MAYBE_REMOTE =
  /<\s*(img|image|picture|source|video|audio|track)\b|\s(src|srcset|background|poster|lowsrc|dynsrc)\s*=|url\s*\(|image-set\s*\(/i;
const LOADING_ATTRS = ['src', 'srcset', 'background', 'poster', 'lowsrc', 'dynsrc'];
const STYLE_LOADS = /url\s*\(|image-set\s*\(|@import/i;
const LINK_REL = 'nofollow noopener noreferrer';

function remoteUrl(src: string | undefined): string | null {
  const url = src?.trim() ?? '';
  return /^https?:\/\/[^\s]+$/i.test(url) ? url : null;
}

/** `<a href=url>label</a>`, or the label alone when there is no http(s) URL; null when both are empty. */
function linkOrText(url: string | null, label: string): AnyNode | null {
  const text = label.trim() || url || '';
  if (!text) return null;
  if (!url) return new Text(text);
  return new Element('a', { href: url, rel: LINK_REL, target: '_blank' }, [new Text(text)]);
}

function replace(el: Element, by: AnyNode | null): void {
  if (by) DomUtils.replaceElement(el, by);
  else DomUtils.removeElement(el);
}

export function withoutRemoteContent(html: string): string {
  if (!MAYBE_REMOTE.test(html)) return html;
  const doc = parseDocument(html);
  // a static list: replacing an element leaves the rest of the list valid (detached children are harmless)
  for (const el of DomUtils.findAll(() => true, doc.children)) {
    switch (el.name) {
      case 'img':
      case 'image':
        replace(el, linkOrText(remoteUrl(el.attribs.src), el.attribs.alt ?? el.attribs.title ?? ''));
        break;
      case 'video':
      case 'audio':
        replace(el, linkOrText(remoteUrl(el.attribs.src), DomUtils.textContent(el)));
        break;
      case 'source':
      case 'track':
        DomUtils.removeElement(el);
        break;
      default:
        for (const a of LOADING_ATTRS) delete el.attribs[a];
        if (el.attribs.style && STYLE_LOADS.test(el.attribs.style)) delete el.attribs.style;
    }
  }
  return DomUtils.getOuterHTML(doc.children, { encodeEntities: 'utf8' });
}
