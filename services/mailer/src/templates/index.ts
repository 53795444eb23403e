/** The typed list of e-mail templates: a name → the context it needs. */
import { type AwaitingReminderContext, renderAwaitingReminder } from './awaiting-reminder.js';
import { type NewMessageContext, type RenderedMail, renderNewMessage } from './new-message.js';

export type { MailItem, NewMessageContext, RenderedMail } from './new-message.js';

export const templates = {
  'new-message': renderNewMessage,
  'awaiting-reminder': renderAwaitingReminder,
} satisfies Record<string, (ctx: never) => RenderedMail>;

export interface TemplateContexts {
  'new-message': NewMessageContext;
  'awaiting-reminder': AwaitingReminderContext;
}

export type TemplateName = keyof typeof templates;

export function render<T extends TemplateName>(name: T, ctx: TemplateContexts[T]): RenderedMail {
  return (templates[name] as (c: TemplateContexts[T]) => RenderedMail)(ctx);
}
