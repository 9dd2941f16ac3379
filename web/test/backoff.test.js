import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, ServerList, retryHintMs } from '../backoff.js';

test('delays stay within [min, max] whatever the random source says', () => {
  for (const r of [0, 0.5, 0.999999]) {
    const b = new Backoff({ minMs: 500, maxMs: 20000, random: () => r });
    for (let i = 0; i < 100; i++) {
      const d = b.next();
      assert.ok(d >= 500 && d <= 20000, `attempt ${i}: ${d}`);
    }
  }
});

test('the ceiling doubles per attempt and stops at max', () => {
  const b = new Backoff({ minMs: 500, maxMs: 20000, random: () => 0.999999 });
  const got = [];
  for (let i = 0; i < 8; i++) got.push(b.next());
  assert.deepEqual(got, [1000, 2000, 4000, 8000, 16000, 20000, 20000, 20000]);
  const low = new Backoff({ minMs: 500, maxMs: 20000, random: () => 0 });
  for (let i = 0; i < 8; i++) assert.equal(low.next(), 500, 'the floor holds');
});

test('full jitter: delays spread over the whole window', () => {
  const b = new Backoff({ minMs: 500, maxMs: 20000 });
  const seen = [];
  for (let i = 0; i < 400; i++) {
    b.reset();
    for (let k = 0; k < 4; k++) b.next(); // attempt 4: window [500, 16000]
    seen.push(b.next());
  }
  const min = Math.min(...seen);
  const max = Math.max(...seen);
  assert.ok(min >= 500 && max <= 16000);
  assert.ok(max - min > 10000, `spread ${min}..${max} is too narrow for full jitter`);
  assert.ok(new Set(seen).size > 200, 'values are not clumped');
});

test('reset starts over after a good connection', () => {
  const b = new Backoff({ minMs: 500, maxMs: 20000, random: () => 0.999999 });
  for (let i = 0; i < 6; i++) b.next();
  assert.equal(b.attempt, 6);
  b.reset();
  assert.equal(b.attempt, 0);
  assert.equal(b.next(), 1000);
});

test('a server hint raises the delay but not past max', () => {
  const b = new Backoff({ minMs: 500, maxMs: 20000, random: () => 0 });
  assert.equal(b.next(3000), 3000);
  assert.equal(b.next(60000), 20000);
  assert.equal(b.next(10), 500);
});

test('bad options are refused', () => {
  assert.throws(() => new Backoff({ minMs: 0 }), RangeError);
  assert.throws(() => new Backoff({ minMs: 1000, maxMs: 10 }), RangeError);
  assert.doesNotThrow(() => new Backoff());
});

test('retryHintMs reads retry=<ms> from a close reason', () => {
  assert.equal(retryHintMs('retry=1500'), 1500);
  assert.equal(retryHintMs('overloaded; retry=250'), 250);
  assert.equal(retryHintMs('overloaded retry=250 later'), 250);
  assert.equal(retryHintMs(''), 0);
  assert.equal(retryHintMs('noretry=5'), 0);
  assert.equal(retryHintMs('retry=abc'), 0);
  assert.equal(retryHintMs(undefined), 0);
});

test('with several URLs the ceiling doubles once per round', () => {
  const b = new Backoff({ minMs: 500, maxMs: 20000, random: () => 0.999999, perRound: 3 });
  const got = [];
  for (let i = 0; i < 9; i++) got.push(b.next());
  assert.deepEqual(got, [1000, 1000, 1000, 2000, 2000, 2000, 4000, 4000, 4000]);
  assert.equal(b.rounds(), 3);
});

test('ServerList rotates, skips URLs held by a hint, and avoids a drained one', () => {
  const s = new ServerList(['a', 'b', 'c'], () => 0);
  const now = 1000;
  assert.deepEqual(s.pick(now), { index: 0, url: 'a', at: now });
  s.tried(0, 0, now);
  assert.equal(s.pick(now).url, 'b');
  s.tried(1, 5000, now); // b asks for 5 s
  s.tried(2, 0, now);
  assert.equal(s.pick(now).url, 'a');
  s.tried(0, 0, now);
  assert.equal(s.pick(now).url, 'c', 'b is held');
  assert.equal(s.pick(now, 2).url, 'a', 'b is held, c just drained');
  s.tried(0, 9000, now);
  s.tried(2, 7000, now);
  assert.deepEqual(s.pick(now), { index: 1, url: 'b', at: now + 5000 }, 'all held: the first free');
  assert.deepEqual(s.pick(now, 1), { index: 2, url: 'c', at: now + 7000 });
  assert.equal(s.pick(now + 5000).url, 'b', 'the hold is over');
  const one = new ServerList(['lb'], () => 0.7);
  one.tried(0, 2000, now);
  assert.deepEqual(one.pick(now, 0), { index: 0, url: 'lb', at: now + 2000 }, 'one URL is never avoided');
  assert.equal(new ServerList(['a', 'b', 'c'], () => 0.999999).pick(now).url, 'c');
  assert.throws(() => new ServerList([]), RangeError);
});
