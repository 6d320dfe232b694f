// AccessWorkflows console: one page over the HTTP API (SPEC 8) and the page's own /console/* helpers.
// Lists are updated in place (keyed by request id), never rebuilt, so focus, typed comments and scroll position
// survive the refresh every few seconds.
'use strict';

const REFRESH_MS = 2000;
const $ = id => document.getElementById(id);

const state = {
  me: null,            // { email, admin, auditor, approver, development, people }
  user: null,          // the Development user (X-Dev-User)
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
  if (state.user) headers['X-Dev-User'] = state.user;
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
  setText(field(card, 'level'), r.approvalLevel ? `level ${r.approvalLevel}` : 'not yet sent to approvers');
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

const views = ['mine', 'approvals', 'new', 'all', 'detail'];

function route(moveFocus) {
  const hash = location.hash.replace(/^#/, '');
  if (hash === 'main' && moveFocus) return; // the skip link: not a view
  let view = hash.startsWith('request/') ? 'detail' : (views.includes(hash) ? hash : 'mine');
  if (view === 'all' && !(state.me.admin || state.me.auditor)) view = 'mine';
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
  if (state.refreshing || !state.me) return;
  state.refreshing = true;
  try {
    if (state.view === 'mine') await refreshMine();
    if (state.view === 'approvals' || state.me.approver) await refreshInbox();
    if (state.view === 'all') await refreshAll();
    if (state.view === 'detail' && state.detailId) await refreshDetail();
    if (state.offline) { state.offline = false; showAlert(''); announce('Connected to the server again.'); }
  } catch (e) {
    if (e.status === 0) state.offline = true;
    showAlert(e.message);
  } finally {
    state.refreshing = false;
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
  state.pageItems = page.items;
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

// ---------- audit export ----------

async function exportAudit(format) {
  const items = state.pageItems || [];
  const events = [];
  for (const r of items) events.push(...(await api('GET', `/api/requests/${r.id}/audit`)).items);
  let text;
  if (format === 'csv') {
    const columns = ['at', 'requestId', 'type', 'actor', 'channel', 'detail'];
    const quote = v => `"${String(v ?? '').replaceAll('"', '""')}"`;
    text = [columns.join(','), ...events.map(e => columns.map(c => quote(e[c])).join(','))].join('\r\n') + '\r\n';
  } else {
    text = events.map(e => JSON.stringify(e)).join('\n') + (events.length ? '\n' : '');
  }
  const link = $('export-link');
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/x-ndjson' }));
  link.download = `accessworkflows-audit-${new Date().toISOString().slice(0, 19).replaceAll(':', '')}.${format === 'csv' ? 'csv' : 'ndjson'}`;
  link.click();
  announce(`Exported ${events.length} audit events of ${items.length} requests.`);
}

// ---------- start ----------

async function start() {
  const params = new URLSearchParams(location.search);
  state.user = params.get('as') || 'alice@example.com';
  try {
    state.me = await api('GET', '/console/me');
  } catch (e) {
    showAlert(e.status === 401
      ? 'This server signs people in with tokens (Jwt). This page cannot sign you in yet: use the aw command line with --token.'
      : e.message);
    return;
  }
  if (!state.me.development) state.user = null;
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
  document.querySelector('[data-role="overseer"]').hidden = !(state.me.admin || state.me.auditor);

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
  $('export-csv').addEventListener('click', () => exportAudit('csv').catch(e => showAlert(e.message)));
  $('export-ndjson').addEventListener('click', () => exportAudit('ndjson').catch(e => showAlert(e.message)));
  // In-page links change only the hash, so ?as= stays.
  window.addEventListener('hashchange', () => route(true));
  route(false);
  suggest();
  setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
  setInterval(() => document.querySelectorAll('.countdown').forEach(tickCountdown), 1000);
}

document.addEventListener('DOMContentLoaded', start);
