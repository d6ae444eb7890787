// The browser SDK (sdk/treu.js, served by treu at /sdk/treu.js) on a shop's page of another
// origin, in a real headless Chromium (Debian's, driven by npm playwright-core) against a real
// `treu serve`. The shop is a small Node http server on another loopback port with a strict
// Content-Security-Policy and hostile CSS; its page embeds the stub snippet of docs/sdk.md.
//   - identify/track/page calls made before treu.js loaded are replayed and land (read back
//     over REST), with the anonymous id kept across page loads, and no console error;
//   - the CORS preflight and headers of the /v1/ routes, none elsewhere;
//   - in-app messages (modal and banner, axe-core, keyboard, shown/dismissed/clicked) and a
//     wrong identity hash: these need the /v1/inapp routes, skipped when the server has none;
//   - web push: the sample service worker shows a payload and opens its URL on a click;
//     treu.push.subscribe()/unsubscribe() against treu with the browser's push service stood
//     in for (headless Chromium has none), skipped when the server has no push routes or no
//     VAPID key.
//
// Usage: node sdk_browser_test.mjs sqlite|postgres  (TREU names the binary)
import { chromium } from 'playwright-core';
import { execFileSync, spawn } from 'node:child_process';
import { createECDH, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';

const TREU = process.env.TREU;
const backend = process.argv[2] ?? 'sqlite';
const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const SDK_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'sdk');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const NAVIGATION_TIMEOUT = 30_000;  // generous: CI serves with the ASan build
const ACTION_TIMEOUT = 15_000;

const tmp = mkdtempSync(join(tmpdir(), 'treu-sdk-'));
const env = { ...process.env, TREU_SECRET_FILE: join(tmp, 'signing.secret') };

// ---- setup and cleanup ----------------------------------------------------------------------

let server = null;
let serverLog = '';
let shop = null;
const contexts = new Set();
let base, shopBase, trackingKey, readKey, adminKey;
let inappRoutes = false;  // the server under test has GET /v1/inapp

function freshDb() {
  if (backend === 'sqlite') return `sqlite:${join(tmp, 'sdk.db')}`;
  const url = process.env.TREU_TEST_PG_URL;
  if (!url) throw new Error('TREU_TEST_PG_URL is not set: run under scripts/with-postgres');
  const name = `sdk_${Math.random().toString(36).slice(2, 12)}`;
  execFileSync('psql', ['-q', url, '-c', `CREATE DATABASE ${name}`]);
  return `${url.slice(0, url.lastIndexOf('/'))}/${name}`;
}

const freePort = () => new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

// The stub snippet exactly as docs/sdk.md gives it, for this treu and key.
const snippet = (host, key) => `!function (w, d, host, key) {
  var t = w.treu = w.treu || [];
  if (t.loaded) return;
  ['load', 'identify', 'track', 'page', 'setUser', 'reset', 'ready'].forEach(function (m) {
    t[m] = t[m] || function () { t.push([m].concat([].slice.call(arguments))); return t; };
  });
  var s = d.createElement('script');
  s.async = true;
  s.src = host + '/sdk/treu.js';
  d.head.appendChild(s);
  t.load({ host: host, writeKey: key });
}(window, document, ${JSON.stringify(host)}, ${JSON.stringify(key)});`;

// The shop's pages, by path: each is the snippet followed by `script` (page-specific calls).
const shopPages = new Map();
const nonce = randomBytes(12).toString('base64');

