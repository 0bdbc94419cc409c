// The web wallet. Every OpenID4VCI/OpenID4VP decision is made by the
// creditproof library compiled to WebAssembly (wasm/): this script only
// performs the fetches a step asks for, hands back status and body, shows
// what the library says, and keeps the wallet in IndexedDB.
import init, { WalletCore, Receiving, Answering, readBreakdown, disputeEntry } from './pkg/creditproof_wasm.js';
import * as store from './store.js';
import { chart } from './chart.js';

const $ = (id) => document.getElementById(id);
const MAX_BODY = 4 * 1024 * 1024;
let wallet = null;

function show(id, on = true) { $(id).hidden = !on; }
function text(id, t) { $(id).textContent = t; }
function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
function li(t) { const e = document.createElement('li'); e.textContent = t; return e; }

function fail(message) {
  text('error', message);
  show('error');
  text('status', 'Something went wrong.');
}

async function persist() { await store.save(wallet.toSecretJson()); }

// One fetch a step asked for; no redirects are followed (OpenID4VP §14.4),
// no cookies are sent.
async function perform(f) {
  const init = { method: f.method, headers: f.headers, redirect: 'manual', credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' };
  if (f.method !== 'GET') init.body = f.body;
  const r = await fetch(f.url, init);
  const body = new Uint8Array(await r.arrayBuffer());
  if (body.length > MAX_BODY) throw new Error(`${f.url}: answer too large`);
  return [r.status, body];
}

const NONE = new Uint8Array();

function ask_tx_code(spec) {
  text('txcode-description', spec.description || `The issuer sent you a ${spec.length ?? ''}-character code by another channel.`);
  $('txcode-input').value = '';
  $('txcode-input').inputMode = spec.input_mode === 'numeric' ? 'numeric' : 'text';
  show('txcode');
  $('txcode-input').focus();
  return new Promise((resolve) => {
    $('txcode-submit').onclick = () => { show('txcode', false); resolve($('txcode-input').value); };
  });
}

async function receive(link) {
  text('status', 'Receiving credentials…');
  const rec = new Receiving(link);
  let r = JSON.parse(rec.next(wallet, 0, NONE));
  for (;;) {
    if (r.fetch) {
      const [status, body] = await perform(r.fetch);
      r = JSON.parse(rec.next(wallet, status, body));
    } else if (r.need_tx_code) {
      rec.setTxCode(await ask_tx_code(r.need_tx_code));
      r = JSON.parse(rec.next(wallet, 0, NONE));
    } else break;
  }
  rec.free();
  await persist();
  text('status', `Received ${r.done.stored} credentials from ${r.done.issuer}, each checked against the issuer's published keys.`);
  render();
}

function render_consent(c) {
  text('consent-verifier', c.verifier);
  text('consent-auth', c.authenticated ? '' : '(not authenticated: whoever controls this address can use this name)');
  text('consent-response-uri', c.response_uri);
  const facts = $('consent-facts'), disclosed = $('consent-disclosed'), priv = $('consent-private');
  clear(facts); clear(disclosed); clear(priv);
  for (const cred of c.credentials) {
    for (const f of cred.facts) facts.append(li(f.words));
    for (const d of cred.disclosed) disclosed.append(li(d.words));
    for (const p of cred.private) priv.append(li(p));
    if (cred.linkable) facts.append(li('Warning: this credential was shown before; the two verifiers could link the answers.'));
  }
  show('consent-disclosed-wrap', disclosed.childElementCount > 0);
  show('consent');
  return new Promise((resolve) => {
    $('share').onclick = () => { show('consent', false); resolve(true); };
    $('decline').onclick = () => { show('consent', false); resolve(false); };
  });
}

async function answer(link) {
  text('status', 'Reading the request…');
  show('refused', false); show('sent', false);
  const a = new Answering(link);
  let r = JSON.parse(a.next(wallet, 0, NONE));
  while (r.fetch && !r.refused) {
    const [status, body] = await perform(r.fetch);
    r = JSON.parse(a.next(wallet, status, body));
  }
  let words;
  if (r.refused) {
    text('refused-verifier', r.refused.verifier);
    text('refused-reason', r.refused.reason);
    $('refused').dataset.check = r.refused.check;
    show('refused');
    text('status', 'Request refused.');
    const [status, body] = await perform(r.fetch);
    try { a.next(wallet, status, body); } catch (_) { /* the verifier's ack of a refusal changes nothing */ }
    a.free();
    return;
  }
  text('status', 'Review what would be shared.');
  const agreed = await render_consent(r.consent);
  let out;
  if (agreed) {
    const t0 = performance.now();
    out = JSON.parse(a.consent(wallet));
    const ms = performance.now() - t0;
    $('sent').dataset.presentMs = ms.toFixed(1);
    await persist(); // spent before sent: never reused after a crash
    words = `Shared with ${r.consent.verifier}. Nothing else was sent.`;
  } else {
    out = JSON.parse(a.decline());
    words = `Declined. ${r.consent.verifier} learns only that you did not answer.`;
  }
  const [status, body] = await perform(out.fetch);
  a.next(wallet, status, body);
  a.free();
  text('sent-words', words);
  show('sent');
  text('status', agreed ? 'Answer sent.' : 'Declined.');
  render();
}

function date(secs) { return new Date(secs * 1000).toISOString().slice(0, 10); }

function render() {
  const list = JSON.parse(wallet.list());
  const body = $('credentials').tBodies[0];
  clear(body);
  // One row per issuer, type, expiry and state: a batch of 16 is 16 single-use copies.
  const rows = new Map();
  for (const c of list) {
    const key = [c.issuer, c.vct, date(c.expires), c.spent, c.known_status || c.state].join('|');
    const row = rows.get(key) || { c, n: 0 };
    row.n += 1;
    rows.set(key, row);
  }
  for (const { c, n } of rows.values()) {
    const tr = document.createElement('tr');
    const cells = [c.issuer, `${c.vct ?? '?'} ×${n}`, date(c.expires), c.spent ? 'used' : 'unused',
      c.known_status ?? (c.state === 'unused' || c.state === 'spent' ? (c.has_status ? 'not checked' : 'no status') : c.state)];
    for (const t of cells) { const td = document.createElement('td'); td.textContent = t; tr.append(td); }
    body.append(tr);
  }
  show('empty', list.length === 0);
  const refill = $('refill');
  clear(refill);
  for (const i of JSON.parse(wallet.inventory())) {
    const p = document.createElement('p');
    p.textContent = i.needs_refill
      ? `Only ${i.unspent} unused credential(s) left from ${i.issuer}: ask it for a new batch (each credential is shown once).`
      : `${i.unspent} unused credential(s) from ${i.issuer}${i.policy ? ` (${i.policy})` : ''}; ask for more below ${i.refill_below}.`;
    if (i.needs_refill) p.className = 'refill';
    refill.append(p);
  }
  $('credentials').dataset.unspent = String(wallet.unspent());
}

// Fetches each status list the credentials point at, and the issuer's
// keys; the library checks the list and updates what the wallet knows.
async function check_status() {
  let changed = 0, lists = 0;
  for (const src of JSON.parse(wallet.statusSources())) {
    const [ks, keys] = await perform({ method: 'GET', url: src.keys, headers: { Accept: 'application/json' } });
    const [ls, list] = await perform({ method: 'GET', url: src.uri, headers: { Accept: 'application/statuslist+jwt' } });
    if (ks !== 200 || ls !== 200) throw new Error(`${src.issuer}: the status list or the keys could not be fetched (${ls}, ${ks})`);
    changed += wallet.applyStatusList(src.issuer, src.uri, new TextDecoder().decode(list), keys);
    lists += 1;
  }
  await persist();
  text('status-note', `${lists} status list(s) checked; ${changed} credential(s) changed.`);
  render();
}

function show_breakdown(token) {
  const b = JSON.parse(readBreakdown(token));
  const rep = b.report;
  text('breakdown-policy', `Policy ${rep.policy_id}, version ${rep.policy_version}; as of ${rep.as_of}: score ${rep.score}, tier ${rep.tier}.`);
  const c = $('chart');
  clear(c);
  c.append(chart(rep, b.tiers));
  const body = $('breakdown-table').tBodies[0];
  clear(body);
  for (const item of rep.items) {
    const tr = document.createElement('tr');
    for (const t of [item.date, item.reference, item.kind, String(item.applied_points), String(item.running_total)]) {
      const td = document.createElement('td'); td.textContent = t; tr.append(td);
    }
    const td = document.createElement('td');
    const btn = document.createElement('button');
    btn.type = 'button'; btn.className = 'secondary'; btn.textContent = 'Dispute';
    btn.onclick = () => {
      const reason = prompt(`Why is ${item.reference} wrong?`) || 'This record is not mine.';
      text('dispute-json', disputeEntry(token, item.reference, reason));
      show('dispute');
    };
    td.append(btn); tr.append(td); body.append(tr);
  }
  show('breakdown');
}

async function open_link(link) {
  show('error', false);
  link = link.trim();
  // A pasted offer object becomes the by-value link it stands for (the
  // library reads and checks it).
  if (link.startsWith('{')) link = `openid-credential-offer://?credential_offer=${encodeURIComponent(link)}`;
  try {
    if (link.startsWith('openid-credential-offer:')) await receive(link);
    else if (link.startsWith('openid4vp:')) await answer(link);
    else throw new Error('Not a link this wallet knows: expected openid-credential-offer:// or openid4vp://.');
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  }
}

async function main() {
  await init();
  const saved = await store.load();
  wallet = saved ? WalletCore.load(saved) : new WalletCore();
  render();
  text('status', 'Ready.');
  $('open').onclick = () => open_link($('link').value);
  $('check-status').onclick = () => { check_status().catch((e) => fail(String(e.message ?? e))); };
  $('breakdown-open').onclick = () => { try { show_breakdown($('breakdown-input').value); } catch (e) { fail(String(e.message ?? e)); } };
  document.body.dataset.ready = '1';
  // Same-device links: /wallet/#offer=<link> or /wallet/#request=<link>
  // (in the fragment: never sent to the wallet's server).
  const h = new URLSearchParams(location.hash.slice(1));
  const link = h.get('offer') ?? h.get('request');
  if (link) {
    history.replaceState(null, '', location.pathname);
    await open_link(link);
  }
}

main().catch((e) => fail(String(e.message ?? e)));
