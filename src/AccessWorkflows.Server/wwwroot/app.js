// AccessWorkflows console: one page over the HTTP API (SPEC 8) and the page's own /console/* helpers.
// Lists are updated in place (keyed by request id), never rebuilt, so focus, typed comments and scroll position
// survive the refresh every few seconds.
'use strict';

const REFRESH_MS = 2000;
const $ = id => document.getElementById(id);

const state = {
  me: null,            // { email, admin, auditor, approver, development, people }
  user: null,          // the Development user (X-Dev-User)
  jwt: false,          // a Jwt server: calls carry the signed-in person's access token (signin.js)
  live: false,         // a server-sent event stream is open (live.js): no polling then
  view: 'mine',
  detailId: null,
  pages: [null],       // continuation tokens of the admin list: pages[i] opens page i
  pageIndex: 0,
  nextToken: null,
  accounts: new Map(), // id -> name
  refreshing: false,
  offline: false,
};

// ---------- formatting ----------

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
});

function formatTime(iso) {
  return iso ? dateTime.format(new Date(iso)) : '';
}

/** ISO 8601 (PT1H30M, P1D) to seconds; null when it is not a duration. */
function isoSeconds(iso) {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(iso || '');
  if (!m || iso === 'P' || iso.endsWith('T')) return null;
  return (+(m[1] || 0)) * 86400 + (+(m[2] || 0)) * 3600 + (+(m[3] || 0)) * 60 + Math.round(+(m[4] || 0));
}

/** What people type (30m, 2h, 1d, 90s, "1h 30m") or ISO 8601, to seconds; null when neither. */
function parseDuration(text) {
  const t = (text || '').trim();
  if (!t) return null;
  if (/^p/i.test(t)) return isoSeconds(t.toUpperCase());
  const parts = t.toLowerCase().split(/\s+/);
  let total = 0;
  for (const part of parts) {
    const m = /^(\d{1,6})(s|m|h|d)$/.exec(part);
    if (!m) return null;
    total += +m[1] * { s: 1, m: 60, h: 3600, d: 86400 }[m[2]];
  }
  return total > 0 ? total : null;
}

function toIso(seconds) {
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
  let out = 'P' + (d ? d + 'D' : '');
  if (h || m || s || !d) out += 'T' + (h ? h + 'H' : '') + (m ? m + 'M' : '') + (s || (!h && !m && !d) ? s + 'S' : '');
  return out;
}

function human(seconds) {
  if (seconds == null) return '';
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
  const parts = [];
  if (d) parts.push(d + 'd');
  if (h) parts.push(h + 'h');
  if (m) parts.push(m + 'm');
  if (s || !parts.length) parts.push(s + 's');
  return parts.join(' ');
}

const humanIso = iso => isoSeconds(iso) == null ? (iso || '') : human(isoSeconds(iso));

function describeAccess(access) {
  if (!access) return '';
  if (access.type === 'group') return 'Group ' + access.groupName;
  if (access.type === 'resource') return shortArn(access.policyArn) + ' on ' + access.resourceArn;
  if (access.type === 'permissionSet') return 'Permission set ' + access.permissionSetArn;
  return shortArn(access.policyArn);
}

const shortArn = arn => (arn || '').replace(/^arn:aws:iam::aws:policy\//, '');
const accountLabel = id => state.accounts.has(id) ? `${state.accounts.get(id)} (${id})` : id;

// ---------- talking to the server ----------

async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  authorize(headers);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Is it running? The page retries on its own.');
  }
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON: the status line says enough */ }
  if (response.status === 401 && state.jwt) {
    signInLost('The server no longer accepts your sign-in. Sign in again to continue.');
    throw new ApiError(401, 'Your sign-in has ended: sign in again.');
  }
  if (!response.ok) {
    let message = (json && (json.detail || json.title)) || `The server answered ${response.status} ${response.statusText || ''}`.trim();
    if (json && json.errors) message += ' ' + Object.entries(json.errors).map(([k, v]) => `${k}: ${[].concat(v).join('; ')}`).join(' ');
    throw new ApiError(response.status, message);
  }
  return json;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function announce(text) {
  const region = $('announce');
  region.textContent = '';
  // A fresh text node in a cleared region is announced even when the text repeats.
  requestAnimationFrame(() => { region.textContent = text; });
}

function showAlert(text) {
  if ($('alert').textContent !== text) $('alert').textContent = text;
}

// ---------- cards: created once per request, updated in place ----------

function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}

function field(card, name) { return card.querySelector(`[data-f="${name}"]`); }

let cardSerial = 0;

function createCard(id) {
  const card = $('card-template').content.firstElementChild.cloneNode(true);
  const serial = ++cardSerial;
  card.dataset.id = id;
  const head = card.querySelector('.what');
  head.id = `card-${serial}-what`;
  // Each action says which request it acts on without changing its accessible name (Approve, Deny, ...).
  for (const button of card.querySelectorAll('button')) button.setAttribute('aria-describedby', head.id);
  for (const label of card.querySelectorAll('label[data-for]')) {
    const input = field(card, label.dataset.for);
    input.id = `card-${serial}-${label.dataset.for}`;
    label.htmlFor = input.id;
  }
  card.addEventListener('click', onCardAction);
  return card;
}

