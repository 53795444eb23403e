// Parley browser client: the dialog list, one open dialog, a send form, over @parley/client (one
// WebSocket with the `bearer, <JWT>` sub-protocol, reconnect with backoff, resume with `sync`).
// Source of the page; `npm run build` bundles it with esbuild into ../app.js (scripts/build-page.mjs).
// The token lives in memory only (taken from `#token=` or the form; never the query string or
// storage). Every server string goes through textContent, except a message's `body`, which the server
// renders from markdown and sanitizes.
import { ParleyClient, randomId } from '@parley/client';

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'),
  total: $('total-unread'),
  tokenForm: $('token-form'),
  tokenInput: $('token-input'),
  dialogs: $('dialog-list'),
  title: $('dialog-title'),
  messages: $('messages'),
  sendForm: $('send-form'),
  sendBody: $('send-body'),
  toast: $('toast'),
  waiting: $('waiting'),
  waitingCount: $('waiting-count'),
  waitingList: $('waiting-list'),
};

let token = null;
let me = null;
/** the ParleyClient of the current token */
let api = null;
let toastTimer = null;
/** dialogs by id, in the order of the last load (newest activity first) */
let dialogs = [];
let openId = null;
/** staff users (PROTOCOL.md §9): the dialogs awaiting my reply, oldest first */
let waiting = [];

// ---- connection ---------------------------------------------------------------------------------

const STATUS = {
  connecting: 'connecting…',
  open: 'connected',
  reconnecting: 'reconnecting…',
  closed: 'offline',
};
/** a create is retried (same client_id, so never stored twice) after a retryable failure */
const CREATE_RETRY_MS = 2000;

