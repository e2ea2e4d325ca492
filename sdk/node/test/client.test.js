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

const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const { Client, status, toValue, toLabel, fromValue, buildArchive, _health, _loadProtos } = require('..');

const REPO = path.resolve(__dirname, '..', '..', '..');
const haveGo = spawnSync('go', ['version']).status === 0;
if (!haveGo && !process.env.SWAPWIRE_SKIP_GO) throw new Error('go is not on PATH: the client tests need it to build servers; set SWAPWIRE_SKIP_GO=1 to skip');
const skip = haveGo ? false : 'go is not on PATH (SWAPWIRE_SKIP_GO is set)';

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
async function startServer(binary, args, service = '', token = '', tokenEnv = 'SWAPWIRE_ADMIN_TOKEN') {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  let log = '';
  const env = { ...process.env };
  delete env.SWAPWIRE_ADMIN_TOKEN;
  if (token) env[tokenEnv] = token;
  const proc = spawn(binary, args.map((a) => a.replace('{addr}', addr)), { cwd: REPO, env, stdio: ['ignore', 'ignore', 'pipe'] });
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
  const client = new Client(addr, { timeoutMs: 5000, token: token || undefined });
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

async function rejectsWith(promise, code, details) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.code, code, `want code ${code}, got ${err.code}: ${err.details}`);
    assert.ok(err.details);
    if (details) assert.match(err.details, details);
    return true;
  });
}

// until calls fn until it returns a value other than undefined and resolves
// to that value, polling the server's state for at most ms.
async function until(what, fn, ms = 15000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(50);
  }
}

