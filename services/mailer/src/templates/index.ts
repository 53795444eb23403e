/** The typed list of e-mail templates: a name → the context it needs. */
import { type NewMessageContext, type RenderedMail, renderNewMessage } from './new-message.js';

export type { MailItem, NewMessageContext, RenderedMail } from './new-message.js';

export const templates = {
  'new-message': renderNewMessage,
} satisfies Record<string, (ctx: never) => RenderedMail>;

export interface TemplateContexts {
  'new-message': NewMessageContext;
}

export type TemplateName = keyof typeof templates;

export function render<T extends TemplateName>(name: T, ctx: TemplateContexts[T]): RenderedMail {
  return templates[name](ctx);
}