function shopHtml(script) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example shop</title>
<link rel="stylesheet" href="/shop.css">
<script nonce="${nonce}">
${snippet(base, trackingKey)}
${script}
</script></head>
<body><main><h1>Example shop</h1>
<button id="buy" type="button">Add to cart</button>
<input id="search" aria-label="Search" type="search">
</main>
<script nonce="${nonce}">
document.getElementById('buy').addEventListener('click', function () {
  treu.track('Product Added', { sku: 'A-1', price: 19.9 });
});
</script></body></html>`;
}

// CSS that would wreck a widget drawn in the light DOM: it must not reach into treu's shadow
// roots (and the page keeps its own button visible).
const SHOP_CSS = `h2, p, a, [role="dialog"], [role="region"] { display: none !important; }
button { color: red !important; font-size: 40px !important; }
body * { font-family: serif !important; }`;

function startShop(port) {
  const sw = readFileSync(join(SDK_DIR, 'treu-sw.js'));
  const csp = `default-src 'self'; script-src 'self' 'nonce-${nonce}' ${base}; connect-src ${base}; ` +
    `style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'`;
  const s = createHttpServer((req, res) => {
    const path = new URL(req.url, shopBase).pathname;
    if (shopPages.has(path)) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': csp });
      res.end(shopHtml(shopPages.get(path)));
    } else if (path === '/shop.css') {
      res.writeHead(200, { 'Content-Type': 'text/css' });
      res.end(SHOP_CSS);
    } else if (path === '/treu-sw.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(sw);
    } else if (path === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  return new Promise((resolve) => s.listen(port, '127.0.0.1', () => resolve(s)));
}

// Safety net: never leave the server behind, even when node dies on an uncaught error.
process.on('exit', () => { if (server && server.exitCode === null) server.kill('SIGKILL'); });

before(async () => {
  assert.ok(TREU, 'TREU must name the treu binary');
  const db = freshDb();
  const cli = (...args) => execFileSync(TREU, ['--db', db, '--workspace', 'shop', ...args], { encoding: 'utf8', env });
  cli('workspace', 'create', 'shop', '--currency', 'EUR');
  const key = (scope) => cli('key', 'create', '--scope', scope).trim().split(/\s+/).pop();
  trackingKey = key('tracking');
  readKey = key('read');
  adminKey = key('admin');

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(TREU, ['--db', db, 'serve', '--listen', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stderr.on('data', (d) => { serverLog = (serverLog + d).slice(-4000); });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`treu serve did not say "listening" in 30 s:\n${serverLog}`)), 30_000);
    server.stdout.on('data', (d) => { if (String(d).includes('listening')) { clearTimeout(timer); resolve(); } });
    server.on('exit', (code) => { clearTimeout(timer); reject(new Error(`treu exited with ${code}:\n${serverLog}`)); });
  });
  // Another origin: same host, another port.
  const shopPort = await freePort();
  shopBase = `http://127.0.0.1:${shopPort}`;
  shop = await startShop(shopPort);
  // The in-app and push routes come with another branch; without them those tests skip.
  const probe = await fetch(`${base}/v1/inapp`, { headers: { Authorization: basic(trackingKey) } });
  inappRoutes = probe.status !== 404;
});

after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  if (shop) await new Promise((resolve) => shop.close(resolve));
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.on('exit', resolve));
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(tmp, { recursive: true, force: true });
});

// ---- helpers --------------------------------------------------------------------------------

const basic = (key) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
// The identity secret's text is the HMAC key (docs/channels.md).
const hmac = (secret, userId) => createHmac('sha256', secret).update(userId).digest('hex');

