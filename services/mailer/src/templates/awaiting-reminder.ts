/**
 * The daily reminder (PROTOCOL.md §9): the dialogs that have awaited the reviewer's reply longer
 * than REMIND_AFTER_HOURS, oldest first, each with a link to answer; ru and en.
 */
import type { Locale } from '@parley/protocol';
import { escapeHtml } from './html.js';
import { layout } from './layout.js';
import type { RenderedMail } from './new-message.js';

export interface AwaitingReminderContext {
  locale: Locale;
  timeZone: string;
  /** oldest first */
  dialogs: { dialog_id: number; awaiting_since: string; with: string }[];
  /** how many await in all (more than listed when the list was cut) */
  total: number;
  answerUrl: (dialogId: number) => string;
  unsubscribeUrl: string;
}

/** ru plural of "диалог" */
function dialogsRu(n: number): string {
  const d10 = n % 10;
  const d100 = n % 100;
  if (d10 === 1 && d100 !== 11) return `${n} диалог`;
  if (d10 >= 2 && d10 <= 4 && (d100 < 12 || d100 > 14)) return `${n} диалога`;
  return `${n} диалогов`;
}

const words = {
  ru: {
    subject: (n: number) => `Ждут вашего ответа: ${dialogsRu(n)}`,
    since: 'ждёт с',
    answer: 'Ответить',
    more: (n: number) => `и ещё ${n}`,
    dialog: (id: number) => `Диалог ${id}`,
    footer: 'Вы получили это письмо, потому что включили уведомления.',
    unsubscribe: 'Отключить уведомления',
  },
  en: {
    subject: (n: number) => `Awaiting your reply: ${n} dialog${n === 1 ? '' : 's'}`,
    since: 'waiting since',
    answer: 'Reply',
    more: (n: number) => `and ${n} more`,
    dialog: (id: number) => `Dialog ${id}`,
    footer: 'You get this e-mail because notifications are on.',
    unsubscribe: 'Turn notifications off',
  },
} as const;

export function renderAwaitingReminder(ctx: AwaitingReminderContext): RenderedMail {
  const w = words[ctx.locale];
  const subject = w.subject(ctx.total);
  const when = new Intl.DateTimeFormat(ctx.locale, {
    timeZone: ctx.timeZone,
    dateStyle: 'medium',
    timeStyle: 'short',
  });
  const date = (iso: string) => {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? '' : when.format(d);
  };
  const name = (d: AwaitingReminderContext['dialogs'][number]) => d.with || w.dialog(d.dialog_id);
  const rest = ctx.total - ctx.dialogs.length;
  const items = ctx.dialogs.map(
    (d) =>
      `<li style="margin:0 0 8px"><a href="${escapeHtml(ctx.answerUrl(d.dialog_id))}">${escapeHtml(name(d))}</a> — ${w.since} ${escapeHtml(date(d.awaiting_since))}</li>`,
  );
  if (rest > 0) items.push(`<li style="margin:0 0 8px">${escapeHtml(w.more(rest))}</li>`);
  const content = `<h1 style="margin:0 0 16px;font-size:20px">${escapeHtml(subject)}</h1>
<ol style="margin:0;padding:0 0 0 20px">
${items.join('\n')}
</ol>`;
  const footer = `${w.footer} <a href="${escapeHtml(ctx.unsubscribeUrl)}" style="color:#656d76">${w.unsubscribe}</a>`;
  const html = layout({ lang: ctx.locale, title: subject, content, footer });
  const lines = ctx.dialogs.map(
    (d, i) =>
      `${i + 1}. ${name(d)} — ${w.since} ${date(d.awaiting_since)}\n   ${w.answer}: ${ctx.answerUrl(d.dialog_id)}`,
  );
  if (rest > 0) lines.push(w.more(rest));
  const text = `${subject}\n\n${lines.join('\n')}\n\n${w.footer}\n${w.unsubscribe}: ${ctx.unsubscribeUrl}\n`;
  return { subject, html, text };
}