/** What a card shows and offers for one request in one list. */
function updateCard(card, r, options) {
  card.request = r;
  const badge = field(card, 'status');
  setText(badge, r.status);
  badge.className = 'badge ' + r.status;
  setText(field(card, 'access'), describeAccess(r.access));
  setText(field(card, 'account'), accountLabel(r.accountId));
  setText(field(card, 'requester'), r.requester + (r.onBehalfOf ? ` for ${r.onBehalfOf}` : ''));
  const asked = humanIso(r.duration);
  setText(field(card, 'duration'), r.grantedDuration && r.grantedDuration !== r.duration ? `${humanIso(r.grantedDuration)} (asked ${asked})` : asked);
  card.querySelector('[data-row="level"]').hidden = r.status !== 'pending';
  const stage = r.approvalStages > 1 ? `stage ${r.approvalStage} of ${r.approvalStages}, ` : '';
  setText(field(card, 'level'), r.approvalLevel ? `${stage}level ${r.approvalLevel}` : 'not yet sent to approvers');
  // Break-glass: flagged until and after its review, with who reviewed it once done.
  const breakGlass = field(card, 'breakGlass');
  breakGlass.hidden = !r.breakGlass;
  setText(breakGlass, r.review ? `break-glass, reviewed by ${r.review.by}` : 'break-glass, review pending');
  card.querySelector('[data-row="reason"]').hidden = !r.reason;
  setText(field(card, 'reason'), r.reason || '');
  setText(field(card, 'rule'), r.ruleName);
  setText(field(card, 'created'), formatTime(r.createdAt));
  card.querySelector('[data-row="detail"]').hidden = !r.statusDetail;
  setText(field(card, 'detail'), r.statusDetail || '');

  // Expiry: the planned time while active, the actual end once ended; nothing before it was granted.
  const ended = !!r.endedAt;
  card.querySelector('[data-row="expires"]').hidden = !r.expiresAt && !ended;
  setText(field(card, 'expiresLabel'), ended ? 'Ended' : 'Expires');
  setText(field(card, 'expires'), formatTime(ended ? r.endedAt : r.expiresAt) + (ended && r.endedBy ? ` by ${r.endedBy}` : ''));
  const countdown = field(card, 'countdown');
  if (r.status === 'active' && r.expiresAt) countdown.dataset.until = r.expiresAt; else delete countdown.dataset.until;
  tickCountdown(countdown);

  const link = field(card, 'detailsLink');
  const href = '#request/' + r.id;
  if (link.getAttribute('href') !== href) link.setAttribute('href', href);
  link.setAttribute('aria-describedby', field(card, 'access').id);

  const me = state.me;
  const actions = {
    approve: options.decide,
    deny: options.decide,
    relinquish: r.status === 'active' && r.requester === me.email,
    // The server decides whether the rule allows it (409 names the limit); the page offers it on your own grant.
    extend: r.status === 'active' && r.requester === me.email && !(r.extensions || []).some(e => e.status === 'pending'),
    cancel: r.status === 'pending' && r.requester === me.email,
    revoke: me.admin && (r.status === 'active' || r.status === 'approved'),
  };
  for (const [action, visible] of Object.entries(actions)) card.querySelector(`[data-action="${action}"]`).hidden = !visible;
  card.querySelector('.decide').hidden = !options.decide;
  if (options.decide) field(card, 'grant').placeholder = `up to ${asked}`;
}

function tickCountdown(el) {
  const until = el.dataset.until;
  if (!until) { setText(el, ''); return; }
  const left = Math.max(0, Math.round((new Date(until) - Date.now()) / 1000));
  setText(el, left > 0 ? `${human(left)} left` : 'ending…');
}

/** Makes the list show exactly these requests, in this order, touching only what changed. */
function renderList(listId, emptyId, requests, options = {}) {
  const list = $(listId);
  const existing = new Map([...list.children].map(li => [li.dataset.id, li]));
  const wanted = new Set(requests.map(r => r.id));
  for (const [id, li] of existing) {
    if (!wanted.has(id)) {
      // Focus inside a card that goes away would fall to <body>: put it somewhere sensible first.
      if (li.contains(document.activeElement)) list.closest('section').querySelector('h2').focus();
      li.remove();
      existing.delete(id);
    }
  }
  let previous = null;
  for (const r of requests) {
    let card = existing.get(r.id);
    if (!card) card = createCard(r.id);
    updateCard(card, r, typeof options === 'function' ? options(r) : options);
    const expectedPosition = previous ? previous.nextElementSibling : list.firstElementChild;
    if (expectedPosition !== card) list.insertBefore(card, expectedPosition);
    previous = card;
  }
  $(emptyId).hidden = requests.length > 0;
}

// ---------- actions ----------