function connect() {
  const client = new ParleyClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/`,
    token,
    requestTimeoutMs: 15_000,
  });
  api = client;
  client.on('state', (state) => api === client && setStatus(STATUS[state] ?? state));
  client.on('open', ({ reconnect }) => {
    // a resumed socket gets what it missed through `sync`; otherwise reload what is on screen
    if (reconnect && client.resumes) return;
    reload();
  });
  client.on('resync', reload);
  client.on('expired', () => {
    if (api !== client) return;
    token = null;
    setStatus('session expired');
    ui.tokenForm.hidden = false;
  });
  client.on('error', (err) => err.sentence && showToast(err.sentence));
  client.on('dialogs.messages.create', onMessage);
  client.on('dialogs.messages.seen', updateMessage);
  client.on('notifications.dialogs.count', setTotal);
  client.on('notifications.dialogs.messages.count', (c) => setUnread(c.dialog_id, c.count));
  client.on('notifications.dialogs.awaiting.count', onAwaiting);
  client.connect({ timeoutMs: 0 }).catch(ignore); // a page keeps trying until the gateway is back
}

function reload() {
  loadDialogs();
  request('notifications.dialogs.count', {}).then(setTotal, ignore);
  request('notifications.dialogs.awaiting.count', {}).then(onAwaiting, ignore);
  if (openId !== null) openDialog(openId);
}

/** A request through the client; an error answer is shown as a toast with its sentence, then rethrown. */
function request(event, params) {
  const client = api;
  if (!client) return Promise.reject(new Error('offline'));
  return client.request(event, params).catch((err) => {
    if (api === client && err.sentence) showToast(err.sentence);
    throw err;
  });
}

// ---- dialogs ------------------------------------------------------------------------------------

function loadDialogs() {
  request('dialogs.load', { limit: 100 }).then((list) => {
    dialogs = list;
    renderDialogs();
  }, ignore);
}

function renderDialogs() {
  const items = dialogs.map((d) => {
    const button = el('button', 'dialog');
    button.type = 'button';
    button.dataset.id = String(d.id);
    if (d.id === openId) button.classList.add('active');
    button.append(el('span', 'name', partyName(d)), el('span', 'preview', preview(d.last_message)));
    const badge = el('span', 'badge', String(d.unread_messages_count));
    badge.hidden = !d.unread_messages_count;
    button.append(badge);
    button.addEventListener('click', () => openDialog(d.id));
    const li = el('li');
    li.append(button);
    return li;
  });
  ui.dialogs.replaceChildren(...items);
}

function setUnread(dialogId, count) {
  const d = dialogs.find((x) => x.id === dialogId);
  if (!d) return loadDialogs();
  d.unread_messages_count = count;
  renderDialogs();
}

function setTotal(count) {
  ui.total.textContent = String(count);
  ui.total.classList.toggle('zero', !count);
}

// ---- waiting for my reply (reviewers, support, admins) ---------------------------------------------

/** the queue moved (a push or the answer to a request): show its count and reload it, oldest first */
function onAwaiting(state) {
  ui.waitingCount.textContent = String(state.count);
  // shown once the user has had something waiting (students never do)
  if (state.count > 0) ui.waiting.hidden = false;
  if (ui.waiting.hidden) return;
  request('dialogs.load', { filter: 'awaiting_reply', limit: 100 }).then((list) => {
    waiting = list;
    renderWaiting();
  }, ignore);
}

// the "waiting …" times age while the page is open
setInterval(() => waiting.length && renderWaiting(), 30_000);

function renderWaiting() {
  const items = waiting.map((d) => {
    const button = el('button', 'dialog');
    button.type = 'button';
    button.dataset.id = String(d.id);
    button.append(
      el('span', 'name', partyName(d)),
      el('span', 'since', `waiting ${waitedFor(d.awaiting_reply_since)}`),
    );
    button.addEventListener('click', () => openDialog(d.id));
    const li = el('li');
    li.append(button);
    return li;
  });
  ui.waitingList.replaceChildren(...items);
}

/** how long since `iso`, in the largest whole unit */
function waitedFor(iso) {
  const s = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return 'under a minute';
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

// ---- messages -----------------------------------------------------------------------------------

function openDialog(id) {
  openId = id;
  const d = dialogs.find((x) => x.id === id);
  ui.title.textContent = d ? partyName(d) : `Dialog ${id}`;
  ui.sendForm.hidden = false;
  renderDialogs();
  request('dialogs.messages.load', { dialog_id: id, limit: 50 }).then((list) => {
    if (openId !== id) return;
    ui.messages.replaceChildren(...list.map(renderMessage));
    scrollDown();
    const unread = list.filter((m) => m.user.id !== me && !m.date_read);
    if (unread.length) markSeen(unread[unread.length - 1]);
  }, ignore);
}

function onMessage(m) {
  const d = dialogs.find((x) => x.id === m.dialog);
  if (!d) return loadDialogs();
  d.last_message = m;
  dialogs = [d, ...dialogs.filter((x) => x !== d)];
  renderDialogs();
  if (m.dialog !== openId) return;
  appendMessage(m);
  if (m.user.id !== me && !m.date_read) markSeen(m);
}

function markSeen(m) {
  request('dialogs.messages.seen', { dialog_id: m.dialog, message_id: m.id, up_to: true }).then(
    updateMessage,
    ignore,
  );
}

function appendMessage(m) {
  if (ui.messages.querySelector(`[data-id="${m.id}"]`)) return updateMessage(m);
  ui.messages.append(renderMessage(m));
  scrollDown();
}

/** a seen message: the reader's tick on one's own messages */
function updateMessage(m) {
  if (m.dialog !== openId) return;
  const old = ui.messages.querySelector(`[data-id="${m.id}"]`);
  if (old) old.replaceWith(renderMessage(m));
}

function renderMessage(m) {
  const li = el('li', m.user.id === me ? 'msg mine' : 'msg');
  li.dataset.id = String(m.id);
  const meta = el('div', 'meta');
  meta.append(el('span', 'author', userName(m.user)), el('time', 'date', formatDate(m.date_created)));
  if (m.user.id === me) meta.append(el('span', 'read', m.date_read ? '✓✓' : '✓'));
  const body = el('div', 'body');
  body.innerHTML = m.body ?? ''; // sanitized by the server (PROTOCOL.md §3)
  li.append(meta, body);
  if (m.file?.url && /^https?:\/\//.test(m.file.url)) {
    const a = el('a', 'file', m.file.file_name || 'file');
    a.href = m.file.url;
    a.rel = 'noopener noreferrer';
    a.target = '_blank';
    li.append(a);
  }
  return li;
}

function sendCreate(params) {
  request('dialogs.messages.create', params).then(onMessage, (err) => {
    // unavailable, rate limited, internal, or no answer in time: the same client_id again, until it lands
    if (err.kind === 'timeout' || (err.kind === 'server' && err.retryable)) {
      setTimeout(() => api && sendCreate(params), CREATE_RETRY_MS);
    }
  });
}

// ---- page ---------------------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function userName(u) {
  if (!u || u.id === undefined) return 'nobody';
  return [u.first_name, u.last_name].filter(Boolean).join(' ') || u.email || `user ${u.id}`;
}

function partyName(d) {
  return userName(d.user);
}

function preview(m) {
  if (!m || m.id === null) return 'no messages yet';
  const text = (m.markdown_body ?? '').replace(/\s+/g, ' ').trim();
  return text.length > 60 ? `${text.slice(0, 60)}…` : text || (m.file ? 'file' : '');
}

function formatDate(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString();
}

function scrollDown() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function setStatus(text) {
  ui.status.textContent = text;
  ui.status.dataset.state = text === 'connected' ? 'up' : 'down';
}

function showToast(text) {
  ui.toast.textContent = text;
  ui.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    ui.toast.hidden = true;
  }, 6000);
}

function ignore() {}

/** the user id in the token's payload (display only: the server verifies the token) */
function userIdOf(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, '=')));
    return Number(claims.user_id ?? claims.sub);
  } catch {
    return null;
  }
}

function start(jwt) {
  api?.close();
  token = jwt;
  me = userIdOf(jwt);
  ui.tokenForm.hidden = true;
  connect();
}

ui.tokenForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const value = ui.tokenInput.value.trim();
  ui.tokenInput.value = '';
  if (value) start(value);
});

ui.sendForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const body = ui.sendBody.value;
  if (!body.trim() || openId === null) return;
  ui.sendBody.value = '';
  // queued by the client while offline, sent again on each new socket until answered
  sendCreate({ dialog_id: openId, body, client_id: randomId() });
});

ui.sendBody.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) ui.sendForm.requestSubmit();
});

const fromHash = /(?:^|&)token=([^&]+)/.exec(location.hash.slice(1));
if (fromHash) {
  // out of the address bar and history as soon as it is read
  history.replaceState(null, '', location.pathname + location.search);
  start(decodeURIComponent(fromHash[1]));
} else {
  ui.tokenForm.hidden = false;
}
