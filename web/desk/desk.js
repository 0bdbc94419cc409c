// The rental desk: asks the verifier service (same origin) for a check,
// shows its link as a QR code and as a same-device link, and waits for
// the verdict in plain words. The API token stays on the server.
const $ = (id) => document.getElementById(id);

function wallet_url() {
  // The web wallet to offer next to the openid4vp:// link, if the page
  // was opened with ?wallet=<origin> (e.g. http://127.0.0.1:8090).
  const w = new URLSearchParams(location.search).get('wallet');
  if (!w) return null;
  try {
    const u = new URL(w);
    if (u.protocol === 'https:' || (u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname))) {
      return u.origin;
    }
  } catch (_) { /* ignored: no web wallet link */ }
  return null;
}

function show_error(message) {
  $('error').textContent = message;
  $('error').hidden = false;
  $('check').disabled = false;
}

async function wait_for(id) {
  for (;;) {
    const r = await fetch(`check/${encodeURIComponent(id)}`, { cache: 'no-store' });
    if (!r.ok) { show_error('The check is no longer known to the verifier. Start a new one.'); return; }
    const v = await r.json();
    if (v.state === 'pending') continue;
    $('waiting').hidden = true;
    const words = $('verdict-words');
    words.textContent = v.words;
    words.className = 'verdict ' + (v.eligible ? 'eligible' : 'not-eligible');
    words.dataset.state = v.state;
    $('verdict').hidden = false;
    $('check').disabled = false;
    return;
  }
}

async function check() {
  $('check').disabled = true;
  $('error').hidden = true;
  $('verdict').hidden = true;
  const r = await fetch('check', { method: 'POST', cache: 'no-store' });
  const v = await r.json().catch(() => ({}));
  if (!r.ok) { show_error(v.error || `The verifier answered ${r.status}.`); return; }
  $('asks').textContent = v.asks.join(', ');
  if (v.qr) $('qr').src = v.qr;
  $('same-device').href = v.link;
  const w = wallet_url();
  if (w) {
    $('web-wallet').href = `${w}/wallet/#request=${encodeURIComponent(v.link)}`;
    $('web-wallet-wrap').hidden = false;
  }
  $('waiting').hidden = false;
  $('request').hidden = false;
  await wait_for(v.id);
}

$('check').addEventListener('click', () => { check().catch((e) => show_error(String(e))); });