async function onCardAction(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const card = button.closest('.card');
  const r = card.request;
  const action = button.dataset.action;
  if (action === 'approve' || action === 'deny') return decide(card, r, action, button);
  if (action === 'relinquish') {
    const ok = await confirmDialog({
      title: 'Relinquish this access?',
      text: `${describeAccess(r.access)} in ${accountLabel(r.accountId)} is removed from your IAM user now. This cannot be undone.`,
      confirm: 'Relinquish now',
    });
    if (ok) await act(button, `/api/requests/${r.id}/relinquish`, undefined, 'Relinquished: the access is being removed.');
  }
  if (action === 'extend') {
    const result = await confirmDialog({
      title: 'Extend this access?',
      text: `${describeAccess(r.access)} in ${accountLabel(r.accountId)} ends ${formatTime(r.expiresAt)}. The time you give is added to that; the rule may ask an approver first.`,
      confirm: 'Extend',
      comment: 'How much longer (30m, 1h or PT1H)',
      commentRequired: true,
    });
    if (result) await act(button, `/api/requests/${r.id}/extend`, { duration: result.comment }, 'Extension asked: the expiry moves once it applies.');
  }
  if (action === 'cancel') {
    const ok = await confirmDialog({
      title: 'Cancel this request?',
      text: `Nobody will be asked to approve ${describeAccess(r.access)} in ${accountLabel(r.accountId)} any more, and nothing is granted.`,
      confirm: 'Cancel request',
    });
    if (ok) await act(button, `/api/requests/${r.id}/cancel`, undefined, 'Cancelled: nothing is granted.');
  }
  if (action === 'revoke') {
    const result = await confirmDialog({
      title: 'Revoke this access?',
      text: `${r.requester} loses ${describeAccess(r.access)} in ${accountLabel(r.accountId)} now.`,
      confirm: 'Revoke now',
      comment: 'Why (recorded in the audit log)',
      commentRequired: true,
    });
    if (result) await act(button, `/api/requests/${r.id}/revoke`, { comment: result.comment }, 'Revoked: the access is being removed.');
  }
}

async function decide(card, r, action, button) {
  const comment = field(card, 'comment').value.trim();
  const grantText = field(card, 'grant').value.trim();
  const error = field(card, 'decideError');
  error.textContent = '';
  if (action === 'deny' && !comment) {
    error.textContent = 'Say why you deny it: the requester reads the comment.';
    field(card, 'comment').focus();
    return;
  }
  const body = { decision: action };
  if (comment) body.comment = comment;
  if (action === 'approve' && grantText) {
    const seconds = parseDuration(grantText);
    if (seconds == null) {
      error.textContent = `"${grantText}" is not a duration: write 30m, 2h or 1d.`;
      field(card, 'grant').focus();
      return;
    }
    if (seconds > isoSeconds(r.duration)) {
      error.textContent = `You can shorten the ${humanIso(r.duration)} asked for, not lengthen it.`;
      field(card, 'grant').focus();
      return;
    }
    body.duration = toIso(seconds);
  }
  await act(button, `/api/requests/${r.id}/decision`, body, action === 'approve' ? 'Approved.' : 'Denied.', error);
}

async function act(button, path, body, done, errorTarget) {
  button.disabled = true;
  try {
    await api('POST', path, body === undefined ? undefined : body);
    announce(done);
    await refresh();
  } catch (e) {
    if (errorTarget) errorTarget.textContent = e.message;
    showAlert(e.message);
  } finally {
    button.disabled = false;
  }
}

/** A modal confirmation; resolves to { comment } when confirmed, null when the person went back. */
function confirmDialog({ title, text, confirm, comment, commentRequired }) {
  const dialog = $('confirm');
  const opener = document.activeElement;
  setText($('confirm-title'), title);
  setText($('confirm-text'), text);
  $('confirm-ok').textContent = confirm;
  $('confirm-error').textContent = '';
  $('confirm-comment-field').hidden = !comment;
  $('confirm-comment-label').textContent = comment || 'Comment';
  $('confirm-comment').value = '';
  return new Promise(resolve => {
    const onSubmit = event => {
      if (event.submitter && event.submitter.value === 'confirm' && commentRequired && !$('confirm-comment').value.trim()) {
        event.preventDefault();
        $('confirm-error').textContent = 'A comment is required.';
        $('confirm-comment').focus();
      }
    };
    const onClose = () => {
      dialog.removeEventListener('submit', onSubmit);
      if (opener && opener.isConnected) opener.focus();
      resolve(dialog.returnValue === 'confirm' ? { comment: $('confirm-comment').value.trim() || undefined } : null);
    };
    dialog.returnValue = '';
    dialog.addEventListener('submit', onSubmit);
    dialog.addEventListener('close', onClose, { once: true });
    dialog.showModal();
    (comment ? $('confirm-comment') : $('confirm-back')).focus();
  });
}

// ---------- views ----------

const views = ['mine', 'approvals', 'new', 'all', 'accounts', 'detail'];

