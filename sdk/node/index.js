'use strict';
// @swapwire/client: a Node client for a Swapwire server's native API
// (swapwire.v1 PredictionService and ModelService). The .proto files are
// loaded at run time with @grpc/proto-loader from the repository's proto/
// directory (or options.protoDir); the well-known types (Struct, Duration,
// Timestamp) come with protobufjs.
//
//   const { Client } = require('@swapwire/client');
//   const c = new Client('127.0.0.1:50051');
//   const r = await c.predict('what a great day', { model: 'sentiment' });
//   // r = { model: 'sentiment', version: 1, label: 'positive', scores: [2], option: {...} }
//   c.close();
//
// Every method returns a promise. A failed call rejects with grpc-js's
// ServiceError: err.code is a grpc.status number, err.details the message.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

// The .proto files: inside the package when installed from its tarball
// (npm pack copies them in, see scripts/copy-protos.js), else the
// repository's proto/ directory.
const DEFAULT_PROTO_DIR = fs.existsSync(path.join(__dirname, 'proto', 'swapwire', 'v1', 'value.proto'))
  ? path.join(__dirname, 'proto')
  : path.join(__dirname, '..', '..', 'proto');
const MAX_MESSAGE = 64 << 20;

const loaded = new Map(); // protoDir -> package definition

// loadProtos returns the package twice: `num` decodes int64 as Number (the
// admin messages, whose int64s are versions and counts), `str` as decimal
// strings, so that PredictionService's values keep every int64 digit (see
// fromValue).
function loadProtos(protoDir) {
  if (!loaded.has(protoDir)) {
    const load = (longs) => grpc.loadPackageDefinition(protoLoader.loadSync(
      ['swapwire/v1/prediction.proto', 'swapwire/v1/model.proto'],
      {
        includeDirs: [protoDir],
        keepCase: false, // fields in lowerCamelCase
        longs,
        enums: String,
        defaults: true,
        oneofs: true, // a oneof's set field name in .kind
      },
    )).swapwire.v1;
    loaded.set(protoDir, { num: load(Number), str: load(String) });
  }
  return loaded.get(protoDir);
}

// int64s turns decimal int64 strings (or numbers) into Numbers when every
// one is a safe integer, else (or with asBigInt) into BigInts: never a
// rounded value.
function int64s(values, asBigInt) {
  const strs = Array.from(values, (v) => String(v));
  if (!asBigInt && strs.every((v) => Number.isSafeInteger(Number(v)))) return strs.map(Number);
  return strs.map((v) => BigInt(v));
}

// typedKinds maps typed arrays to the Value kind they are sent as.
function typedArrayKind(x) {
  if (x instanceof Float64Array || x instanceof Float32Array) return 'floats';
  if (x instanceof BigInt64Array || x instanceof BigUint64Array || x instanceof Int8Array ||
      x instanceof Int16Array || x instanceof Int32Array || x instanceof Uint16Array ||
      x instanceof Uint32Array) return 'ints';
  return null;
}

// ---------------------------------------------------------------------------
// Values.