// Runs fn(page, problems, context) in a Chromium started on a new, empty profile, closed
// afterwards. problems collects page errors, console errors and CSP refusals.
async function withBrowser(options, fn) {
  const profile = mkdtempSync(join(tmp, 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, ...options,
  });
  contexts.add(context);
  try {
    context.setDefaultTimeout(ACTION_TIMEOUT);
    context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT);
    const page = context.pages()[0] ?? await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
    });
    return await fn(page, problems, context);
  } finally {
    contexts.delete(context);
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function api(route, { key = readKey, method = 'GET', body, status = 200 } = {}) {
  const r = await fetch(base + route, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  const expected = [status].flat();  // one status or a list of acceptable ones
  assert.ok(expected.includes(r.status), `${method} ${route}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// Polls fn until it returns a truthy value (the value), for up to `ms`.
async function eventually(fn, ms = 10_000, what = 'the condition') {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function events(userId) {
  return (await api(`/api/v1/events?user_id=${encodeURIComponent(userId)}&limit=500`)).data;
}

// axe-core in the page (evaluated over the DevTools protocol, which the shop's CSP does not
// stop): the serious and critical violations, described; others go to the diagnostics.
async function axeViolations(t, page, where) {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const describe = (v) => `${where}: ${v.id} (${v.impact}) ${v.help}\n` +
    v.nodes.map((n) => `    ${JSON.stringify(n.target)}: ${n.html}\n      ${n.failureSummary.replace(/\n/g, '\n      ')}`).join('\n');
  const serious = (v) => v.impact === 'serious' || v.impact === 'critical';
  for (const v of result.violations.filter((x) => !serious(x))) t.diagnostic(describe(v));
  return result.violations.filter(serious).map(describe);
}

// The element focused inside treu's shadow roots (or the document's), described.
const focusedText = (page) => page.evaluate(() => {
  let e = document.activeElement;
  while (e && e.shadowRoot && e.shadowRoot.activeElement) e = e.shadowRoot.activeElement;
  return e ? `${e.tagName.toLowerCase()}:${e.textContent.trim()}` : '';
});

// ---- tracking -------------------------------------------------------------------------------

test('tracking from the shop\'s origin: calls made before treu.js loaded are replayed and land', { timeout: 90_000 }, async () => {
  shopPages.set('/', `treu.identify('cust-1', { email: 'ana@shop.example', name: 'Ana Example', plan: 'gold', visits: 3 });
treu.track('Product Viewed', { sku: 'A-1', price: 19.9 });
treu.page('Home', { section: 'front' });
window.queuedBeforeLoad = Array.isArray(window.treu) ? window.treu.length : -1;`);
  shopPages.set('/second', `treu.page();`);
  await withBrowser({ timezoneId: 'Europe/Berlin', locale: 'de-DE' }, async (page, problems) => {
    const landed = [];
    page.on('response', (r) => { if (r.url().startsWith(`${base}/v1/`) && r.request().method() === 'POST') landed.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`); });
    const response = await page.goto(`${shopBase}/`);
    assert.equal(response.status(), 200);
    // load, identify, track and page were queued by the stub before treu.js ran.
    assert.equal(await page.evaluate(() => window.queuedBeforeLoad), 4);
    await page.waitForFunction(() => window.treu && window.treu.loaded === true);
    await eventually(() => landed.length >= 3, 15_000, 'the three replayed calls');
    assert.deepEqual(landed.sort(), ['POST /v1/identify 200', 'POST /v1/page 200', 'POST /v1/track 200']);

    // A call after load, from a click on the shop's page.
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await eventually(() => landed.length >= 4, 15_000, 'the click\'s track call');
    const ids = await page.evaluate(() => window.treu.user());
    assert.equal(ids.userId, 'cust-1');
    assert.match(ids.anonymousId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    // The customer, with the traits and the browser's locale and time zone.
    const customer = await api('/api/v1/customers/cust-1');
    assert.equal(customer.email, 'ana@shop.example');
    assert.equal(customer.name, 'Ana Example');
    assert.equal(customer.locale, 'de-DE');
    assert.equal(customer.time_zone, 'Europe/Berlin');
    assert.equal(customer.attributes.plan, 'gold');
    assert.equal(customer.attributes.visits, 3);

    // The events: each with the SDK's messageId (a UUID) and the anonymous id.
    const got = await events('cust-1');
    const byType = (type, name) => got.filter((e) => e.type === type && (name === undefined || e.name === name));
    assert.equal(byType('identify').length, 1);
    assert.equal(byType('track', 'Product Viewed').length, 1);
    assert.deepEqual(byType('track', 'Product Viewed')[0].properties, { sku: 'A-1', price: 19.9 });
    assert.equal(byType('track', 'Product Added').length, 1);
    const home = byType('page', 'Home');
    assert.equal(home.length, 1);
    assert.equal(home[0].properties.section, 'front');
    assert.equal(home[0].properties.url, `${shopBase}/`);
    assert.equal(home[0].properties.title, 'Example shop');
    for (const e of got) {
      assert.match(e.message_id, /^[0-9a-f-]{36}$/);
      assert.equal(e.anonymous_id, ids.anonymousId);
    }

    // The next page of the visit: the same anonymous id and user id, from localStorage.
    // A link followed from the first page (page.goto sends no referrer of its own).
    await page.goto(`${shopBase}/second`, { referer: `${shopBase}/` });
    await page.waitForFunction(() => window.treu && window.treu.loaded === true);
    assert.deepEqual(await page.evaluate(() => window.treu.user()), ids);
    await eventually(async () => (await events('cust-1')).filter((e) => e.type === 'page').length === 2, 15_000, 'the second page view');
    const second = (await events('cust-1')).filter((e) => e.type === 'page').find((e) => e.name === null);
    assert.equal(second.properties.path, '/second');
    assert.equal(second.properties.referrer, `${shopBase}/`);
    assert.equal(second.anonymous_id, ids.anonymousId);

    assert.deepEqual(problems, []);
  });
});

