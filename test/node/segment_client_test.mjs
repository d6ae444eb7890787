// A real Segment client (@segment/analytics-node 3) sends identify, track, page and batched
// calls to `treu serve`; the test reads the customers and events back through REST. The
// served OpenAPI document is validated with @seriousme/openapi-schema-validator.
//
// Usage: node segment_client_test.mjs sqlite|postgres  (TREU names the binary)
import { Analytics } from '@segment/analytics-node';
import { Validator } from '@seriousme/openapi-schema-validator';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import assert from 'node:assert/strict';

const TREU = process.env.TREU;
const backend = process.argv[2] ?? 'sqlite';
const tmp = mkdtempSync(join(tmpdir(), 'treu-node-'));

function freshDb() {
  if (backend === 'sqlite') return `sqlite:${join(tmp, 'node.db')}`;
  const base = process.env.TREU_TEST_PG_URL;
  if (!base) throw new Error('TREU_TEST_PG_URL is not set: run under scripts/with-postgres');
  const name = `node_${Math.random().toString(36).slice(2, 12)}`;
  execFileSync('psql', ['-q', base, '-c', `CREATE DATABASE ${name}`]);
  return `${base.slice(0, base.lastIndexOf('/'))}/${name}`;
}

const freePort = () => new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

const db = freshDb();
const cli = (...args) => execFileSync(TREU, ['--db', db, '--workspace', 'shop', ...args], { encoding: 'utf8' });
cli('workspace', 'create', 'shop', '--currency', 'EUR');
const writeKey = cli('key', 'create', '--scope', 'tracking').trim().split(/\s+/).pop();
const readKey = cli('key', 'create', '--scope', 'read').trim().split(/\s+/).pop();
const port = await freePort();
const server = spawn(TREU, ['--db', db, 'serve', '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'ignore'] });
await new Promise((resolve, reject) => {
  server.stdout.on('data', (d) => { if (String(d).includes('listening')) resolve(); });
  server.on('exit', (code) => reject(new Error(`treu exited with ${code}`)));
});
const base = `http://127.0.0.1:${port}`;
const get = async (path) => {
  const r = await fetch(base + path, { headers: { Authorization: `Bearer ${readKey}` } });
  assert.equal(r.status, 200, `${path}: ${await r.clone().text()}`);
  return r.json();
};

test.after(async () => {
  server.kill('SIGTERM');
  await new Promise((resolve) => server.on('exit', resolve));
  rmSync(tmp, { recursive: true, force: true });
});

test('the Segment Node client talks to treu unchanged', async () => {
  const analytics = new Analytics({ writeKey, host: base, maxEventsInBatch: 10, flushInterval: 50 });
  const errors = [];
  analytics.on('error', (e) => errors.push(e));
  analytics.identify({ userId: 'seg-1', traits: { email: 'seg1@shop.example', name: 'Sea Gull', plan: 'pro' } });
  analytics.track({ userId: 'seg-1', event: 'Product Viewed', properties: { sku: 'A-1' } });
  analytics.track({
    userId: 'seg-1', event: 'Order Completed',
    properties: { order_id: 'seg-o-1', total: 42.5, currency: 'EUR' },
  });
  analytics.page({ userId: 'seg-1', name: 'Pricing', properties: { url: 'https://shop.example/pricing' } });
  for (let i = 0; i < 25; i++) analytics.track({ anonymousId: 'anon-1', event: 'Scrolled', properties: { i } });
  await analytics.closeAndFlush({ timeout: 10000 });
  assert.deepEqual(errors, []);

  const customer = await get('/api/v1/customers/seg-1');
  assert.equal(customer.email, 'seg1@shop.example');
  assert.equal(customer.name, 'Sea Gull');
  assert.equal(customer.attributes.plan, 'pro');

  const mine = await get('/api/v1/events?user_id=seg-1&limit=100');
  assert.deepEqual(mine.data.map((e) => e.type).sort(), ['identify', 'page', 'track', 'track']);
  assert.equal(mine.data.find((e) => e.name === 'Product Viewed').properties.sku, 'A-1');

  let all = [];
  for (let cursor = ''; ;) {
    const page = await get(`/api/v1/events?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
    all = all.concat(page.data);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  assert.equal(all.length, 29);
  assert.equal(new Set(all.map((e) => e.message_id)).size, 29);
});

test('the served OpenAPI document is valid OpenAPI 3.1', async () => {
  const doc = await (await fetch(`${base}/api/v1/openapi.json`)).json();
  const validator = new Validator();
  const result = await validator.validate(doc);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  assert.equal(validator.version, '3.1');
});