// toValue returns the swapwire.v1.Value for a JS value:
//   string -> text, Buffer/Uint8Array -> data,
//   array of integers (Number or BigInt) -> ints, array of numbers with any
//   non-integer -> floats, array of strings -> strings,
//   Float64Array/Float32Array -> floats (whole numbers stay floats),
//   Int8/16/32Array, Uint16/32Array, BigInt64Array, BigUint64Array -> ints,
//   an object with exactly one of text/data/ints/floats/strings passes through
//   (use { floats: [1, 2] } for whole-number floats). ints may be BigInts
//   (sent as exact decimal strings); a Number beyond 2^53 is refused, since it
//   was rounded before it got here.
function toValue(x) {
  if (typeof x === 'string') return { text: x };
  const typed = typedArrayKind(x);
  if (typed === 'floats') return { floats: { values: Array.from(x) } };
  if (typed === 'ints') return { ints: { values: int64Wire(Array.from(x)) } };
  if (x instanceof Uint8Array) return { data: Buffer.from(x.buffer, x.byteOffset, x.byteLength) };
  if (Array.isArray(x)) {
    if (x.length > 0 && x.every((v) => typeof v === 'string')) return { strings: { values: x } };
    if (x.every((v) => typeof v === 'bigint' || Number.isInteger(v))) {
      if (x.length === 0) return { floats: { values: [] } };
      return { ints: { values: int64Wire(x) } };
    }
    if (x.every((v) => typeof v === 'number')) return { floats: { values: x } };
    throw new TypeError('array input mixes types: want all strings or all numbers');
  }
  if (x !== null && typeof x === 'object') {
    const keys = Object.keys(x).filter((k) => x[k] !== undefined && x[k] !== null);
    if (keys.length === 1) {
      const [k] = keys;
      if (k === 'text' && typeof x.text === 'string') return { text: x.text };
      if (k === 'data') return { data: Buffer.from(x.data) };
      if (k === 'ints' || k === 'floats' || k === 'strings') {
        const v = x[k];
        const values = Array.from(Array.isArray(v) || ArrayBuffer.isView(v) ? v : v.values);
        if (k === 'ints') return { ints: { values: int64Wire(values) } };
        if (k === 'floats') return { floats: { values: values.map(Number) } };
        return { strings: { values } };
      }
    }
  }
  throw new TypeError(`input of type ${typeof x} is not supported: want a string, a Buffer, an array of numbers or strings, or { text | data | ints | floats | strings }`);
}

// int64Wire checks int64 elements and writes them as decimal strings, exact
// for BigInts and for Numbers up to 2^53.
function int64Wire(values) {
  return values.map((v) => {
    if (typeof v === 'bigint') {
      if (v < -(2n ** 63n) || v >= 2n ** 63n) throw new RangeError(`ints element ${v} does not fit in int64`);
      return v.toString();
    }
    if (!Number.isSafeInteger(v)) {
      throw new TypeError(`ints element ${v} is not a safe integer; pass a BigInt for int64 values beyond 2^53`);
    }
    return String(v);
  });
}

// fromValue returns the JS value a decoded swapwire.v1.Value holds, or null:
// ints as Numbers when all are safe integers, else (or with asBigInt) as
// BigInts.
function fromValue(v, asBigInt) {
  if (!v || !v.kind) return null;
  switch (v.kind) {
    case 'text': return v.text;
    case 'data': return Buffer.from(v.data);
    case 'ints': return int64s(v.ints.values, asBigInt);
    case 'floats': return Array.from(v.floats.values, Number);
    default: return Array.from(v[v.kind].values);
  }
}

// kindOf names the kind of a decoded Value: text, data, ints, floats, strings
// or null.
function kindOf(v) {
  return (v && v.kind) || null;
}

// toLabel returns the swapwire.v1.Value for an expected label: like
// toValue, and a number alone is a one-element array (7 -> ints [7],
// 0.5 -> floats [0.5]), as models such as digits answer [7].
function toLabel(x) {
  if (typeof x === 'bigint') return { ints: { values: [x.toString()] } };
  if (typeof x === 'number') {
    if (Number.isInteger(x)) return { ints: { values: [x] } };
    if (Number.isFinite(x)) return { floats: { values: [x] } };
    throw new TypeError(`label ${x} is not a finite number`);
  }
  if (x === null || x === undefined) throw new TypeError('label is missing');
  return toValue(x);
}

function toStructValue(x) {
  if (x === null || x === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof x === 'number') {
    if (!Number.isFinite(x)) throw new TypeError(`option holds ${x}, which JSON cannot carry`);
    return { numberValue: x };
  }
  if (typeof x === 'bigint') return { numberValue: Number(x) };
  if (typeof x === 'string') return { stringValue: x };
  if (typeof x === 'boolean') return { boolValue: x };
  if (Array.isArray(x)) return { listValue: { values: x.map(toStructValue) } };
  if (typeof x === 'object') return { structValue: toStruct(x) };
  throw new TypeError(`option holds a ${typeof x}: want JSON-like values`);
}

// toStruct returns a google.protobuf.Struct for a plain object.
function toStruct(obj) {
  const fields = {};
  for (const [k, v] of Object.entries(obj || {})) fields[k] = toStructValue(v);
  return { fields };
}