test('errors never reach the shop\'s page', { timeout: 60_000 }, async () => {
  shopPages.set('/errors', `treu.track();
treu.track('x', 'not an object');
treu.identify(null);`);
  await withBrowser({}, async (page, problems) => {
    await page.goto(`${shopBase}/errors`);
    await page.waitForFunction(() => window.treu && window.treu.loaded === true);
    const results = await page.evaluate(async () => {
      const t = window.treu;
      return {
        noUser: await t.inapp.fetch(),        // no setUser: nothing to fetch, no request
        push: await t.push.subscribe(),      // no verified user
        unsubscribe: await t.push.unsubscribe(),
        loadAgain: t.load({}) === undefined,
        badSetUser: t.setUser() === undefined,
      };
    });
    assert.deepEqual(results, { noUser: [], push: null, unsubscribe: false, loadAgain: true, badSetUser: true });
    assert.deepEqual(problems, []);
  });
});

test('CORS: preflights of /v1/ routes need no key; other paths stay same-origin', async () => {
  const origin = 'http://shop.example';
  const preflight = await fetch(`${base}/v1/track`, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
  assert.equal(preflight.headers.get('access-control-allow-methods'), 'GET, POST');
  assert.equal(preflight.headers.get('access-control-allow-headers'), 'Authorization, Content-Type, Treu-User-Id, Treu-User-Hash');
  assert.equal(preflight.headers.get('access-control-max-age'), '86400');
  assert.equal(preflight.headers.get('access-control-allow-credentials'), null);
  // Errors are readable by the page too.
  const unauthenticated = await fetch(`${base}/v1/track`, { method: 'POST', headers: { Origin: origin }, body: '{}' });
  assert.equal(unauthenticated.status, 401);
  assert.equal(unauthenticated.headers.get('access-control-allow-origin'), '*');
  const unknown = await fetch(`${base}/v1/nope`, { method: 'OPTIONS', headers: { Origin: origin } });
  assert.equal(unknown.status, 404);
  // The REST API and the dashboard's session: no CORS at all.
  for (const path of ['/api/v1/customers', '/api/v1/session']) {
    const r = await fetch(base + path, { method: 'OPTIONS', headers: { Origin: origin } });
    assert.equal(r.status, 405, path);
    assert.equal(r.headers.get('access-control-allow-origin'), null, path);
  }
  const rest = await fetch(`${base}/api/v1/customers`, { headers: { Origin: origin, Authorization: `Bearer ${readKey}` } });
  assert.equal(rest.status, 200);
  assert.equal(rest.headers.get('access-control-allow-origin'), null);
  // The SDK itself.
  for (const file of ['treu.js', 'treu-sw.js']) {
    const r = await fetch(`${base}/sdk/${file}`, { headers: { Origin: origin } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(r.headers.get('cache-control'), 'public, max-age=3600');
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.equal(await r.text(), readFileSync(join(SDK_DIR, file), 'utf8'), `the served ${file} is sdk/${file}`);
  }
});

// ---- in-app messages ------------------------------------------------------------------------

test('in-app: a modal and a banner for the verified user; shown, dismissed, clicked', { timeout: 120_000 }, async (t) => {
  if (!inappRoutes) return t.skip('this server has no /v1/inapp route (the in-app branch is not merged)');
  const { identity_secret: secret } = await api('/api/v1/channels/identity-secret', { key: adminKey, method: 'POST', status: [200, 201] });
  assert.match(secret, /^[0-9a-f]{32,}$/);
  await api('/api/v1/customers', { key: adminKey, method: 'POST', body: { id: 'mia', email: 'mia@shop.example', name: 'Mia Muster' }, status: 201 });
  await api('/api/v1/templates', {
    key: adminKey, method: 'POST', status: [200, 201],
    body: { name: 'hello', channel: 'inapp', layout: 'modal', subject: 'Hi {{ customer.first_name }}', text: 'Your offer', link_url: 'https://shop.example/offer' },
  });
  await api('/api/v1/templates', {
    key: adminKey, method: 'POST', status: [200, 201],
    body: { name: 'news', channel: 'inapp', layout: 'banner', subject: 'New in', text: 'Spring collection', link_url: 'https://shop.example/spring' },
  });
  for (const template of ['hello', 'news']) {
    await api('/api/v1/sends', { key: adminKey, method: 'POST', body: { template, customers: ['mia'] }, status: [200, 201, 202] });
  }
  const hash = hmac(secret, 'mia');
  // The outbox worker delivers both within a second or two.
  const waiting = await eventually(async () => {
    const r = await fetch(`${base}/v1/inapp`, { headers: { Authorization: basic(trackingKey), 'Treu-User-Id': 'mia', 'Treu-User-Hash': hash } });
    assert.equal(r.status, 200);
    const { data } = await r.json();
    return data.length >= 2 ? data : null;
  }, 20_000, 'the two in-app messages');
  const modalId = waiting.find((m) => m.layout === 'modal').id;
  const bannerId = waiting.find((m) => m.layout === 'banner').id;

  shopPages.set('/account', `treu.setUser('mia', ${JSON.stringify(hash)});`);
  const found = [];
  await withBrowser({}, async (page, problems) => {
    await page.route('https://shop.example/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Offer</title>' }));
    await page.goto(`${shopBase}/account`);
    const dialog = page.getByRole('dialog', { name: 'Hi Mia' });
    await dialog.waitFor();
    assert.equal(await dialog.getAttribute('aria-modal'), 'true');
    assert.equal(await dialog.getByText('Your offer').isVisible(), true, 'the shop\'s CSS does not hide it');
    const link = dialog.getByRole('link', { name: 'View' });
    assert.equal(await link.getAttribute('href'), 'https://shop.example/offer');
    const banner = page.getByRole('region', { name: 'New in' });
    await banner.waitFor();
    assert.equal(await banner.getByText('Spring collection').isVisible(), true);
    found.push(...await axeViolations(t, page, 'modal and banner'));

    // Keyboard: the link has the focus, Tab and Shift+Tab stay in the dialog, Escape closes.
    assert.equal(await focusedText(page), 'a:View');
    await page.keyboard.press('Tab');
    assert.equal(await focusedText(page), 'button:Close');
    await page.keyboard.press('Tab');
    assert.equal(await focusedText(page), 'a:View');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await focusedText(page), 'button:Close');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await page.locator('treu-modal').count(), 0);

    // The banner's link: reported, then followed.
    await Promise.all([page.waitForURL('https://shop.example/spring'), banner.getByRole('link', { name: 'View' }).click()]);
    assert.deepEqual(problems, []);
  });
  assert.deepEqual(found, [], `axe-core violations:\n${found.join('\n')}`);

  const kinds = async (id) => (await api(`/api/v1/messages/${id}`)).log.map((e) => e.kind);
  await eventually(async () => {
    const k = await kinds(modalId);
    return k.includes('shown') && k.includes('dismissed');
  }, 10_000, `shown and dismissed in message ${modalId}'s log`);
  await eventually(async () => {
    const k = await kinds(bannerId);
    return k.includes('shown') && k.includes('clicked');
  }, 10_000, `shown and clicked in message ${bannerId}'s log`);
});

