// Parley browser client: one WebSocket (`bearer, <JWT>` sub-protocol), the dialog list, one open
// dialog, a send form. Plain ES module, no build step. The token lives in memory only (taken from
// `#token=` or the form; never the query string or storage). Every server string goes through
// textContent, except a message's `body`, which the server renders from markdown and sanitizes.

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
};

const MAX_BACKOFF_MS = 15_000;
const CLOSE_TOKEN_EXPIRED = 4401;

let token = null;
let me = null;
let ws = null;
let seq = 0;
let retries = 0;
let retryTimer = null;
let toastTimer = null;
/** request_id → {resolve, reject} of frames waiting for their answer */
const pending = new Map();
/** client_id → create frame not answered yet: resent (same client_id) until answered */
const outbox = new Map();
/** dialogs by id, in the order of the last load (newest activity first) */
let dialogs = [];
let openId = null;

// ---- connection ---------------------------------------------------------------------------------

function connect() {
  clearTimeout(retryTimer);
  setStatus('connecting…');
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/`;
  const socket = new WebSocket(url, ['bearer', token]);
  ws = socket;
  socket.addEventListener('open', () => {
    retries = 0;
    setStatus('connected');
    loadDialogs();
    request({ event: 'notifications.dialogs.count' }).then(setTotal, ignore);
    if (openId !== null) openDialog(openId);
    for (const frame of outbox.values()) sendCreate(frame);
  });
  socket.addEventListener('message', (e) => onFrame(JSON.parse(e.data)));
  socket.addEventListener('close', (e) => {
    if (ws !== socket) return;
    ws = null;
    for (const p of pending.values()) p.reject(new Error('connection closed'));
    pending.clear();
    if (e.code === CLOSE_TOKEN_EXPIRED) {
      token = null;
      setStatus('session expired');
      ui.tokenForm.hidden = false;
      return;
    }
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** retries) * (0.5 + Math.random() / 2);
    retries += 1;
    setStatus(`reconnecting in ${Math.ceil(delay / 1000)} s`);
    retryTimer = setTimeout(connect, delay);
  });
}

/** Send a frame with a fresh request_id; resolves with the answer's `data`, rejects on an error frame. */
function request(frame) {
  if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('offline'));
  const request_id = `c${++seq}`;
  ws.send(JSON.stringify({ ...frame, request_id }));
  return new Promise((resolve, reject) => pending.set(request_id, { resolve, reject }));
}

function onFrame(f) {
  if (f.exception) showToast(String(f.data));
  const waiting = f.request_id !== undefined && pending.get(f.request_id);
  if (waiting) {
    pending.delete(f.request_id);
    if (f.exception) waiting.reject(Object.assign(new Error(f.error?.code ?? 'error'), { frame: f }));
    else waiting.resolve(f.data);
    return;
  }
  if (f.exception) return;
  switch (f.event) {
    case 'dialogs.messages.create':
      return onMessage(f.data);
    case 'dialogs.messages.seen':
      return updateMessage(f.data);
    case 'notifications.dialogs.count':
      return setTotal(f.data);
    case 'notifications.dialogs.messages.count':
      return setUnread(f.data.dialog_id, f.data.count);
  }
}

// ---- dialogs ------------------------------------------------------------------------------------

function loadDialogs() {
  request({ event: 'dialogs.load', limit: 100 }).then((list) => {
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

// ---- messages -----------------------------------------------------------------------------------

function openDialog(id) {
  openId = id;
  const d = dialogs.find((x) => x.id === id);
  ui.title.textContent = d ? partyName(d) : `Dialog ${id}`;
  ui.sendForm.hidden = false;
  renderDialogs();
  request({ event: 'dialogs.messages.load', dialog_id: id, limit: 50 }).then((list) => {
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
  request({ event: 'dialogs.messages.seen', dialog_id: m.dialog, message_id: m.id, up_to: true }).then(
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

function sendCreate(frame) {
  request(frame).then(
    (m) => {
      outbox.delete(frame.client_id);
      onMessage(m);
    },
    (err) => {
      const code = err.frame?.error?.code;
      if (code && code !== 'unavailable' && code !== 'rate_limited') outbox.delete(frame.client_id);
      else if (code) setTimeout(() => ws && outbox.has(frame.client_id) && sendCreate(frame), 2000);
      // no code: the socket closed; the outbox is resent once it reopens
    },
  );
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

function randomId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

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
  token = jwt;
  me = userIdOf(jwt);
  ui.tokenForm.hidden = true;
  retries = 0;
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
  const frame = { event: 'dialogs.messages.create', dialog_id: openId, body, client_id: randomId() };
  outbox.set(frame.client_id, frame);
  ui.sendBody.value = '';
  if (ws?.readyState === WebSocket.OPEN) sendCreate(frame);
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