function fromStructValue(v) {
  switch (v.kind) {
    case 'numberValue': return v.numberValue;
    case 'stringValue': return v.stringValue;
    case 'boolValue': return v.boolValue;
    case 'structValue': return fromStruct(v.structValue);
    case 'listValue': return (v.listValue.values || []).map(fromStructValue);
    default: return null;
  }
}

// fromStruct returns a plain object for a decoded google.protobuf.Struct.
function fromStruct(s) {
  const out = {};
  if (!s || !s.fields) return out;
  for (const [k, v] of Object.entries(s.fields)) out[k] = fromStructValue(v);
  return out;
}

function predictResult(resp, id, asBigInt) {
  const r = {
    model: resp.model,
    version: Number(resp.version),
    label: fromValue(resp.output, asBigInt),
    labelKind: kindOf(resp.output),
    scores: Array.from(resp.scores || []),
    option: fromStruct(resp.option),
  };
  if (id !== undefined) r.id = id;
  return r;
}

function modelStatus(m) {
  return {
    name: m.name,
    servingVersion: m.servingVersion,
    pinnedVersion: m.pinnedVersion,
    labels: { ...m.labels },
    weights: Object.fromEntries((m.weights || []).map((w) => [w.version, w.weight])),
    default: m.default,
    versions: (m.versions || []).map((v) => ({
      version: v.version,
      state: String(v.state).replace(/^VERSION_STATE_/, ''),
      error: v.error,
      loadSeconds: v.loadDuration ? v.loadDuration.seconds + v.loadDuration.nanos / 1e9 : 0,
      loadedAt: v.loadedAt ? new Date(v.loadedAt.seconds * 1000 + Math.floor(v.loadedAt.nanos / 1e6)) : null,
      inFlight: v.inFlight,
    })),
  };
}

// labelledExample returns the swapwire.v1.LabelledExample for an example:
// { input, label, option } or [input, label] or [input, label, option].
function labelledExample(ex, i) {
  let input;
  let label;
  let option;
  if (Array.isArray(ex) && (ex.length === 2 || ex.length === 3)) {
    [input, label, option] = ex;
  } else if (ex !== null && typeof ex === 'object' && !Array.isArray(ex) && !(ex instanceof Uint8Array)
    && 'input' in ex && 'label' in ex) {
    ({ input, label, option } = ex);
  } else {
    throw new TypeError(`example ${i}: want { input, label, option } or [input, label, option]`);
  }
  try {
    const le = { input: toValue(input), label: toLabel(label) };
    if (option) le.option = toStruct(option);
    return le;
  } catch (e) {
    if (e instanceof TypeError) throw new TypeError(`example ${i}: ${e.message}`);
    throw e;
  }
}

function evaluation(r) {
  const confusion = r.confusion || { labels: [], rows: [] };
  return {
    model: r.model,
    version: r.version,
    examples: r.examples,
    errors: r.errors,
    accuracy: r.accuracy,
    labels: (r.labels || []).map((m) => ({
      label: m.label, precision: m.precision, recall: m.recall, f1: m.f1, support: m.support,
    })),
    confusionLabels: Array.from(confusion.labels || []),
    confusion: (confusion.rows || []).map((row) => Array.from(row.counts || [])),
    details: (r.details || []).map((d) => ({
      index: d.index, expected: d.expected, predicted: d.predicted, correct: d.correct, error: d.error,
    })),
  };
}

// ---------------------------------------------------------------------------
// Archives: a deterministic ustar archive of a directory's contents or of
// one file, entry names relative to the directory (what UploadModel wants).