test('in-app: a wrong identity hash shows nothing (treu answers 403)', { timeout: 60_000 }, async (t) => {
  if (!inappRoutes) return t.skip('this server has no /v1/inapp route (the in-app branch is not merged)');
  shopPages.set('/forged', `treu.setUser('mia', '${'0'.repeat(64)}');`);
  await withBrowser({}, async (page) => {
    const answer = page.waitForResponse((r) => r.url() === `${base}/v1/inapp`);
    await page.goto(`${shopBase}/forged`);
    assert.equal((await answer).status(), 403);
    await page.waitForTimeout(500);
    assert.equal(await page.locator('treu-modal, treu-banner').count(), 0);
  });
});

// ---- web push -------------------------------------------------------------------------------

test('push: the sample service worker shows the payload and opens its URL on a click', { timeout: 60_000 }, async () => {
  shopPages.set('/push', '');
  await withBrowser({}, async (page, problems, context) => {
    await context.grantPermissions(['notifications'], { origin: shopBase });
    await page.goto(`${shopBase}/push`);
    const [worker] = await Promise.all([
      context.waitForEvent('serviceworker'),
      page.evaluate(() => navigator.serviceWorker.register('/treu-sw.js').then(() => navigator.serviceWorker.ready)),
    ]);
    // Push and click events as the browser dispatches them (headless Chromium has no push
    // service to deliver a real one). A script-made event may not call waitUntil, so each
    // gets its own that collects the promises the worker hands it; opening windows needs a
    // real click, so openWindow records the URL instead.
    const seen = await worker.evaluate(async () => {
      const run = async (event) => {
        const waits = [];
        event.waitUntil = (p) => { waits.push(p); };
        self.dispatchEvent(event);
        await Promise.all(waits);
      };
      const opened = [];
      self.clients.openWindow = async (url) => { opened.push(url); return null; };
      await run(new PushEvent('push', { data: JSON.stringify({ title: 'Sale', body: '20 % off', url: '/sale?x=1' }) }));
      await run(new PushEvent('push', { data: JSON.stringify({ title: 'Bad link', body: 'b', url: 'javascript:alert(1)' }) }));
      await run(new PushEvent('push', { data: 'not JSON' }));
      const shown = await self.registration.getNotifications();
      for (const notification of shown) await run(new NotificationEvent('notificationclick', { notification }));
      return {
        shown: shown.map((n) => ({ title: n.title, body: n.body, url: n.data.url })),
        opened,
        left: (await self.registration.getNotifications()).length,
      };
    });
    const byTitle = (a, b) => a.title.localeCompare(b.title);
    assert.deepEqual(seen.shown.sort(byTitle), [
      { title: 'Bad link', body: 'b', url: '' },
      { title: 'Sale', body: '20 % off', url: `${shopBase}/sale?x=1` },
      { title: '127.0.0.1', body: 'not JSON', url: '' },
    ].sort(byTitle));
    assert.deepEqual(seen.opened, [`${shopBase}/sale?x=1`], 'only the http(s) URL is opened');
    assert.equal(seen.left, 0, 'a click closes the notification');
    assert.deepEqual(problems, []);
  });
});

