import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateMeter, formatRate } from '../rate.js';

/** A meter on a clock the test moves. */
function meter(options = {}) {
  const clock = { t: 10_000 };
  const m = new RateMeter({ ...options, now: () => clock.t });
  return { m, clock };
}

test('bursts a second or so apart never read as 0 /s', () => {
  // What the header saw in a lively room: 4 comments every 1.3 s, read once
  // a second. A one-second window read 0 between bursts about half the time.
  const { m, clock } = meter();
  const readings = [];
  let nextBurst = clock.t;
  let nextRead = clock.t + 1000;
  while (clock.t < 30_000) {
    clock.t += 50;
    if (clock.t >= nextBurst) {
      m.tick(4);
      nextBurst += 1300;
    }
    if (clock.t >= nextRead) {
      readings.push(m.rate());
      nextRead += 1000;
    }
  }
  assert.ok(readings.every((r) => r > 0), `a reading of 0: ${readings}`);
  const late = readings.slice(-10);
  // A 5 s window holds 3 or 4 bursts: 2.4 or 3.2 per second.
  for (const r of late) assert.ok(r >= 2.4 && r <= 3.2, `4 per 1.3 s is about 3/s, got ${r}`);
});

test('a steady rate reads as itself, and silence goes back to 0', () => {
  const { m, clock } = meter();
  for (let i = 0; i < 100; i++) {
    clock.t += 100;
    m.tick();
  }
  assert.ok(Math.abs(m.rate() - 10) < 0.6, `10 per second read as ${m.rate()}`);
  clock.t += 5_000;
  assert.equal(m.rate(), 0);
  clock.t += 60_000; // a long gap clears every slot, not just a window's worth
  m.tick(2);
  assert.ok(m.rate() > 0 && m.rate() < 1, `2 in a 5 s window read as ${m.rate()}`);
});

test('the first comments are not diluted by a window that has not passed yet', () => {
  const { m, clock } = meter();
  m.tick(3);
  clock.t += 500;
  assert.equal(m.rate(), 3, 'within the first second: per second, not per 5 s');
  clock.t += 1500;
  assert.equal(m.rate(), 1.5, 'after 2 s: averaged over 2 s');
});

test('formatRate', () => {
  assert.equal(formatRate(0), '0 /s');
  assert.equal(formatRate(0.4), '0.4 /s');
  assert.equal(formatRate(9.96), '10.0 /s');
  assert.equal(formatRate(212.4), '212 /s');
});
