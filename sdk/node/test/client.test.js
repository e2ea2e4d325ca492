'use strict';
// End-to-end tests of @swapwire/client against the Go example servers
// (examples/sentiment and examples/digits), built with `go build` and run on
// 127.0.0.1. Without a go toolchain they are skipped, unless $CI is set.

const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const { Client, status, toValue, fromValue, buildArchive, _health } = require('..');

const REPO = path.resolve(__dirname, '..', '..', '..');
const haveGo = spawnSync('go', ['version']).status === 0;
if (!haveGo && process.env.CI) throw new Error('go is not on PATH and $CI is set: the client tests cannot run');
const skip = haveGo ? false : 'go is not on PATH; skipping tests against real Swapwire servers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'swapwire-nodetest-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function goBuild(pkg) {
  const out = path.join(tmp, path.basename(pkg));
  if (!fs.existsSync(out)) {
    const r = spawnSync('go', ['build', '-o', out, pkg], { cwd: REPO, encoding: 'utf8', timeout: 600000 });
    if (r.status !== 0) throw new Error(`go build ${pkg} failed:\n${r.stdout}${r.stderr}`);
  }
  return out;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// startServer runs a binary with {addr} in args replaced by a free
// 127.0.0.1 address and resolves once grpc.health.v1 answers SERVING for
// service. It waits for the port before it makes the client: a gRPC channel
// that met a refused connection backs off for seconds before retrying.
async function startServer(binary, args, service = '') {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  let log = '';
  const proc = spawn(binary, args.map((a) => a.replace('{addr}', addr)), { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr.on('data', (d) => { log += d; });
  let exited = null;
  proc.on('exit', (code) => { exited = code; });
  const deadline = Date.now() + 30000;
  const fail = (why) => { proc.kill('SIGKILL'); throw new Error(`${why}\n${log}`); };
  while (!(await canConnect(port))) {
    if (exited !== null) fail(`server exited with ${exited}`);
    if (Date.now() > deadline) fail(`server did not listen on ${addr}`);
    await sleep(20);
  }
  const client = new Client(addr, { timeoutMs: 5000 });
  let last;
  for (;;) {
    try {
      last = await client.health(service, { timeoutMs: 1000 });
      if (last === 'SERVING') break;
    } catch (e) {
      last = e.message;
    }
    if (exited !== null) fail(`server exited with ${exited}`);
    if (Date.now() > deadline) fail(`server at ${addr} not SERVING (last: ${last})`);
    await sleep(50);
  }
  const stop = async () => {
    client.close();
    if (exited !== null) return;
    const done = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
    await done;
    clearTimeout(t);
  };
  return { addr, client, stop, log: () => log };
}

async function rejectsWith(promise, code) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.code, code, `want code ${code}, got ${err.code}: ${err.details}`);
    assert.ok(err.details);
    return true;
  });
}

describe('values', () => {
  test('toValue and fromValue', () => {
    assert.deepEqual(toValue('hi'), { text: 'hi' });
    assert.deepEqual(toValue([1, 2]), { ints: { values: [1, 2] } });
    assert.deepEqual(toValue([1, 2.5]), { floats: { values: [1, 2.5] } });
    assert.deepEqual(toValue({ floats: [1, 2] }), { floats: { values: [1, 2] } });
    assert.deepEqual(toValue(['a']), { strings: { values: ['a'] } });
    assert.deepEqual(toValue(Buffer.from('ab')), { data: Buffer.from('ab') });
    assert.throws(() => toValue(['a', 1]), TypeError);
    assert.throws(() => toValue(null), TypeError);
    assert.equal(fromValue({ kind: 'text', text: 'x' }), 'x');
    assert.deepEqual(fromValue({ kind: 'ints', ints: { values: [3] } }), [3]);
    assert.equal(fromValue({}), null);
  });

  test('health codec', () => {
    assert.deepEqual(_health.encodeHealth(''), Buffer.alloc(0));
    assert.deepEqual(_health.encodeHealth('ab'), Buffer.from([0x0a, 2, 0x61, 0x62]));
    assert.equal(_health.decodeHealth(Buffer.from([0x08, 0x01])), 1);
    assert.equal(_health.decodeHealth(Buffer.alloc(0)), 0);
  });

  test('buildArchive is a deterministic ustar of the directory contents', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'tree-'));
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'a.txt'), 'A');
    fs.writeFileSync(path.join(dir, 'sub', 'b.bin'), Buffer.alloc(600, 7));
    const a = buildArchive(dir);
    assert.deepEqual(buildArchive(dir), a);
    assert.equal(a.length % 512, 0);
    // Headers at 0 (a.txt), 1024 (sub/), 1536 (sub/b.bin); data padded to 512.
    const name = (off) => a.subarray(off, off + 100).toString().replace(/\0.*$/s, '');
    assert.deepEqual([name(0), name(1024), name(1536)], ['a.txt', 'sub/', 'sub/b.bin']);
    assert.equal(a.subarray(257, 262).toString(), 'ustar');
    assert.equal(a.length, 512 * 2 + 512 + 512 * 3 + 1024);
    if (spawnSync('tar', ['--version']).status === 0) {
      const f = path.join(dir, '..', 'check.tar');
      fs.writeFileSync(f, a);
      const r = spawnSync('tar', ['-tf', f], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split('\n'), ['a.txt', 'sub/', 'sub/b.bin']);
    }
  });
});