function tarHeader(name, size, isDir) {
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    prefix = cut > 0 ? name.slice(0, cut) : '';
    name = cut > 0 ? name.slice(cut + 1) : name;
    if (!prefix || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) {
      throw new Error(`path ${prefix ? `${prefix}/` : ''}${name} is too long for a tar archive`);
    }
  }
  const h = Buffer.alloc(512);
  const put = (s, off, len) => h.write(s, off, len, 'utf8');
  const oct = (n, len) => n.toString(8).padStart(len - 1, '0') + '\0';
  put(name, 0, 100);
  put(oct(isDir ? 0o755 : 0o644, 8), 100, 8);
  put(oct(0, 8), 108, 8);
  put(oct(0, 8), 116, 8);
  put(oct(size, 12), 124, 12);
  put(oct(0, 12), 136, 12);
  put('        ', 148, 8); // checksum field counts as spaces
  put(isDir ? '5' : '0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put(prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

function archiveEntries(root) {
  const st = fs.statSync(root);
  if (st.isFile()) return [{ full: root, name: path.basename(root), dir: false }];
  if (!st.isDirectory()) throw new Error(`${root} is neither a file nor a directory`);
  const out = [];
  const walk = (dir, rel) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const s = fs.statSync(full); // follows links
      if (s.isDirectory()) {
        out.push({ full, name: r, dir: true });
        walk(full, r);
      } else if (s.isFile()) {
        out.push({ full, name: r, dir: false });
      } else {
        throw new Error(`${full} is not a regular file`);
      }
    }
  };
  walk(root, '');
  if (!out.some((e) => !e.dir)) throw new Error(`${root} holds no files`);
  return out;
}

