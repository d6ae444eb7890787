// The hosted survey page (/s/{token}) in a real headless Chromium (Debian's, driven by npm
// playwright-core) against a real `treu serve`: customers answer with the mouse, with the
// keyboard alone, and with one click on the eleven-link scale of the email snippet; the test
// reads the stored answers back over REST. A tampered link shows an error page and records
// nothing; axe-core finds no serious or critical accessibility violation on any page the
// customer can see; the page fits a 390 px wide phone; customers with a German locale see
// German texts.
//
// Usage: node survey_browser_test.mjs sqlite|postgres  (TREU names the binary)
import { chromium } from 'playwright-core';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';

const TREU = process.env.TREU;
const backend = process.argv[2] ?? 'sqlite';
const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const NAVIGATION_TIMEOUT = 30_000;  // generous: CI serves with the ASan build
const ACTION_TIMEOUT = 15_000;

const tmp = mkdtempSync(join(tmpdir(), 'treu-browser-'));
// The signing secret shared by `treu survey links` and `treu serve`.
const env = { ...process.env, TREU_SECRET_FILE: join(tmp, 'signing.secret') };

const SURVEY = {
  name: 'browser-nps', kind: 'relationship', every_days: 90, min_gap_days: 30,
  default_locale: 'en',
  title: { en: 'Your opinion counts', de: 'Ihre Meinung zählt' },
  intro: { en: 'Three quick questions.', de: 'Drei kurze Fragen.' },
  thanks: { en: 'Thank you for your feedback!', de: 'Danke für Ihr Feedback!' },
  questions: [
    { id: 'nps', kind: 'nps', required: true,
      text: { en: 'How likely are you to recommend us?', de: 'Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen?' },
      follow_up: { min: 0, max: 6, question: { id: 'improve', kind: 'text',
        text: { en: 'What should we improve?', de: 'Was können wir besser machen?' } } } },
    { id: 'csat', kind: 'csat',
      text: { en: 'How satisfied are you with the delivery?', de: 'Wie zufrieden sind Sie mit der Lieferung?' } },
    { id: 'channel', kind: 'single_choice',
      text: { en: 'Where do you usually shop?', de: 'Wo kaufen Sie meistens?' },
      choices: [{ id: 'web', label: { en: 'Online', de: 'Online' } },
        { id: 'store', label: { en: 'In store', de: 'Im Laden' } }] },
  ],
};
const EN = {
  nps: 'How likely are you to recommend us?', improve: 'What should we improve?',
  csat: 'How satisfied are you with the delivery?', channel: 'Where do you usually shop?',
};
const DE = {
  nps: 'Wie wahrscheinlich ist es, dass Sie uns weiterempfehlen?', improve: 'Was können wir besser machen?',
  csat: 'Wie zufrieden sind Sie mit der Lieferung?', channel: 'Wo kaufen Sie meistens?',
};
// Who does what: anna the mouse, ben the keyboard, carla (German) the email snippet, dora a
// tampered link, emil (de-AT, falls back to de) the phone, fritz the accessibility checks.
const CUSTOMERS = `customer_id,email,name,locale
anna,anna@shop.example,Anna,en-GB
ben,ben@shop.example,Ben,en
carla,carla@shop.example,Carla,de-DE
dora,dora@shop.example,Dora,
emil,emil@shop.example,Emil,de-AT
fritz,fritz@shop.example,Fritz,en
`;

// ---- setup and cleanup ----------------------------------------------------------------------

let server = null;
let serverLog = '';
const contexts = new Set();
let base, readKey, surveyId, links, snippet;

function freshDb() {
  if (backend === 'sqlite') return `sqlite:${join(tmp, 'browser.db')}`;
  const url = process.env.TREU_TEST_PG_URL;
  if (!url) throw new Error('TREU_TEST_PG_URL is not set: run under scripts/with-postgres');
  const name = `browser_${Math.random().toString(36).slice(2, 12)}`;
  execFileSync('psql', ['-q', url, '-c', `CREATE DATABASE ${name}`]);
  return `${url.slice(0, url.lastIndexOf('/'))}/${name}`;
}