describe('sentiment server', { skip }, () => {
  let srv;
  let c;
  before(async () => {
    srv = await startServer(goBuild('./examples/sentiment'),
      ['--model-dir', path.join(REPO, 'examples', 'sentiment', 'model'), '--listen', '{addr}']);
    c = srv.client;
  });
  after(async () => { if (srv) await srv.stop(); });

  test('predict', async () => {
    let r = await c.predict('What a GREAT day', { model: 'sentiment' });
    assert.deepEqual(r, { model: 'sentiment', version: 1, label: 'positive', scores: [2], option: { matched: ['great'], words: 4 } });
    r = await c.predict('terrible, awful service');
    assert.equal(r.label, 'negative');
    assert.deepEqual(r.scores, [-6]);
    assert.deepEqual(r.option.matched, ['terrible', 'awful']);
    r = await c.predict('good but slow', { option: { any: [1, { deep: true }] } });
    assert.equal(r.label, 'neutral');
    assert.deepEqual(r.scores, [0]);
  });

  test('predictStream keeps order and reports item errors', async () => {
    const got = await c.predictStream(['love it', 'hate it', { input: 'meh', id: 'm' }, { input: [1], id: 'bad' }]);
    assert.deepEqual(got.map((g) => g.id), ['0', '1', 'm', 'bad']);
    assert.deepEqual(got.slice(0, 3).map((g) => g.label), ['positive', 'negative', 'neutral']);
    assert.equal(got[3].error.code, status.INVALID_ARGUMENT);
  });

  test('serviceInfo, models and health', async () => {
    const info = await c.serviceInfo();
    assert.equal(info.defaultModel, 'sentiment');
    assert.ok(info.swapwireVersion);
    assert.deepEqual(info.models, [{ name: 'sentiment', servingVersion: 1, loadedVersions: [1], labels: {} }]);
    const [m, ...rest] = await c.models();
    assert.equal(rest.length, 0);
    assert.equal(m.name, 'sentiment');
    assert.equal(m.servingVersion, 1);
    assert.equal(m.default, true);
    assert.deepEqual(m.versions.map((v) => [v.version, v.state]), [[1, 'SERVING']]);
    assert.ok(m.versions[0].loadedAt instanceof Date);
    assert.equal(await c.health(), 'SERVING');
    assert.equal(await c.health('sentiment'), 'SERVING');
    await rejectsWith(c.health('no-such-model'), status.NOT_FOUND);
  });

  test('errors carry gRPC codes', async () => {
    await rejectsWith(c.predict('hi', { model: 'no-such-model' }), status.NOT_FOUND);
    await rejectsWith(c.predict([1, 2, 3]), status.INVALID_ARGUMENT);
    await rejectsWith(c.predict('hi', { version: 42 }), status.NOT_FOUND);
  });
});

describe('digits server', { skip }, () => {
  let srv;
  let c;
  const samples = JSON.parse(fs.readFileSync(path.join(REPO, 'examples', 'digits', 'samples.json'), 'utf8'));
  before(async () => {
    const store = fs.mkdtempSync(path.join(tmp, 'store-'));
    srv = await startServer(goBuild('./examples/digits'),
      ['--store', store, '--listen', '{addr}', '--poll', '200ms'], 'digits');
    c = srv.client;
  });
  after(async () => { if (srv) await srv.stop(); });

  async function waitVersion(v) {
    const deadline = Date.now() + 15000;
    for (;;) {
      const r = await c.predict(samples[0].ints, { model: 'digits' });
      if (r.version === v) return r;
      if (Date.now() > deadline) throw new Error(`version ${v} not serving (got ${r.version})`);
      await sleep(50);
    }
  }

  test('predict the samples, upload version 2, switch back', async () => {
    let right = 0;
    for (const s of samples) {
      const r = await c.predict(s.ints, { model: 'digits' });
      assert.equal(r.version, 1);
      assert.equal(r.scores.length, 10);
      assert.equal(r.label.length, 1);
      if (r.label[0] === s.label) right++;
    }
    assert.ok(right >= 8, `version 1 got ${right} of ${samples.length} right`);

    const dir = path.join(REPO, 'examples', 'digits', 'model', 'v2');
    const progress = [];
    const up = await c.upload('digits', dir, { chunkSize: 4096, onProgress: (s, t) => progress.push([s, t]) });
    assert.equal(up.model, 'digits');
    assert.equal(up.version, 2);
    assert.equal(up.files, 1);
    assert.equal(up.sha256, crypto.createHash('sha256').update(buildArchive(dir)).digest('hex'));
    assert.deepEqual(progress.at(-1), [up.size, up.size]);
    await waitVersion(2);
    for (const s of samples) assert.deepEqual((await c.predict(s.ints)).label, [s.label]);

    await c.switchModel('digits', 1);
    await waitVersion(1);
    const [m] = await c.models('digits');
    assert.equal(m.pinnedVersion, 1);
    await rejectsWith(c.switchModel('digits', 9), status.NOT_FOUND);
    await rejectsWith(c.upload('../escape', dir), status.INVALID_ARGUMENT);
  });
});
