/**
 * "New message from …" (PROTOCOL.md §6): one message; several of one dialog
 * held by MAIL_DELAY_SECONDS; or the digest of what went over the hourly cap
 * (several dialogs and authors: each message then gets its own answer link).
 */
import type { Locale } from '@parley/protocol';
import { escapeHtml, safeMessageHtml } from './html.js';
import { layout } from './layout.js';

export interface MailItem {
  message_id: number;
  dialog_id: number;
  author: { first_name: string; last_name: string; email: string };
  /** sanitized HTML of the message */
  body: string;
  /** markdown source, for the text part */
  text: string;
  file: { name: string; url: string } | null;
  date_created: string;
}

export interface NewMessageContext {
  locale: Locale;
  timeZone: string;
  items: MailItem[];
  /** where to answer in a dialog (APP_URL/dialogs/<id>) */
  answerUrl: (dialogId: number) => string;
  unsubscribeUrl: string;
}

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

const words = {
  ru: {
    one: (name: string) => `Новое сообщение от ${name}`,
    many: (name: string, n: number) => `Новые сообщения (${n}) от ${name}`,
    digest: (n: number) => `Новые сообщения (${n})`,
    answer: 'Ответить',
    file: 'Файл',
    footer: 'Вы получили это письмо, потому что включили уведомления о новых сообщениях.',
    unsubscribe: 'Отключить уведомления',
  },
  en: {
    one: (name: string) => `New message from ${name}`,
    many: (name: string, n: number) => `New messages (${n}) from ${name}`,
    digest: (n: number) => `New messages (${n})`,
    answer: 'Reply',
    file: 'File',
    footer: 'You get this e-mail because notifications about new messages are on.',
    unsubscribe: 'Turn notifications off',
  },
} as const;

export function authorName(a: MailItem['author']): string {
  return `${a.first_name} ${a.last_name}`.trim() || a.email;
}

export function renderNewMessage(ctx: NewMessageContext): RenderedMail {
  const w = words[ctx.locale];
  const last = ctx.items.at(-1);
  if (!last) throw new Error('an e-mail needs at least one message');
  const name = authorName(last.author);
  const authors = new Set(ctx.items.map((it) => authorName(it.author)));
  const dialogs = [...new Set(ctx.items.map((it) => it.dialog_id))];
  const subject =
    ctx.items.length === 1
      ? w.one(name)
      : authors.size === 1
        ? w.many(name, ctx.items.length)
        : w.digest(ctx.items.length);
  const perItemLinks = dialogs.length > 1;
  const when = new Intl.DateTimeFormat(ctx.locale, {
    timeZone: ctx.timeZone,
    dateStyle: 'medium',
    timeStyle: 'short',
  });
  const date = (iso: string) => {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? '' : when.format(d);
  };

  const blocks = ctx.items.map((it) => {
    const file = it.file
      ? `<p style="margin:8px 0 0">${w.file}: <a href="${escapeHtml(it.file.url)}">${escapeHtml(it.file.name)}</a></p>`
      : '';
    const answer = perItemLinks
      ? `<p style="margin:8px 0 0"><a href="${escapeHtml(ctx.answerUrl(it.dialog_id))}">${w.answer}</a></p>`
      : '';
    return `<div style="margin:0 0 16px;padding:12px 16px;border-left:3px solid #0969da;background:#f6f8fa">
<p style="margin:0 0 8px;font-size:13px;color:#656d76"><strong>${escapeHtml(authorName(it.author))}</strong> · ${escapeHtml(date(it.date_created))}</p>
${safeMessageHtml(it.body, it.text)}${file}${answer}
</div>`;
  });
  const mainAnswer = ctx.answerUrl(last.dialog_id);
  const content = `<h1 style="margin:0 0 16px;font-size:20px">${escapeHtml(subject)}</h1>
${blocks.join('\n')}
<p style="margin:24px 0 0"><a href="${escapeHtml(mainAnswer)}" style="display:inline-block;padding:10px 20px;background:#0969da;color:#ffffff;text-decoration:none;border-radius:6px">${w.answer}</a></p>`;
  const footer = `${w.footer} <a href="${escapeHtml(ctx.unsubscribeUrl)}" style="color:#656d76">${w.unsubscribe}</a>`;
  const html = layout({ lang: ctx.locale, title: subject, content, footer });

  const textBlocks = ctx.items.map((it) => {
    const head = `${authorName(it.author)}, ${date(it.date_created)}`;
    const file = it.file ? `\n${w.file}: ${it.file.name} — ${it.file.url}` : '';
    const answer = perItemLinks ? `\n${w.answer}: ${ctx.answerUrl(it.dialog_id)}` : '';
    return `${head}\n${it.text}${file}${answer}`;
  });
  const text = `${subject}\n\n${textBlocks.join('\n\n---\n\n')}\n\n${w.answer}: ${mainAnswer}\n\n${w.footer}\n${w.unsubscribe}: ${ctx.unsubscribeUrl}\n`;
  return { subject, html, text };
}