// pushManager.subscribe() needs the browser's push service (FCM for Chromium): headless
// Chromium here has none, and calling it ends the browser. So the browser's part is replaced
// by a stand-in that records the key it gets and answers a subscription as the push service
// would; the SDK's part is real: the worker's registration, the VAPID key from treu with the
// user's identity headers, the call's options, the subscription sent to treu and removed.
test('push: treu.push.subscribe() and unsubscribe() with the browser\'s push service stood in for', { timeout: 60_000 }, async (t) => {
  if (!inappRoutes) return t.skip('this server has no push routes (the push branch is not merged)');
  await api('/api/v1/channels/settings', { key: adminKey, method: 'PATCH', body: { vapid_subject: 'mailto:ops@shop.example' }, status: [200] });
  const keyAnswer = await fetch(`${base}/v1/push/key`, { headers: { Authorization: basic(trackingKey) } });
  if (keyAnswer.status === 404) return t.skip('push is not set up on this server (no VAPID key)');
  const { vapid_public_key: vapid } = await keyAnswer.json();
  const { identity_secret: secret } = await api('/api/v1/channels/identity-secret', { key: adminKey, method: 'POST', status: [200, 201] });
  await api('/api/v1/customers', { key: adminKey, method: 'POST', body: { id: 'pia', email: 'pia@shop.example' }, status: 201 });
  shopPages.set('/subscribe', `treu.setUser('pia', ${JSON.stringify(hmac(secret, 'pia'))});`);
  const ecdh = createECDH('prime256v1');
  const subscriptionKeys = { p256dh: ecdh.generateKeys().toString('base64url'), auth: randomBytes(16).toString('base64url') };
  await withBrowser({}, async (page, problems, context) => {
    await context.grantPermissions(['notifications'], { origin: shopBase });
    await page.addInitScript((keys) => {
      const state = { options: null, subscription: null };
      window.pushStandIn = state;
      PushManager.prototype.subscribe = async function (options) {
        state.options = { userVisibleOnly: options.userVisibleOnly, key: Array.from(new Uint8Array(options.applicationServerKey)) };
        state.subscription = {
          endpoint: 'https://push.example/send/abc123',
          toJSON() { return { endpoint: this.endpoint, expirationTime: null, keys }; },
          async unsubscribe() { state.subscription = null; return true; },
        };
        return state.subscription;
      };
      PushManager.prototype.getSubscription = async function () { return state.subscription; };
    }, subscriptionKeys);
    const sent = page.waitForResponse((r) => r.url() === `${base}/v1/push/subscribe`);
    await page.goto(`${shopBase}/subscribe`);
    await page.waitForFunction(() => window.treu && window.treu.loaded === true);
    const result = await page.evaluate(() => window.treu.push.subscribe({ serviceWorker: '/treu-sw.js' }));
    assert.equal((await sent).status(), 201);
    assert.equal(typeof result.id, 'number');
    const options = await page.evaluate(() => window.pushStandIn.options);
    assert.equal(options.userVisibleOnly, true);
    assert.deepEqual(options.key, [...Buffer.from(vapid, 'base64url')], 'subscribed with treu\'s VAPID key');
    assert.equal(await page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length), 1);
    const removed = page.waitForResponse((r) => r.url() === `${base}/v1/push/unsubscribe`);
    assert.equal(await page.evaluate(() => window.treu.push.unsubscribe({ serviceWorker: '/treu-sw.js' })), true);
    assert.equal((await removed).status(), 200);
    assert.equal(await page.evaluate(() => window.pushStandIn.subscription), null);
    assert.deepEqual(problems, []);
  });
});