describe('values', () => {
  test('toValue and fromValue', () => {
    assert.deepEqual(toValue('hi'), { text: 'hi' });
    assert.deepEqual(toValue([1, 2]), { ints: { values: ['1', '2'] } });
    assert.deepEqual(toValue([1, 2.5]), { floats: { values: [1, 2.5] } });
    assert.deepEqual(toValue({ floats: [1, 2] }), { floats: { values: [1, 2] } });
    assert.deepEqual(toValue(['a']), { strings: { values: ['a'] } });
    assert.deepEqual(toValue(Buffer.from('ab')), { data: Buffer.from('ab') });
    assert.throws(() => toValue(['a', 1]), TypeError);
    assert.throws(() => toValue(null), TypeError);
    assert.equal(fromValue({ kind: 'text', text: 'x' }), 'x');
    assert.deepEqual(fromValue({ kind: 'ints', ints: { values: [3] } }), [3]);
    // int64 without precision loss: BigInts go out as exact decimals, and
    // ints beyond 2^53 come back as BigInts.
    assert.deepEqual(toValue([9007199254740993n, -1n]), { ints: { values: ['9007199254740993', '-1'] } });
    assert.deepEqual(toValue(new BigInt64Array([-(2n ** 63n)])), { ints: { values: ['-9223372036854775808'] } });
    assert.throws(() => toValue([2n ** 63n]), RangeError);
    assert.throws(() => toValue([2 ** 60]), /not a safe integer/);
    assert.deepEqual(fromValue({ kind: 'ints', ints: { values: ['9007199254740993', '1'] } }), [9007199254740993n, 1n]);
    assert.deepEqual(fromValue({ kind: 'ints', ints: { values: ['5'] } }, true), [5n]);
    // Floats the user says are floats stay floats, whole or not.
    assert.deepEqual(toValue(new Float64Array([1, 2])), { floats: { values: [1, 2] } });
    assert.deepEqual(toValue(new Float32Array([3])), { floats: { values: [3] } });
    assert.deepEqual(toValue({ floats: new Float64Array([4]) }), { floats: { values: [4] } });
    assert.deepEqual(toValue(new Int32Array([4])), { ints: { values: ['4'] } });
    assert.equal(fromValue({}), null);
    assert.deepEqual(toLabel(7), { ints: { values: [7] } });
    assert.deepEqual(toLabel(0.5), { floats: { values: [0.5] } });
    assert.deepEqual(toLabel('cat'), { text: 'cat' });
    assert.deepEqual(toLabel([7]), { ints: { values: ['7'] } });
    assert.throws(() => toLabel(undefined), TypeError);
    assert.throws(() => toLabel(NaN), TypeError);
  });

  test('int64 and whole floats through the wire codec', () => {
    const { str } = _loadProtos();
    const m = str.PredictionService.service.Predict;
    const req = m.requestDeserialize(m.requestSerialize({ input: toValue([2n ** 63n - 1n, 7]) }));
    assert.deepEqual(req.input.ints.values, ['9223372036854775807', '7']);
    const floats = m.requestDeserialize(m.requestSerialize({ input: toValue(new Float64Array([2])) }));
    assert.equal(floats.input.kind, 'floats');
    const resp = m.responseDeserialize(m.responseSerialize({ version: '3', output: { ints: { values: ['-9223372036854775807'] } } }));
    assert.deepEqual(fromValue(resp.output), [-9223372036854775807n]);
    assert.equal(resp.version, '3');
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
    // The admin identity: a read-only token, enough to list models.
    srv = await startServer(goBuild('./examples/sentiment'),
      ['--model-dir', path.join(REPO, 'examples', 'sentiment', 'model'), '--listen', '{addr}', '--allow-plaintext-tokens'],
      '', require('node:crypto').randomBytes(16).toString('hex'), 'SWAPWIRE_READ_TOKEN');
    c = srv.client;
  });
  after(async () => { if (srv) await srv.stop(); });

  test('predict', async () => {
    let r = await c.predict('What a GREAT day', { model: 'sentiment' });
    assert.deepEqual(r, { model: 'sentiment', version: 1, label: 'positive', labelKind: 'text', scores: [2], option: { matched: ['great'], words: 4 } });
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
    // The admin identity: a token the server reads from its environment,
    // accepted over the plaintext test connection.
    srv = await startServer(goBuild('./examples/digits'),
      ['--store', store, '--listen', '{addr}', '--poll', '200ms', '--allow-plaintext-tokens'], 'digits',
      require('node:crypto').randomBytes(16).toString('hex'));
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

// A grpc-js ModelService on 127.0.0.1 that records what the admin methods
// receive: the authorization metadata and the requests, on the wire.
describe('admin calls on the wire', () => {
  let server;
  let addr;
  const seen = [];
  before(async () => {
    const def = protoLoader.loadSync(['swapwire/v1/model.proto'], {
      includeDirs: [path.join(REPO, 'proto')], longs: Number, enums: String, defaults: true, oneofs: true,
    });
    const pkg = grpc.loadPackageDefinition(def).swapwire.v1;
    const auth = (call) => call.metadata.get('authorization');
    const status1 = { name: 'm', servingVersion: 2, pinnedVersion: 0, labels: { canary: 3 }, versions: [] };
    server = new grpc.Server();
    server.addService(pkg.ModelService.service, {
      SetLabel: (call, cb) => { seen.push(['SetLabel', auth(call), call.request]); cb(null, { status: status1 }); },
      Rollback: (call, cb) => { seen.push(['Rollback', auth(call), call.request]); cb(null, { fromVersion: 3, toVersion: 2 }); },
      DeleteVersion: (call, cb) => {
        seen.push(['DeleteVersion', auth(call), call.request]);
        cb({ code: status.FAILED_PRECONDITION, details: 'serving' });
      },
      EvaluateModel: (call, cb) => {
        const msgs = [];
        call.on('data', (m) => msgs.push(m));
        call.on('end', () => {
          seen.push(['EvaluateModel', auth(call), msgs]);
          cb(null, {
            model: 'm', version: 2, examples: 2, errors: 0, accuracy: 0.5,
            labels: [{ label: '1', precision: 1, recall: 1, f1: 1, support: 1 }, { label: 'b', precision: 0, recall: 0, f1: 0, support: 1 }],
            confusion: { labels: ['1', 'b'], rows: [{ counts: [1, 0] }, { counts: [1, 0] }] },
            details: [{ index: 0, expected: '1', predicted: '1', correct: true }, { index: 1, expected: 'b', predicted: '1', correct: false }],
          });
        });
      },
    });
    const port = await new Promise((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    addr = `127.0.0.1:${port}`;
  });
  after(() => new Promise((resolve) => { if (server) server.tryShutdown(resolve); else resolve(); }));

  test('a token goes as bearer metadata; requests carry the arguments', async () => {
    const c = new Client(addr, { token: 's3cret', timeoutMs: 5000 });
    try {
      seen.length = 0;
      const st = await c.setLabel('m', 'canary', 3);
      assert.deepEqual(st.labels, { canary: 3 });
      await c.setLabel('m', 'canary', null);
      assert.deepEqual(await c.rollback('m'), { fromVersion: 3, toVersion: 2 });
      await rejectsWith(c.deleteVersion('m', 2), status.FAILED_PRECONDITION, /serving/);
      const ev = await c.evaluate('m', [{ input: [1, 2], label: 1, option: { k: 'v' } }, ['hi', 'b']], { version: 2, details: true });
      assert.deepEqual(ev, {
        model: 'm', version: 2, examples: 2, errors: 0, accuracy: 0.5,
        labels: [{ label: '1', precision: 1, recall: 1, f1: 1, support: 1 }, { label: 'b', precision: 0, recall: 0, f1: 0, support: 1 }],
        confusionLabels: ['1', 'b'],
        confusion: [[1, 0], [1, 0]],
        details: [
          { index: 0, expected: '1', predicted: '1', correct: true, error: '' },
          { index: 1, expected: 'b', predicted: '1', correct: false, error: '' },
        ],
      });
      assert.deepEqual(seen.map((x) => x[0]), ['SetLabel', 'SetLabel', 'Rollback', 'DeleteVersion', 'EvaluateModel']);
      for (const [method, authz] of seen) assert.deepEqual(authz, ['Bearer s3cret'], method);
      assert.deepEqual(seen[0][2], { model: 'm', label: 'canary', version: 3 });
      assert.deepEqual(seen[1][2], { model: 'm', label: 'canary', version: 0 });
      assert.deepEqual(seen[2][2], { model: 'm' });
      assert.deepEqual(seen[3][2], { model: 'm', version: 2 });
      const msgs = seen[4][2];
      assert.equal(msgs.length, 3);
      assert.deepEqual(msgs[0].header, { model: 'm', version: 2, details: true });
      assert.deepEqual(msgs.map((m) => m.kind), ['header', 'example', 'example']);
      assert.deepEqual(msgs[1].example.input.ints.values, [1, 2]);
      assert.deepEqual(msgs[1].example.label.ints.values, [1]);
      assert.equal(msgs[1].example.option.fields.k.stringValue, 'v');
      assert.equal(msgs[2].example.input.text, 'hi');
      assert.equal(msgs[2].example.label.text, 'b');
      assert.equal(msgs[2].example.option, null);
    } finally {
      c.close();
    }
  });

  test('without a token no authorization is sent', async () => {
    const c = new Client(addr, { timeoutMs: 5000 });
    try {
      seen.length = 0;
      await c.rollback('m');
      assert.deepEqual(seen, [['Rollback', [], { model: 'm' }]]);
    } finally {
      c.close();
    }
  });

  test('a bad example rejects before anything is sent', async () => {
    const c = new Client(addr, { timeoutMs: 5000 });
    try {
      seen.length = 0;
      await assert.rejects(c.evaluate('m', [{ input: 'x', label: 'y' }, { input: 'x' }]), /example 1/);
      await assert.rejects(c.evaluate('m', [['x', undefined]]), /example 0: label is missing/);
      await assert.rejects(c.evaluate('m', [{ input: null, label: 'y' }]), TypeError);
      assert.deepEqual(seen, []);
    } finally {
      c.close();
    }
  });
});

// The admin methods against a digits server of its own: a fresh store that
// holds version 1, then version 2 from examples/digits/model/v2.
describe('digits server administration', { skip }, () => {
  let srv;
  let c;
  const samples = JSON.parse(fs.readFileSync(path.join(REPO, 'examples', 'digits', 'samples.json'), 'utf8'));
  const examples = samples.map((s) => ({ input: s.ints, label: s.label }));
  before(async () => {
    const store = fs.mkdtempSync(path.join(tmp, 'admin-store-'));
    // The admin identity: a token the server reads from its environment,
    // accepted over the plaintext test connection.
    srv = await startServer(goBuild('./examples/digits'),
      ['--store', store, '--listen', '{addr}', '--poll', '200ms', '--allow-plaintext-tokens'], 'digits',
      require('node:crypto').randomBytes(16).toString('hex'));
    c = srv.client;
  });
  after(async () => { if (srv) await srv.stop(); });

  const serving = (v) => until(`version ${v} serving`, async () => {
    const r = await c.predict(samples[0].ints, { model: 'digits' });
    return r.version === v ? r : undefined;
  });

  test('evaluate the samples', async () => {
    const ev = await c.evaluate('digits', examples, { details: true });
    assert.equal(ev.model, 'digits');
    assert.equal(ev.version, 1);
    assert.equal(ev.examples, samples.length);
    assert.equal(ev.errors, 0);
    assert.ok(ev.accuracy >= 0.8, `accuracy ${ev.accuracy}`);

    // Rows: expected, columns: predicted; every expected label is a row.
    const n = ev.confusionLabels.length;
    assert.deepEqual(ev.confusionLabels, [...ev.confusionLabels].sort());
    for (const s of samples) assert.ok(ev.confusionLabels.includes(String(s.label)), `label ${s.label} missing`);
    assert.equal(ev.confusion.length, n);
    for (const row of ev.confusion) assert.equal(row.length, n);
    const total = ev.confusion.flat().reduce((a, b) => a + b, 0);
    const diagonal = ev.confusion.reduce((a, row, i) => a + row[i], 0);
    assert.equal(total, samples.length);
    assert.equal(diagonal / samples.length, ev.accuracy);
    assert.deepEqual(ev.labels.map((l) => l.label), ev.confusionLabels);
    assert.equal(ev.labels.reduce((a, l) => a + l.support, 0), samples.length);

    assert.deepEqual(ev.details.map((d) => [d.index, d.expected]), samples.map((s, i) => [i, String(s.label)]));
    for (const d of ev.details) assert.equal(d.correct, d.predicted === d.expected);
    assert.equal(ev.details.filter((d) => d.correct).length, diagonal);

    // The same through the tuple form, without details, naming version 1.
    const again = await c.evaluate('digits', samples.map((s) => [s.ints, [s.label]]), { version: 1 });
    assert.deepEqual({ ...again, details: ev.details }, ev);
    assert.deepEqual(again.details, []);

    await rejectsWith(c.evaluate('no-such-model', examples), status.NOT_FOUND);
    await rejectsWith(c.evaluate('digits', examples, { version: 9 }), status.NOT_FOUND);
    // A failed prediction is counted, not fatal.
    const bad = await c.evaluate('digits', [{ input: [1, 2], label: 1 }, examples[0]], { details: true });
    assert.equal(bad.examples, 2);
    assert.equal(bad.errors, 1);
    assert.ok(bad.details[0].error);
    assert.equal(bad.details[0].correct, false);
    assert.equal(bad.details[1].error, '');
  });

  test('setLabel, rollback and deleteVersion', async () => {
    const dir = path.join(REPO, 'examples', 'digits', 'model', 'v2');
    assert.equal((await c.upload('digits', dir)).version, 2);
    await serving(2);

    // A canary label on version 1 while version 2 serves.
    let st = await c.setLabel('digits', 'canary', 1);
    assert.deepEqual(st.labels, { canary: 1 });
    const canary = await until('label canary on version 1', async () => {
      const r = await c.predict(samples[0].ints, { model: 'digits', label: 'canary' });
      return r.version === 1 ? r : undefined;
    });
    assert.equal(canary.model, 'digits');
    assert.equal((await c.predict(samples[0].ints, { model: 'digits' })).version, 2);
    await rejectsWith(c.setLabel('digits', 'canary', 9), status.NOT_FOUND);
    st = await c.setLabel('digits', 'canary', 0);
    assert.deepEqual(st.labels, {});
    await until('label canary removed', async () => {
      try {
        await c.predict(samples[0].ints, { model: 'digits', label: 'canary' });
        return undefined;
      } catch (e) {
        assert.equal(e.code, status.NOT_FOUND, e.details);
        return true;
      }
    });

    // Split the traffic 50/50: both versions answer; then remove the split.
    st = await c.splitTraffic('digits', { 1: 50, 2: 50 });
    assert.deepEqual(st.weights, { 1: 50, 2: 50 });
    const seen = new Set();
    await until('both versions answering under a 50/50 split', async () => {
      seen.add((await c.predict(samples[0].ints, { model: 'digits' })).version);
      return seen.size === 2 ? true : undefined;
    });
    assert.deepEqual([...seen].sort(), [1, 2]);
    assert.deepEqual((await c.splitTraffic('digits', null)).weights, {});

    // Roll back from 2 to 1.
    assert.deepEqual(await c.rollback('digits'), { fromVersion: 2, toVersion: 1 });
    await serving(1);
    let [m] = await c.models('digits');
    assert.equal(m.pinnedVersion, 1);

    // Delete version 2, which no longer serves.
    assert.equal(await c.deleteVersion('digits', 2), undefined);
    m = await until('version 2 gone', async () => {
      const [x] = await c.models('digits');
      return x.versions.some((v) => v.version === 2) ? undefined : x;
    });
    assert.deepEqual(m.versions.map((v) => [v.version, v.state]), [[1, 'SERVING']]);

    // The serving version cannot be deleted.
    await rejectsWith(c.deleteVersion('digits', 1), status.FAILED_PRECONDITION, /serving/);
    [m] = await c.models('digits');
    assert.deepEqual(m.versions.map((v) => v.version), [1]);
    await rejectsWith(c.rollback('no-such-model'), status.NOT_FOUND);
  });
});