const freePort = () => new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

// RFC 4180 CSV (quoted fields may hold commas, quotes and line breaks) into objects.
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
    else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}

// Safety net: never leave the server behind, even when node dies on an uncaught error.
process.on('exit', () => { if (server && server.exitCode === null) server.kill('SIGKILL'); });

before(async () => {
  assert.ok(TREU, 'TREU must name the treu binary');
  const db = freshDb();
  const cli = (...args) => execFileSync(TREU, ['--db', db, '--workspace', 'shop', ...args], { encoding: 'utf8', env });
  cli('workspace', 'create', 'shop', '--currency', 'EUR');
  readKey = cli('key', 'create', '--scope', 'read').trim().split(/\s+/).pop();
  writeFileSync(join(tmp, 'customers.csv'), CUSTOMERS);
  cli('import', 'customers', join(tmp, 'customers.csv'));
  writeFileSync(join(tmp, 'survey.json'), JSON.stringify(SURVEY));
  surveyId = Number(/\(id (\d+)\)/.exec(cli('survey', 'create', join(tmp, 'survey.json')))[1]);

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  links = Object.fromEntries(parseCsv(cli('survey', 'links', SURVEY.name, '--where', 'email contains "@shop.example"',
    '--base-url', base)).map((r) => [r.customer_id, r.link]));
  // Carla was just invited: her second link (with the email scale) needs --ignore-schedule.
  [snippet] = parseCsv(cli('survey', 'links', SURVEY.name, '--where', 'email = "carla@shop.example"',
    '--base-url', base, '--snippet', '--ignore-schedule'));

  server = spawn(TREU, ['--db', db, 'serve', '--listen', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stderr.on('data', (d) => { serverLog = (serverLog + d).slice(-4000); });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`treu serve did not say "listening" in 30 s:\n${serverLog}`)), 30_000);
    server.stdout.on('data', (d) => { if (String(d).includes('listening')) { clearTimeout(timer); resolve(); } });
    server.on('exit', (code) => { clearTimeout(timer); reject(new Error(`treu exited with ${code}:\n${serverLog}`)); });
  });
});

after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
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

// Runs fn(page, problems) in a Chromium started on a new, empty profile, closed afterwards.
// problems collects page errors and Content-Security-Policy refusals seen by the page.
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
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`); });
    return await fn(page, problems);
  } finally {
    contexts.delete(context);
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function api(route) {
  const r = await fetch(base + route, { headers: { Authorization: `Bearer ${readKey}` } });
  assert.equal(r.status, 200, `${route}: ${await r.clone().text()}`);
  return r.json();
}

// Every stored response of the survey, as customer_id → answers.
async function responses() {
  const all = [];
  for (let cursor = ''; ;) {
    const page = await api(`/api/v1/surveys/${surveyId}/responses?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    all.push(...page.data);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return new Map(all.map((r) => [r.customer_id, r.answers]));
}

// The question groups (fieldset + legend) of the page, by the survey's texts.
const group = (page, text) => page.getByRole('group', { name: text });
const scoreLabel = (page, text, score) => group(page, text).locator('label').getByText(String(score), { exact: true });
const radio = (page, text, name) => group(page, text).getByRole('radio', { name: String(name), exact: true });

async function focused(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    return { tag: e.tagName.toLowerCase(), name: e.getAttribute('name'), value: e.value ?? null,
      checked: e.checked ?? null, focusVisible: e.matches(':focus-visible') };
  });
}

async function assertThanks(page, title, message) {
  try {
    await page.getByRole('heading', { level: 1, name: title }).waitFor();
  } catch {
    assert.fail(`expected the thank-you page "${title}", got:\n${await page.locator('body').innerText()}`);
  }
  assert.equal(await page.getByText(message, { exact: true }).isVisible(), true);
  assert.equal(await page.locator('form').count(), 0, 'the thank-you page has no form');
}