// buildArchive returns a tar archive (a Buffer) of a directory's contents or of one file.
function buildArchive(root) {
  const parts = [];
  for (const e of archiveEntries(root)) {
    if (e.dir) {
      parts.push(tarHeader(`${e.name}/`, 0, true));
      continue;
    }
    const data = fs.readFileSync(e.full);
    parts.push(tarHeader(e.name, data.length, false), data);
    if (data.length % 512) parts.push(Buffer.alloc(512 - (data.length % 512)));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------
// grpc.health.v1, encoded by hand so that no health proto is needed.

const HEALTH_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

function encodeHealth(service) {
  const b = Buffer.from(service || '', 'utf8');
  if (b.length === 0) return Buffer.alloc(0);
  if (b.length > 127) throw new Error('service name too long');
  return Buffer.concat([Buffer.from([0x0a, b.length]), b]);
}

function decodeHealth(buf) {
  // HealthCheckResponse is field 1, a varint; skip anything else.
  let i = 0;
  let status = 0;
  const varint = () => {
    let n = 0;
    let shift = 0;
    for (;;) {
      if (i >= buf.length) throw new Error('malformed health response');
      const b = buf[i++];
      n += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return n;
      shift += 7;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 0) {
      const v = varint();
      if (key >> 3 === 1) status = v;
    } else if (wire === 2) i += varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error('malformed health response');
  }
  return status;
}

// ---------------------------------------------------------------------------
// The client.

class Client {
  // addr: host:port. options:
  //   token       sent as "authorization: Bearer <token>" metadata on every
  //               call (admin calls need it unless the server takes them
  //               from loopback or a client certificate)
  //   timeoutMs   default deadline of each call (30000); every method takes
  //               { timeoutMs } to override, 0 or Infinity for none
  //   credentials grpc.ChannelCredentials (default: insecure)
  //   protoDir    where swapwire/v1/*.proto live (default: the package's
  //               proto/, or the repository's proto/ in a checkout)
  //   bigint      true: ints labels always come back as BigInts (by default
  //               Numbers when every element is a safe integer, else BigInts)
  //   channelOptions  extra grpc-js channel options
  constructor(addr, options = {}) {
    const pkgs = loadProtos(options.protoDir || DEFAULT_PROTO_DIR);
    const pkg = pkgs.num;
    const creds = options.credentials || grpc.credentials.createInsecure();
    const chOpts = {
      'grpc.max_receive_message_length': MAX_MESSAGE,
      'grpc.max_send_message_length': MAX_MESSAGE,
      ...(options.channelOptions || {}),
    };
    this.addr = addr;
    this.timeoutMs = options.timeoutMs === undefined ? 30000 : options.timeoutMs;
    this._bigint = options.bigint === true;
    this._prediction = new pkgs.str.PredictionService(addr, creds, chOpts);
    // Share the prediction client's channel.
    this._models = new pkg.ModelService(addr, creds, { ...chOpts, channelOverride: this._prediction.getChannel() });
    this._metadata = new grpc.Metadata();
    if (options.token) this._metadata.set('authorization', `Bearer ${options.token}`);
  }

  close() {
    this._models.close();
    this._prediction.close();
  }

  _opts(o) {
    const t = o && o.timeoutMs !== undefined ? o.timeoutMs : this.timeoutMs;
    return t && Number.isFinite(t) ? { deadline: Date.now() + t } : {};
  }

  _unary(client, method, req, o) {
    return new Promise((resolve, reject) => {
      client[method](req, this._metadata, this._opts(o), (err, resp) => (err ? reject(err) : resolve(resp)));
    });
  }

  static _request(input, o = {}) {
    const req = { model: o.model || '', version: o.version || 0, label: o.label || '', input: toValue(input) };
    if (o.option) req.option = toStruct(o.option);
    return req;
  }

  // predict(input, { model, version, label, option, timeoutMs }) resolves to
  // { model, version, label, scores, option }.
  async predict(input, o = {}) {
    return predictResult(await this._unary(this._prediction, 'Predict', Client._request(input, o), o), undefined, this._bigint);
  }

  // predictStream(inputs, opts) runs many inputs over one PredictStream and
  // resolves to the results in order, each with its id ("0", "1", ...). An
  // item is an input or { input, model, version, label, option, id }. A
  // failed item is { id, error: { code, message } } in its place.
  predictStream(items, o = {}) {
    return new Promise((resolve, reject) => {
      const call = this._prediction.PredictStream(this._metadata, this._opts(o));
      const out = [];
      call.on('data', (r) => {
        out.push(r.error ? { id: r.id, error: { code: r.error.code, message: r.error.message } }
          : predictResult(r.response, r.id, this._bigint));
      });
      call.on('error', reject);
      call.on('end', () => resolve(out));
      try {
        items.forEach((item, i) => {
          const isReq = item !== null && typeof item === 'object' && !Array.isArray(item)
            && !(item instanceof Uint8Array) && 'input' in item;
          const req = isReq ? Client._request(item.input, { ...o, ...item }) : Client._request(item, o);
          call.write({ id: String(isReq && item.id !== undefined ? item.id : i), request: req });
        });
        call.end();
      } catch (e) {
        call.cancel();
        reject(e);
      }
    });
  }

  // serviceInfo() resolves to { name, serviceLevel, swapwireVersion, defaultModel, models }.
  async serviceInfo(o = {}) {
    const r = await this._unary(this._prediction, 'ServiceInfo', {}, o);
    return {
      name: r.name,
      serviceLevel: r.serviceLevel,
      swapwireVersion: r.swapwireVersion,
      defaultModel: r.defaultModel,
      models: r.models.map((m) => ({
        name: m.name,
        servingVersion: Number(m.servingVersion),
        loadedVersions: Array.from(m.loadedVersions, Number),
        labels: Object.fromEntries(Object.entries(m.labels || {}).map(([k, v]) => [k, Number(v)])),
      })),
    };
  }

  // health(service) resolves to "SERVING", "NOT_SERVING", "UNKNOWN" or
  // "SERVICE_UNKNOWN" (grpc.health.v1; "" is the whole server, a model name
  // that model). An unknown service rejects with NOT_FOUND.
  health(service = '', o = {}) {
    return new Promise((resolve, reject) => {
      this._prediction.makeUnaryRequest(
        '/grpc.health.v1.Health/Check', (x) => x, (b) => b, encodeHealth(service),
        this._metadata, this._opts(o),
        (err, resp) => (err ? reject(err) : resolve(HEALTH_STATUS[decodeHealth(resp)] || 'UNKNOWN')),
      );
    });
  }

  // models(model) resolves to a list of model states (only model's when given).
  async models(model = '', o = {}) {
    const r = await this._unary(this._models, 'ListModels', { model }, o);
    return r.models.map(modelStatus);
  }

  // upload(model, path, { version, chunkSize, onProgress, timeoutMs }) sends a
  // directory's contents (or one file) as a tar archive and resolves to
  // { model, version, sha256, size, files }. version 0 takes the next free one.
  upload(model, dir, o = {}) {
    const archive = buildArchive(dir);
    const sha256 = crypto.createHash('sha256').update(archive).digest('hex');
    const chunkSize = o.chunkSize || 1 << 20;
    return new Promise((resolve, reject) => {
      const call = this._models.UploadModel(this._metadata, this._opts(o), (err, r) => {
        if (err) reject(err);
        else resolve({ model: r.model, version: r.version, sha256: r.sha256, size: r.size, files: r.files });
      });
      call.write({ header: { model, version: o.version || 0, sha256, size: archive.length } });
      for (let off = 0; off < archive.length; off += chunkSize) {
        const chunk = archive.subarray(off, off + chunkSize);
        call.write({ chunk });
        if (o.onProgress) o.onProgress(off + chunk.length, archive.length);
      }
      call.end();
    });
  }

  // switchModel(model, version) pins a version; 0 or null follows the latest.
  async switchModel(model, version, o = {}) {
    const r = await this._unary(this._models, 'SwitchModel', { model, version: version || 0 }, o);
    return modelStatus(r.status);
  }

  // setLabel(model, label, version) points a label (such as "canary") at a
  // version, which predict({ label }) then reaches; 0 or null removes the
  // label. Resolves to the model's state after the change was written.
  async setLabel(model, label, version, o = {}) {
    const r = await this._unary(this._models, 'SetLabel', { model, label, version: version || 0 }, o);
    return modelStatus(r.status);
  }

  // splitTraffic(model, weights) shares the requests that name no version
  // among versions by weight, such as { 3: 90, 4: 10 } (an A/B test or a
  // canary); {} or null removes the split. Resolves to the model's state.
  async splitTraffic(model, weights, o = {}) {
    const pairs = Object.entries(weights || {}).map(([version, weight]) => ({ version: Number(version), weight }));
    const r = await this._unary(this._models, 'SplitTraffic', { model, weights: pairs }, o);
    return modelStatus(r.status);
  }

  // rollback(model) pins the model to the good version that served before
  // the current one and resolves to { fromVersion, toVersion }.
  async rollback(model, o = {}) {
    const r = await this._unary(this._models, 'Rollback', { model }, o);
    return { fromVersion: r.fromVersion, toVersion: r.toVersion };
  }

  // deleteVersion(model, version) removes a version from the store; the
  // serving or pinned version, or one a label points at, rejects with
  // FAILED_PRECONDITION.
  async deleteVersion(model, version, o = {}) {
    await this._unary(this._models, 'DeleteVersion', { model, version }, o);
  }

  // evaluate(model, examples, { version, details, timeoutMs }) streams
  // labelled examples through a model version (0: the serving one; model
  // '': the default model) over one EvaluateModel call and resolves to
  // { model, version, examples, errors, accuracy, labels: [{ label,
  // precision, recall, f1, support }], confusionLabels, confusion (rows:
  // expected, columns: predicted, in confusionLabels order), details }.
  // An example is { input, label, option } or [input, label, option?]: the
  // input as predict takes it, the label the same (a number alone is a
  // one-element array). Labels compare by their text form ("7" for [7]).
  // details: true adds { index, expected, predicted, correct, error } per example.
  evaluate(model, examples, o = {}) {
    let msgs;
    try {
      msgs = Array.from(examples, (ex, i) => ({ example: labelledExample(ex, i) }));
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      const call = this._models.EvaluateModel(this._metadata, this._opts(o), (err, r) => {
        if (err) reject(err);
        else resolve(evaluation(r));
      });
      call.write({ header: { model: model || '', version: o.version || 0, details: !!o.details } });
      for (const m of msgs) call.write(m);
      call.end();
    });
  }
}

module.exports = {
  Client,
  status: grpc.status,
  toValue,
  fromValue,
  toLabel,
  toStruct,
  fromStruct,
  buildArchive,
  _health: { encodeHealth, decodeHealth },
  _loadProtos: () => loadProtos(DEFAULT_PROTO_DIR),
};
