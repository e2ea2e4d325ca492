// Run by scripts/test-sdk-node.sh in a temporary project that installed the
// packed tarball: type-checked against index.d.ts with tsc, then run.
import { Client, PredictResult, status } from '@swapwire/client';
import * as assert from 'node:assert/strict';

async function main(addr: string): Promise<void> {
  const c = new Client(addr, { timeoutMs: 30000 });
  try {
    let r: PredictResult = await c.predict([2n ** 62n + 1n, -7n], { model: 'echo' });
    assert.deepEqual([r.model, r.version, r.labelKind, r.label], ['echo', 1, 'ints', [2n ** 62n + 1n, -7n]]);
    console.log('ok  int64 beyond 2^53 round-trips exactly:', r.label);
    r = await c.predict(new Float64Array([1, 2]), { model: 'echo' });
    assert.deepEqual([r.labelKind, r.label, r.scores], ['floats', [1, 2], [2]]);
    r = await c.predict({ floats: [3] }, { model: 'echo' });
    assert.deepEqual([r.labelKind, r.label], ['floats', [3]]);
    console.log('ok  whole-number floats stay floats');
    r = await c.predict([5, 6], { model: 'echo' });
    assert.deepEqual([r.labelKind, r.label], ['ints', [5, 6]]);
    await assert.rejects(c.predict('x', { model: 'nope' }), (e: { code: number }) => e.code === status.NOT_FOUND);
    console.log('ok  the installed tarball predicts');
  } finally {
    c.close();
  }
}

main(process.argv[2]).catch((e) => {
  console.error(e);
  process.exit(1);
});