// axe-core in the page (evaluated over the DevTools protocol, which the page's CSP that
// forbids every script does not stop): the serious and critical violations, described; the
// minor and moderate ones only go to the test's diagnostics.
async function axeViolations(t, page, where) {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const describe = (v) => `${where}: ${v.id} (${v.impact}) ${v.help}\n` +
    v.nodes.map((n) => `    ${n.target.join(' ')}: ${n.html}\n      ${n.failureSummary.replace(/\n/g, '\n      ')}`).join('\n');
  const serious = (v) => v.impact === 'serious' || v.impact === 'critical';
  for (const v of result.violations.filter((x) => !serious(x))) t.diagnostic(describe(v));
  return result.violations.filter(serious).map(describe);
}

// ---- tests ----------------------------------------------------------------------------------

test('mouse: a detractor clicks a score, the other answers and the follow-up, and submits', { timeout: 60_000 }, async () => {
  await withBrowser({}, async (page, problems) => {
    const response = await page.goto(links.anna);
    assert.equal(response.status(), 200);
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');  // en-GB falls back to en
    assert.equal(await page.title(), 'Your opinion counts – shop');
    await page.getByRole('heading', { level: 1, name: 'Your opinion counts' }).waitFor();
    assert.equal(await radio(page, EN.nps, 10).count(), 1);
    assert.equal(await group(page, EN.nps).getByRole('radio').count(), 11);
    assert.equal(await page.getByLabel(EN.improve).count(), 0, 'no follow-up before a score is sent');

    await scoreLabel(page, EN.nps, 3).click();
    await scoreLabel(page, EN.csat, 2).click();
    await page.getByText('In store', { exact: true }).click();
    assert.equal(await radio(page, EN.nps, 3).isChecked(), true);
    assert.equal(await radio(page, EN.csat, 2).isChecked(), true);
    assert.equal(await page.getByRole('radio', { name: 'In store' }).isChecked(), true);
    // Without JavaScript the follow-up a detractor's score opens comes with the next page.
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Submit' }).click()]);
    const comment = 'Die Lieferung kam zu spät – <b>bitte</b> schneller & "günstiger"';
    const improve = page.getByLabel(EN.improve);
    await improve.waitFor();
    assert.equal(await radio(page, EN.nps, 3).isChecked(), true, 'the score stays selected');
    assert.equal(await radio(page, EN.csat, 2).isChecked(), true);
    assert.equal(await page.getByRole('radio', { name: 'In store' }).isChecked(), true);
    await improve.click();
    await improve.fill(comment);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Submit' }).click()]);
    await assertThanks(page, 'Thank you', 'Thank you for your feedback!');
    assert.deepEqual(problems, []);
    assert.deepEqual((await responses()).get('anna'), { nps: 3, csat: 2, channel: 'store', improve: comment });
  });
});