function route(moveFocus) {
  const hash = location.hash.replace(/^#/, '');
  if (hash === 'main' && moveFocus) return; // the skip link: not a view
  let view = hash.startsWith('request/') ? 'detail' : (views.includes(hash) ? hash : 'mine');
  if ((view === 'all' || view === 'accounts') && !(state.me.admin || state.me.auditor)) view = 'mine';
  state.detailId = view === 'detail' ? hash.slice('request/'.length) : null;
  const changed = state.view !== view;
  state.view = view;
  for (const v of views) $('view-' + v).hidden = v !== view;
  for (const a of document.querySelectorAll('.tabs a')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  if (view === 'detail') clearDetail();
  refresh();
  // Move focus to the new view's heading so keyboard and screen-reader users land where the content is.
  if (moveFocus && (changed || view === 'detail')) $(view === 'detail' ? 'detail-title' : view + '-title').focus();
}

async function refresh() {
  if (!state.me) return;
  if (state.refreshing) {
    // A change arrived while a refresh was reading: read again once it is done, or the change would be missed.
    state.refreshAgain = true;
    return;
  }
  state.refreshing = true;
  state.refreshAgain = false;
  try {
    if (state.view === 'mine') await refreshMine();
    if (state.view === 'approvals' || state.me.approver) await refreshInbox();
    if (state.view === 'all') await refreshAll();
    if (state.view === 'accounts') await refreshAccounts();
    if (state.view === 'detail' && state.detailId) await refreshDetail();
    if (state.offline) { state.offline = false; showAlert(''); announce('Connected to the server again.'); }
  } catch (e) {
    if (e.status === 0) state.offline = true;
    showAlert(e.message);
  } finally {
    state.refreshing = false;
    if (state.refreshAgain) refresh();
  }
}

async function refreshMine() {
  const page = await api('GET', '/api/requests?mine=true&pageSize=100');
  const items = page.items;
  renderList('active-list', 'active-empty', items.filter(r => r.status === 'active'));
  renderList('my-list', 'my-empty', items.filter(r => r.status !== 'active'));
}

async function refreshInbox() {
  const inbox = await api('GET', '/console/inbox');
  const count = $('waiting-count');
  count.hidden = inbox.waiting.length === 0;
  setText(count, String(inbox.waiting.length));
  count.setAttribute('aria-label', `${inbox.waiting.length} waiting`);
  if (state.view !== 'approvals') return;
  renderList('waiting-list', 'waiting-empty', inbox.waiting, { decide: true });
  renderList('decided-list', 'decided-empty', inbox.decided);
}

async function refreshAll() {
  const form = $('filters');
  const query = new URLSearchParams({ pageSize: '20' });
  if (form.status.value) query.set('status', form.status.value);
  if (form.requester.value.trim()) query.set('requester', form.requester.value.trim());
  const token = state.pages[state.pageIndex];
  if (token) query.set('continuationToken', token);
  const page = await api('GET', '/api/requests?' + query);
  state.nextToken = page.continuationToken || null;
  renderList('all-list', 'all-empty', page.items);
  $('page-prev').disabled = state.pageIndex === 0;
  $('page-next').disabled = !state.nextToken;
  setText($('page-label'), `Page ${state.pageIndex + 1}`);
}

function clearDetail() {
  $('detail-list').replaceChildren();
  $('detail-timeline').replaceChildren();
  $('detail-iam').replaceChildren();
  setText($('detail-effect'), '');
}

async function refreshDetail() {
  const id = state.detailId;
  let r;
  try {
    r = await api('GET', '/api/requests/' + encodeURIComponent(id));
  } catch (e) {
    setText($('detail-title'), 'Request not available');
    setText($('detail-effect'), e.message);
    return;
  }
  setText($('detail-title'), `Request ${describeAccess(r.access)}`);
  const decide = state.me.approver && r.status === 'pending' ? (await api('GET', '/console/inbox')).waiting.some(w => w.id === r.id) : false;
  renderList('detail-list', 'detail-none', [r], { decide });

  const grantee = r.onBehalfOf || r.requester;
  const what = r.access.type === 'group' ? `IAM user ${grantee} joins group ${r.access.groupName}`
    : r.access.type === 'resource' ? `IAM user ${grantee} gets a generated policy: the actions of ${shortArn(r.access.policyArn)} that apply to ${r.access.resourceArn}`
    : r.access.type === 'permissionSet' ? `Identity Center user ${grantee} is assigned permission set ${r.access.permissionSetArn}`
    : `${shortArn(r.access.policyArn)} is attached to IAM user ${grantee}`;
  const when = r.status === 'active' ? ` in ${accountLabel(r.accountId)} now, until ${formatTime(r.expiresAt)}.`
    : r.endedAt ? ` in ${accountLabel(r.accountId)} from ${formatTime(r.grantedAt)} to ${formatTime(r.endedAt)}; removed since.`
    : ` in ${accountLabel(r.accountId)} once approved.`;
  setText($('detail-effect'), what + when);
  await showActivity(r);
  if (state.me.admin && state.sandboxAccounts && state.sandboxAccounts.has(r.accountId)) await showSandboxUser(r.accountId, grantee);

  await renderTimeline(r);
}

// What an ended grant was used for (CloudTrail), once the workflow has collected it; 404 until then.
async function showActivity(r) {
  let line = $('detail-activity');
  if (!line) {
    line = Object.assign(document.createElement('p'), { id: 'detail-activity' });
    $('detail-effect').after(line);
  }
  let text = '';
  if (r.endedAt && r.grantedAt) {
    try {
      const a = await api('GET', `/api/requests/${r.id}/activity`);
      const errors = a.byEvent.reduce((n, e) => n + e.errors, 0);
      text = a.total === 0 ? 'Used for: no AWS management events were recorded during the grant.'
        : `Used for: ${a.total} AWS events` + (errors ? ` (${errors} refused)` : '') + ' — '
          + a.byEvent.slice(0, 5).map(e => `${e.service} ${e.eventName} ×${e.count}`).join(', ')
          + `; first ${formatTime(a.first)}, last ${formatTime(a.last)}.`;
    } catch (e) {
      text = e.status === 404 ? 'What the grant was used for is collected a while after it ends.' : e.message;
    }
  }
  setText(line, text);
  line.hidden = !text;
}

async function showSandboxUser(accountId, user) {
  const iam = await api('GET', `/api/sandbox/accounts/${accountId}/users/${encodeURIComponent(user)}`);
  const lines = [...iam.attachedPolicies.map(p => `Policy attached now: ${p}`), ...iam.groups.map(g => `Member of group now: ${g}`),
    ...(iam.permissionSets || []).map(p => `Permission set assigned now: ${p}`)];
  if (!lines.length) lines.push(`IAM user ${user} holds nothing from AccessWorkflows now.`);
  const list = $('detail-iam');
  list.hidden = false;
  if ([...list.children].map(li => li.textContent).join('\n') !== lines.join('\n')) {
    list.replaceChildren(...lines.map(text => Object.assign(document.createElement('li'), { textContent: text })));
  }
}

async function renderTimeline(r) {
  let entries;
  if (state.me.admin || state.me.auditor) {
    const audit = await api('GET', `/api/requests/${r.id}/audit`);
    entries = audit.items.map(e => `${formatTime(e.at)} — ${e.type} by ${e.actor} via ${e.channel}${e.detail ? ': ' + e.detail : ''}`);
    setText($('detail-timeline-note'), 'From the audit log.');
  } else {
    entries = [`${formatTime(r.createdAt)} — requested by ${r.requester} via ${r.channel}`];
    for (const d of r.decisions) {
      entries.push(`${formatTime(d.at)} — ${d.decision === 'approve' ? 'approved' : 'denied'} by ${d.approver} via ${d.channel}${d.duration ? ' for ' + humanIso(d.duration) : ''}${d.comment ? ': ' + d.comment : ''}`);
    }
    if (r.grantedAt) entries.push(`${formatTime(r.grantedAt)} — access granted`);
    if (r.endedAt) entries.push(`${formatTime(r.endedAt)} — ${r.status}${r.endedBy ? ' by ' + r.endedBy : ''}`);
    setText($('detail-timeline-note'), 'Admins and auditors see the full audit log here.');
  }
  const list = $('detail-timeline');
  // Append-only: existing entries stay as they are, new ones are added at the end.
  for (let i = list.children.length; i < entries.length; i++) {
    list.append(Object.assign(document.createElement('li'), { textContent: entries[i] }));
  }
}

// ---------- accounts: the reconciliation report (admins reconcile, auditors read) ----------

const ACCOUNT_FINDINGS_SHOWN = 5;

/** One card per account of the rules, updated in place from the account's audit (GrantReconciler's records). */
async function refreshAccounts() {
  const list = $('accounts-list');
  const accounts = state.me.accounts || [];
  $('accounts-empty').hidden = accounts.length > 0;
  for (const account of accounts) {
    let card = [...list.children].find(li => li.dataset.account === account.id);
    if (!card) {
      card = createAccountCard(account);
      list.append(card);
    }
    const audit = await api('GET', `/api/accounts/${encodeURIComponent(account.id)}/audit`);
    updateAccountCard(card, audit.items);
  }
}

function createAccountCard(account) {
  const card = $('account-template').content.firstElementChild.cloneNode(true);
  card.dataset.account = account.id;
  const name = field(card, 'name');
  name.id = `account-${account.id}-name`;
  name.textContent = `${account.name} (${account.id})`;
  const button = card.querySelector('[data-action="reconcile"]');
  button.hidden = !state.me.admin;
  button.setAttribute('aria-describedby', name.id);
  button.addEventListener('click', () => reconcileAccount(account, button));
  return card;
}

/** The last sweep (account.reconciled) and the latest findings of each kind, newest first. */
function updateAccountCard(card, events) {
  const last = events.filter(e => e.type === 'account.reconciled').at(-1);
  setText(field(card, 'last'), last ? `${formatTime(last.at)} by ${last.actor} via ${last.channel}` : 'Not reconciled yet.');
  setText(field(card, 'summary'), last ? last.detail || '' : '');
  const findings = (type, none) => {
    const latest = events.filter(e => e.type === type).slice(-ACCOUNT_FINDINGS_SHOWN).reverse();
    return latest.length ? latest.map(e => `${formatTime(e.at)} — ${e.detail || ''}`) : [none];
  };
  setLines(field(card, 'drift'), findings('account.drift', 'No drift reported.'));
  setLines(field(card, 'repair'), findings('account.repair', 'Nothing repaired.'));
  setLines(field(card, 'removed'), findings('account.removed', 'Nothing removed.'));
}

/** Replaces a list's items only when their text changed (a refresh must not disturb a reader). */
function setLines(list, lines) {
  if ([...list.children].map(li => li.textContent).join('\n') === lines.join('\n')) return;
  list.replaceChildren(...lines.map(text => Object.assign(document.createElement('li'), { textContent: text })));
}

async function reconcileAccount(account, button) {
  const ok = await confirmDialog({
    title: `Reconcile ${account.name} now?`,
    text: `The sweep runs on ${account.name} (${account.id}) now: access only ended requests explain is removed, live grants removed by hand are put back, drift is reported and left in place.`,
    confirm: 'Reconcile now',
  });
  if (!ok) return;
  button.disabled = true;
  try {
    const report = await api('POST', `/api/accounts/${encodeURIComponent(account.id)}/reconcile`);
    announce(`Reconciled ${account.name}: found ${report.found.length}, removed ${report.removed.length}, repaired ${report.repaired.length}, drift ${report.drift.length}, errors ${report.errors.length}.`);
    await refresh();
  } catch (e) {
    showAlert(e.message);
  } finally {
    button.disabled = false;
  }
}

// ---------- the request form ----------

const form = () => $('request-form');
let suggestTimer = 0;
let ruleTimer = 0;
let rule = null;

function accessType() { return form().querySelector('input[name="type"]:checked').value; }

function onTypeChange() {
  const type = accessType();
  $('f-resource-field').hidden = type !== 'resource';
  setText($('f-value-label'), type === 'group' ? 'Group' : type === 'resource' ? 'Base policy (its actions are scoped to the resource)' : 'Policy');
  $('f-value').value = '';
  $('f-suggestions').replaceChildren();
  suggest();
  checkRule();
}

function suggest() {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(async () => {
    const accountId = $('f-account').value;
    if (!accountId) return;
    const type = accessType() === 'group' ? 'group' : 'policy';
    const query = new URLSearchParams({ accountId, type, query: $('f-value').value.trim() });
    try {
      const answer = await api('GET', '/api/options?' + query);
      const values = answer.options;
      const list = $('f-suggestions');
      if ([...list.children].map(o => o.value).join('\n') !== values.join('\n')) {
        list.replaceChildren(...values.map(v => Object.assign(document.createElement('option'), { value: v })));
      }
    } catch (e) { showAlert(e.message); }
  }, 200);
}

function checkRule() {
  clearTimeout(ruleTimer);
  ruleTimer = setTimeout(async () => {
    const type = accessType();
    const value = type === 'resource' ? $('f-resource').value.trim() : $('f-value').value.trim();
    const hint = $('f-rule');
    rule = null;
    $('f-reason-required').hidden = true;
    $('f-behalf-field').hidden = true;
    if (!$('f-account').value || !value || (type === 'resource' && !$('f-value').value.trim())) {
      setText(hint, 'Choose the access to see the rule\'s default and maximum duration.');
      return;
    }
    const query = new URLSearchParams({ accountId: $('f-account').value, type, value });
    if (type === 'resource') query.set('policyArn', $('f-value').value.trim());
    try {
      rule = await api('GET', '/console/rule?' + query);
      setText(hint, `Rule "${rule.name}": ${humanIso(rule.defaultDuration)} if you leave this empty, at most ${humanIso(rule.maxDuration)}.`
        + (rule.auto ? ' Approved automatically.' : ''));
      $('f-reason-required').hidden = !rule.requireReason;
      $('f-behalf-field').hidden = !rule.allowOnBehalfOf;
    } catch (e) {
      setText(hint, e.status === 403 ? 'No rule allows you this access in this account.' : e.message);
    }
  }, 250);
}

async function submitRequest(event) {
  event.preventDefault();
  const f = form();
  const error = $('f-error');
  error.textContent = '';
  const type = accessType();
  const value = $('f-value').value.trim();
  const fail = (message, input) => { error.textContent = message; input.focus(); };
  if (!value) return fail(type === 'group' ? 'Choose a group.' : 'Choose a policy.', $('f-value'));
  const access = type === 'group' ? { type, groupName: value }
    : type === 'resource' ? { type, resourceArn: $('f-resource').value.trim(), policyArn: value }
    : { type, policyArn: value };
  if (type === 'resource' && !access.resourceArn) return fail('Enter the resource ARN.', $('f-resource'));
  const body = { accountId: $('f-account').value, access };
  const durationText = $('f-duration').value.trim();
  if (durationText) {
    const seconds = parseDuration(durationText);
    if (seconds == null) return fail(`"${durationText}" is not a duration: write 30m, 2h or 1d.`, $('f-duration'));
    if (rule && seconds > isoSeconds(rule.maxDuration)) return fail(`At most ${humanIso(rule.maxDuration)} under rule "${rule.name}".`, $('f-duration'));
    body.duration = toIso(seconds);
  }
  const reason = $('f-reason').value.trim();
  if (reason) body.reason = reason;
  if (rule && rule.requireReason && !reason) return fail('This rule requires a reason.', $('f-reason'));
  const behalf = $('f-behalf').value.trim();
  if (behalf && !$('f-behalf-field').hidden) body.onBehalfOf = behalf;

  const button = f.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    const created = await api('POST', '/api/requests', body);
    f.reset();
    onTypeChange();
    announce(`Request sent: ${describeAccess(created.access)} is ${created.status}.`);
    location.hash = '#mine';
  } catch (e) {
    error.textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

// ---------- audit export (auditors and admins): GET /api/audit, every page, as NDJSON or CSV ----------

const EXPORT_PAGE_SIZE = 1000; // the API's largest page
const EXPORT_CSV_COLUMNS = ['at', 'id', 'type', 'requestId', 'accountId', 'actor', 'channel', 'status', 'detail'];

/** A local calendar day (yyyy-mm-dd from a date input) to the instant it starts, in the API's UTC grammar. */
function dayStart(day, plusDays = 0) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

function localDay(date) {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
}

/** The raw text of every page of the export, following each answer's Link rel="next" until there is none. */
async function fetchAuditPages(since, until) {
  const pages = [];
  let next = '/api/audit?' + new URLSearchParams({ since, until, pageSize: String(EXPORT_PAGE_SIZE) });
  while (next) {
    const headers = { Accept: 'application/x-ndjson' };
    authorize(headers);
    let response;
    try {
      response = await fetch(next, { headers });
    } catch {
      throw new ApiError(0, 'The server cannot be reached. Is it running? The page retries on its own.');
    }
    if (!response.ok) {
      let problem = null;
      try { problem = await response.json(); } catch { /* the status says enough */ }
      throw new ApiError(response.status, (problem && (problem.detail || problem.title)) || `The server answered ${response.status}`);
    }
    pages.push(await response.text());
    const link = /<([^>]+)>\s*;\s*rel="next"/.exec(response.headers.get('Link') || '');
    next = link ? new URL(link[1], new URL(next, location.href)).toString() : null;
  }
  return pages;
}

function auditCsv(lines) {
  const quote = v => `"${String(v ?? '').replaceAll('"', '""')}"`;
  const rows = lines.map(line => {
    const e = JSON.parse(line);
    const row = { at: new Date(e.time).toISOString(), id: e.id, type: e.type, requestId: e.requestId, accountId: e.accountId,
      actor: e.actor && e.actor.user ? e.actor.user.name : '', channel: e.channel, status: e.status, detail: e.detail };
    return EXPORT_CSV_COLUMNS.map(c => quote(row[c])).join(',');
  });
  return [EXPORT_CSV_COLUMNS.join(','), ...rows].join('\r\n') + '\r\n';
}

async function exportAudit(event) {
  event.preventDefault();
  const format = event.submitter ? event.submitter.value : 'ndjson';
  const error = $('exp-error');
  error.textContent = '';
  const from = $('exp-from').value, to = $('exp-to').value;
  if (!from) { error.textContent = 'Choose the first day.'; $('exp-from').focus(); return; }
  if (!to) { error.textContent = 'Choose the last day.'; $('exp-to').focus(); return; }
  if (to < from) { error.textContent = 'The last day comes before the first.'; $('exp-to').focus(); return; }
  const button = event.submitter || $('export').querySelector('button');
  button.disabled = true;
  try {
    const pages = await fetchAuditPages(dayStart(from), dayStart(to, 1));
    const lines = pages.join('').split('\n').filter(line => line.length > 0);
    if (!lines.length) {
      announce(`No audit event from ${from} to ${to}: nothing to export.`);
      return;
    }
    const text = format === 'csv' ? auditCsv(lines) : lines.join('\n') + '\n';
    const link = $('export-link');
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/x-ndjson' }));
    link.download = `accessworkflows-audit-${from}-to-${to}.${format === 'csv' ? 'csv' : 'ndjson'}`;
    link.click();
    announce(`Exported ${lines.length} audit events from ${from} to ${to} (${pages.length} ${pages.length === 1 ? 'page' : 'pages'}).`);
  } catch (e) {
    error.textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

function setUpExport() {
  const today = new Date();
  $('exp-to').value = localDay(today);
  $('exp-from').value = localDay(new Date(today.getFullYear(), today.getMonth(), today.getDate() - 30));
  $('export').addEventListener('submit', exportAudit);
}

// ---------- sign-in (Jwt servers; Development servers use the user picker) ----------

/** Adds the caller's identity to an API call: the Development user, or the signed-in person's access token. */
function authorize(headers) {
  if (state.user) headers['X-Dev-User'] = state.user;
  if (!state.jwt) return;
  const token = SignIn.token();
  if (!token) {
    signInLost(`Your sign-in expired at ${formatTime(new Date(SignIn.expiresAt() || Date.now()).toISOString())}. Sign in again to continue.`);
    throw new ApiError(401, 'Your sign-in has expired: sign in again.');
  }
  headers['Authorization'] = 'Bearer ' + token;
}

/** Shows the sign-in panel with why; the views stay as they were (nothing is lost) but stop updating. */
function signInLost(text) {
  SignIn.forget();
  Live.stop();
  const panel = $('signin');
  setText($('signin-text'), text);
  $('signout').hidden = true;
  if (panel.hidden) {
    panel.hidden = false;
    $('signin-title').focus();
  }
}

/**
 * On a Jwt server: finishes a sign-in coming back from the authority, or offers to sign in. Resolves to true when
 * the page can call the API as the signed-in person.
 */
async function startSignIn(config) {
  state.jwt = true;
  state.user = null;
  if (!config.clientId) {
    document.querySelector('nav.tabs').hidden = true;
    showAlert('This server signs people in with tokens (Jwt) but names no client for this page (AccessWorkflows:Auth:ClientId), so the page cannot sign you in. Use the aw command line with --token.');
    return false;
  }
  $('signin-button').addEventListener('click', () => {
    $('signin-button').disabled = true;
    SignIn.begin().catch(e => { $('signin-button').disabled = false; showAlert('Sign-in failed: ' + e.message + '.'); });
  });
  $('signout').addEventListener('click', async () => {
    if (!await SignIn.signOut()) {
      location.hash = '';
      location.reload();
    }
  });
  let signedIn = false;
  try {
    signedIn = await SignIn.start(config);
  } catch (e) {
    if (!(e instanceof SignIn.SignInError)) throw e;
    showAlert('Sign-in failed: ' + e.message + '. Sign in again.');
  }
  if (!signedIn) {
    document.querySelector('nav.tabs').hidden = true;
    $('signin').hidden = false;
    return false;
  }
  $('signout').hidden = false;
  // Once the token expires the next call shows the panel; this makes it show on an idle page too.
  setInterval(() => { if (!$('signin').hidden || SignIn.token()) return; authorizeOrShow(); }, 1000);
  return true;
}

function authorizeOrShow() {
  try { authorize({}); } catch { /* authorize showed the sign-in panel */ }
}

// ---------- live updates (live.js): refresh on a change event, poll only while no stream is open ----------

let liveRefreshQueued = false;

/** A request the caller may read changed: refresh the current view once (changes arriving together share it);
 * the lists update in place, so focus and typed text stay. The Accounts view does not show requests. */
function onLiveChange(change) {
  document.body.dataset.liveVersion = String(change.version);
  if (state.view === 'accounts' || (state.view === 'detail' && change.id !== state.detailId && !state.me.approver)) return;
  if (liveRefreshQueued) return;
  liveRefreshQueued = true;
  setTimeout(() => { liveRefreshQueued = false; refresh(); }, 50);
}

function onLiveState(live) {
  const was = state.live;
  state.live = live;
  document.body.dataset.live = live ? 'sse' : 'polling';
  if (live && !was) refresh(); // catch up with what changed while no stream was open
}

/** Polling: every REFRESH_MS while no stream is open; the Accounts view (not fed by request changes) always. */
function startUpdates() {
  document.body.dataset.live = 'polling';
  setInterval(() => { if (!document.hidden && (!state.live || state.view === 'accounts')) refresh(); }, REFRESH_MS);
  if (typeof EventSource === 'function') Live.start({ onChange: onLiveChange, onState: onLiveState });
}

// ---------- start ----------

async function start() {
  const params = new URLSearchParams(location.search);
  try {
    const config = await api('GET', '/console/config');
    if (config.mode === 'Jwt') {
      if (!await startSignIn(config)) return;
    } else {
      state.user = params.get('as') || 'alice@example.com';
    }
    state.me = await api('GET', '/console/me');
  } catch (e) {
    showAlert(e.message);
    return;
  }
  const who = $('who');
  who.hidden = !state.me.development;
  $('as').value = state.me.email;
  $('people').replaceChildren(...['alice@example.com', ...state.me.people].filter((v, i, a) => a.indexOf(v) === i)
    .map(p => Object.assign(document.createElement('option'), { value: p })));
  who.addEventListener('submit', event => {
    event.preventDefault();
    const next = new URLSearchParams(location.search);
    next.set('as', $('as').value.trim());
    location.search = next.toString();
  });
  const roles = [state.me.admin && 'admin', state.me.auditor && 'auditor', state.me.approver && 'approver'].filter(Boolean);
  setText($('identity'), `${state.me.email}${roles.length ? ' — ' + roles.join(', ') : ''}`);
  for (const tab of document.querySelectorAll('[data-role="overseer"]')) tab.hidden = !(state.me.admin || state.me.auditor);

  const options = await api('GET', '/api/options');
  for (const a of options.accounts) state.accounts.set(a.id, a.name);
  $('f-account').replaceChildren(...options.accounts.map(a => Object.assign(document.createElement('option'), { value: a.id, textContent: `${a.name} (${a.id})` })));
  state.sandboxAccounts = new Set(options.accounts.filter(a => a.name === 'sandbox').map(a => a.id));

  form().addEventListener('submit', submitRequest);
  for (const radio of form().querySelectorAll('input[name="type"]')) radio.addEventListener('change', onTypeChange);
  $('f-account').addEventListener('change', () => { suggest(); checkRule(); });
  $('f-value').addEventListener('input', () => { suggest(); checkRule(); });
  $('f-resource').addEventListener('input', checkRule);
  $('filters').addEventListener('submit', event => { event.preventDefault(); state.pages = [null]; state.pageIndex = 0; refresh(); });
  $('page-next').addEventListener('click', () => { if (state.nextToken) { state.pages[state.pageIndex + 1] = state.nextToken; state.pageIndex++; refresh(); } });
  $('page-prev').addEventListener('click', () => { if (state.pageIndex > 0) { state.pageIndex--; refresh(); } });
  setUpExport();
  // In-page links change only the hash, so ?as= stays.
  window.addEventListener('hashchange', () => route(true));
  route(false);
  suggest();
  startUpdates();
  setInterval(() => document.querySelectorAll('.countdown').forEach(tickCountdown), 1000);
}

document.addEventListener('DOMContentLoaded', start);
