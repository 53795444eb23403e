/** The one table of what the dialogs service serves: every command of `rpcRequests`, one handler per file. */
import type { Handler, HandlerTable } from '@parley/bus';
import type { RpcCommand } from '@parley/protocol';
import type { DialogsContext } from '../context.js';
import { adminDialogsCreate } from './admin-dialogs-create.js';
import { adminDialogsList } from './admin-dialogs-list.js';
import { adminStatsResponseTimes } from './admin-stats-response-times.js';
import { adminUsersUpsert } from './admin-users-upsert.js';
import { awaitingCount } from './awaiting-count.js';
import { dialogsCount } from './dialogs-count.js';
import { dialogsLoad } from './dialogs-load.js';
import { filesCreate } from './files-create.js';
import { filesGet } from './files-get.js';
import { filesUsage } from './files-usage.js';
import { messagesCount } from './messages-count.js';
import { messagesCreate } from './messages-create.js';
import { messagesLoad } from './messages-load.js';
import { messagesSeen } from './messages-seen.js';
import { newMessage } from './new-message.js';
import { remindersDue } from './reminders-due.js';
import { searchId } from './search-id.js';
import { statusOnline } from './status-online.js';
import { usersContacts } from './users-contacts.js';
import { usersUpdateMe } from './users-update-me.js';
import { usersUpsertFromClaims } from './users-upsert-from-claims.js';

export type DialogsHandlers = { [C in RpcCommand]: Handler<C> };

export function buildHandlers(ctx: DialogsContext): DialogsHandlers & HandlerTable {
  return {
    'dialogs.load': dialogsLoad(ctx),
    'dialogs.messages.load': messagesLoad(ctx),
    'dialogs.messages.create': messagesCreate(ctx),
    'dialogs.messages.seen': messagesSeen(ctx),
    'notifications.dialogs.count': dialogsCount(ctx),
    'notifications.dialogs.messages.count': messagesCount(ctx),
    'notifications.dialogs.awaiting.count': awaitingCount(ctx),
    'users.status.online': statusOnline(),
    'dialogs.messages.search.id': searchId(ctx),
    'users.upsert_from_claims': usersUpsertFromClaims(ctx),
    'users.contacts': usersContacts(ctx),
    'users.update_me': usersUpdateMe(ctx),
    'dialogs.new_message': newMessage(ctx),
    'files.create': filesCreate(ctx),
    'files.get': filesGet(ctx),
    'files.usage': filesUsage(ctx),
    'admin.users.upsert': adminUsersUpsert(ctx),
    'admin.dialogs.create': adminDialogsCreate(ctx),
    'admin.dialogs.list': adminDialogsList(ctx),
    'admin.stats.response_times': adminStatsResponseTimes(ctx),
    'reminders.due': remindersDue(ctx),
  };
}