test('keyboard only: Tab, arrow keys, Space, typing and Enter answer the survey', { timeout: 60_000 }, async () => {
  await withBrowser({}, async (page, problems) => {
    await page.goto(links.ben);
    const kb = page.keyboard;
    await kb.press('Tab');  // into the 0–10 scale: its first radio, none selected yet
    assert.deepEqual(await focused(page), { tag: 'input', name: 'nps', value: '0', checked: false, focusVisible: true });
    await kb.press('Space');
    for (let i = 0; i < 6; i++) await kb.press('ArrowRight');  // arrows move and select: 6
    assert.deepEqual(await focused(page), { tag: 'input', name: 'nps', value: '6', checked: true, focusVisible: true });
    await kb.press('Tab');  // CSAT 1–5
    assert.equal((await focused(page)).name, 'csat');
    for (let i = 0; i < 4; i++) await kb.press('ArrowRight');
    await kb.press('ArrowLeft');
    assert.deepEqual(await focused(page), { tag: 'input', name: 'csat', value: '4', checked: true, focusVisible: true });
    await kb.press('Tab');  // the choices
    assert.equal((await focused(page)).value, 'web');
    await kb.press('Space');
    assert.deepEqual(await focused(page), { tag: 'input', name: 'channel', value: 'web', checked: true, focusVisible: true });
    await kb.press('Tab');
    assert.equal((await focused(page)).tag, 'button');
    await Promise.all([page.waitForNavigation(), kb.press('Enter')]);

    // 6 is a detractor's score (0–6): the follow-up question comes next, after the scale.
    await page.getByLabel(EN.improve).waitFor();
    await kb.press('Tab');  // the selected radio of the scale takes the focus
    assert.deepEqual(await focused(page), { tag: 'input', name: 'nps', value: '6', checked: true, focusVisible: true });
    await kb.press('Tab');
    assert.equal((await focused(page)).name, 'improve');
    const comment = 'Versand zu teuer, sonst gut';
    await kb.type(comment);
    await kb.press('Tab');
    assert.deepEqual(await focused(page), { tag: 'input', name: 'csat', value: '4', checked: true, focusVisible: true });
    await kb.press('Tab');
    assert.deepEqual(await focused(page), { tag: 'input', name: 'channel', value: 'web', checked: true, focusVisible: true });
    await kb.press('Tab');
    assert.equal((await focused(page)).tag, 'button');
    await Promise.all([page.waitForNavigation(), kb.press('Enter')]);
    await assertThanks(page, 'Thank you', 'Thank you for your feedback!');
    assert.deepEqual(problems, []);
    assert.deepEqual((await responses()).get('ben'), { nps: 6, improve: comment, csat: 4, channel: 'web' });
  });
});

