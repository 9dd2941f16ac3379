import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Series, linePath, niceCeil } from '../assets/chart.js';

test('a series keeps the newest samples, in time order', () => {
  const s = new Series(3);
  for (let t = 1; t <= 5; t++) s.push(t * 1000, t);
  assert.deepEqual(s.samples, [[3000, 3], [4000, 4], [5000, 5]]);
  s.push(5000, 99); // not after the newest
  s.push(4500, 99);
  assert.equal(s.last(), 5);
  assert.equal(s.max(), 5);
  s.push(6000, null);
  s.push(7000, NaN);
  assert.deepEqual(s.samples, [[5000, 5], [6000, null], [7000, null]], 'missing values are gaps');
  assert.equal(s.last(), null);
  assert.equal(new Series(5).max(), 0);
});

test('the scale rounds up to 1, 2, 2.5 or 5 × 10^k', () => {
  const cases = [
    [0, 1], [-3, 1], [NaN, 1], [Infinity, 1], [0.3, 0.5], [1, 1], [1.01, 2], [2.2, 2.5], [3, 5], [7, 10],
    [10, 10], [11, 20], [240, 250], [251, 500], [35_000, 50_000], [0.0012, 0.002],
  ];
  for (const [v, want] of cases) assert.equal(niceCeil(v), want, `niceCeil(${v})`);
  for (let v = 0.01; v < 1e7; v *= 1.37) {
    const c = niceCeil(v);
    assert.ok(c >= v && c <= v * 2.5 + 1e-9, `niceCeil(${v}) = ${c}`);
  }
});

test('the line spans the box, time left to right, values bottom to top', () => {
  const box = { width: 100, height: 50, t0: 0, t1: 1000, max: 10 };
  assert.equal(linePath([[0, 0], [500, 5], [1000, 10]], box), 'M0.0 50.0 L50.0 25.0 L100.0 0.0');
  // Out of range values are clamped; samples outside the window dropped.
  assert.equal(linePath([[-1, 3], [250, 20], [750, -4], [1001, 1]], box), 'M25.0 0.0 L75.0 50.0');
});

test('a gap ends the line and the next sample starts another', () => {
  const box = { width: 100, height: 10, t0: 0, t1: 100, max: 1 };
  assert.equal(linePath([[0, 1], [10, 1], [20, null], [30, 0], [40, 0]], box), 'M0.0 0.0 L10.0 0.0 M30.0 10.0 L40.0 10.0');
});

test('an empty window or scale draws nothing', () => {
  assert.equal(linePath([[0, 1]], { width: 10, height: 10, t0: 5, t1: 5, max: 1 }), '');
  assert.equal(linePath([[0, 1]], { width: 10, height: 10, t0: 0, t1: 5, max: 0 }), '');
  assert.equal(linePath([], { width: 10, height: 10, t0: 0, t1: 5, max: 1 }), '');
});