test('email snippet: eleven links 0..10 in German; one click records the score, in German', { timeout: 60_000 }, async () => {
  const hrefs = [...snippet.email_html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(hrefs, Array.from({ length: 11 }, (_, n) => `${snippet.link}?score=${n}`));
  assert.ok(snippet.email_html.includes(DE.nps), 'the snippet is in the customer\'s language');
  await withBrowser({}, async (page, problems) => {
    await page.setContent(snippet.email_html);
    const scale = page.getByRole('link');
    assert.equal(await scale.count(), 11);
    assert.deepEqual(await scale.allInnerTexts(), Array.from({ length: 11 }, (_, n) => String(n)));
    const [response] = await Promise.all([
      page.waitForNavigation(), page.getByRole('link', { name: '9', exact: true }).click()]);
    assert.equal(response.status(), 200);
    assert.equal(page.url(), `${snippet.link}?score=9`);
    // The next step: the rest of the survey, in German, with the 9 selected and no follow-up
    // (9 is a promoter's score).
    assert.equal(await page.locator('html').getAttribute('lang'), 'de');
    await page.getByRole('heading', { level: 1, name: 'Ihre Meinung zählt' }).waitFor();
    assert.equal(await page.getByText('Drei kurze Fragen.').isVisible(), true);
    assert.equal(await radio(page, DE.nps, 9).isChecked(), true);
    assert.equal(await page.getByLabel(DE.improve).count(), 0);
    assert.equal(await group(page, DE.csat).isVisible(), true);
    assert.equal(await page.getByRole('button', { name: 'Absenden' }).isVisible(), true);
    assert.deepEqual((await responses()).get('carla'), { nps: 9 });

    await scoreLabel(page, DE.csat, 5).click();
    await page.getByText('Online', { exact: true }).click();
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Absenden' }).click()]);
    await assertThanks(page, 'Vielen Dank', 'Danke für Ihr Feedback!');
    assert.deepEqual(problems, []);
    assert.deepEqual((await responses()).get('carla'), { nps: 9, csat: 5, channel: 'web' });
  });
});

test('a tampered link shows "not valid" (404) and records nothing', { timeout: 60_000 }, async () => {
  const link = links.dora;
  const dot = link.lastIndexOf('.');
  const at = dot + 10;  // inside the signature, where every character carries whole bits
  const tampered = link.slice(0, at) + (link[at] === 'A' ? 'B' : 'A') + link.slice(at + 1);
  assert.notEqual(tampered, link);
  const before = await responses();
  await withBrowser({}, async (page) => {
    for (const target of [tampered, `${tampered}?score=10`]) {
      const response = await page.goto(target);
      assert.equal(response.status(), 404, target);
      await page.getByRole('heading', { level: 1, name: 'This link is not valid' }).waitFor();
      assert.equal(await page.getByText('No answer was recorded. Please check the link you followed.').isVisible(), true);
      assert.equal(await page.locator('form').count(), 0);
    }
    // A form posted to the tampered address (as a saved page would) is refused too.
    const posted = await page.request.post(tampered, { form: { nps: '10', improve: 'x' } });
    assert.equal(posted.status(), 404);
  });
  const now = await responses();
  assert.deepEqual(now, before);
  assert.equal(now.has('dora'), false);
  // The untouched link still works: it is the change that is refused.
  const genuine = await fetch(link);
  assert.equal(genuine.status, 200);
});

test('accessibility: axe-core finds no serious or critical violation', { timeout: 60_000 }, async (t) => {
  const found = [];
  await withBrowser({}, async (page) => {
    await page.goto(links.fritz);
    found.push(...await axeViolations(t, page, 'survey page (en)'));
    await page.goto(links.emil);
    found.push(...await axeViolations(t, page, 'survey page (de)'));
    await page.goto(`${links.fritz}?score=2`);
    await page.getByLabel(EN.improve).waitFor();
    found.push(...await axeViolations(t, page, 'follow-up page'));
    // The server's own checks, as a browser without form validation meets them: the required
    // score left out gives the page with the error summary (422).
    await page.evaluate(() => {
      document.querySelector('form').noValidate = true;
      for (const r of document.querySelectorAll('input[name="nps"]')) r.checked = false;
    });
    const [invalid] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Submit' }).click()]);
    assert.equal(invalid.status(), 422);
    assert.ok(await page.locator('[role="alert"]').count() >= 1, 'the error summary is an alert');
    found.push(...await axeViolations(t, page, 'error page'));
    await scoreLabel(page, EN.nps, 2).click();
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Submit' }).click()]);
    await assertThanks(page, 'Thank you', 'Thank you for your feedback!');
    found.push(...await axeViolations(t, page, 'thank-you page'));
    await page.goto(`${base}/s/not-a-token`);
    found.push(...await axeViolations(t, page, 'invalid-link page'));
  });
  assert.deepEqual(found, [], `axe-core violations:\n${found.join('\n')}`);
});

test('phone: at 390×844 no horizontal scrolling and every score is visible and tappable', { timeout: 60_000 }, async () => {
  await withBrowser({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 3 }, async (page, problems) => {
    await page.goto(links.emil);  // de-AT: the German texts (longer words) on a phone
    assert.equal(await page.locator('html').getAttribute('lang'), 'de');
    await page.getByRole('heading', { level: 1, name: 'Ihre Meinung zählt' }).waitFor();
    const width = await page.evaluate(() => [document.documentElement.scrollWidth, document.body.scrollWidth]);
    assert.ok(width.every((w) => w <= 390), `the page scrolls sideways: scrollWidth ${width}`);
    for (let score = 0; score <= 10; score++) {
      const label = scoreLabel(page, DE.nps, score);
      assert.equal(await label.isVisible(), true, `score ${score} is visible`);
      const box = await label.boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= 390, `score ${score} lies within the screen: ${JSON.stringify(box)}`);
      assert.ok(box.width >= 24 && box.height >= 24, `score ${score} is a big enough target: ${JSON.stringify(box)}`);
    }
    await scoreLabel(page, DE.nps, 7).tap();
    assert.equal(await radio(page, DE.nps, 7).isChecked(), true);
    assert.equal(await page.getByRole('button', { name: 'Absenden' }).isVisible(), true);
    assert.deepEqual(problems, []);
  });
  assert.equal((await responses()).has('emil'), false, 'looking and tapping records nothing');
});
