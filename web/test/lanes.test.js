import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LaneSet, freeAt } from '../lanes.js';

const W = 1000; // stage width, px
const D = 8000; // crossing time, ms

/** A candidate of the given width crossing the stage in D. */
const cand = (width, extra = {}) => ({ width, duration: D, stageWidth: W, ...extra });

test('an empty lane set places top-down', () => {
  const lanes = new LaneSet({ kind: 'scroll', count: 3, gap: 0 });
  assert.equal(lanes.place(0, cand(100))?.lane, 0);
  // Lane 0's comment has not fully entered yet: the next goes below.
  assert.equal(lanes.place(0, cand(100))?.lane, 1);
  assert.equal(lanes.place(0, cand(100))?.lane, 2);
  // No free lane: dropped.
  assert.equal(lanes.place(0, cand(100)), null);
});

test('a lane is free once the tail (plus the gap) has entered, for equal widths', () => {
  const gap = 20;
  const lanes = new LaneSet({ kind: 'scroll', count: 1, gap });
  lanes.place(0, cand(100));
  const speed = (W + 100) / D; // px per ms
  const tailIn = (100 + gap) / speed;
  assert.equal(lanes.place(tailIn - 1, cand(100)), null, 'tail not in yet');
  assert.equal(lanes.place(tailIn + 1, cand(100))?.lane, 0, 'tail in: same speed cannot catch up');
});

test('a longer, faster comment must not catch the previous one before it leaves', () => {
  const lanes = new LaneSet({ kind: 'scroll', count: 1, gap: 0 });
  lanes.place(0, cand(50)); // short and slow: (1000+50)/8000 px/ms
  const vSlow = (W + 50) / D;
  const vFast = (W + 600) / D;
  // Its tail is in after 50/vSlow ≈ 381 ms; but a 600 px comment is much
  // faster and would run into it before it leaves at t = D.
  const tailIn = 50 / vSlow;
  assert.equal(lanes.place(tailIn + 10, cand(600)), null, 'would catch up');
  // It may start once its head reaches the left edge no earlier than the
  // short comment's tail does (at t = D).
  const noCatch = D - W / vFast;
  assert.ok(noCatch > tailIn);
  assert.equal(lanes.place(noCatch - 5, cand(600)), null);
  assert.equal(lanes.place(noCatch + 5, cand(600))?.lane, 0);
});

test('a shorter, slower comment only waits for the tail', () => {
  const prev = { start: 0, width: 600, duration: D, stageWidth: W, lane: 0, span: 1, paused: false };
  const v = (W + 600) / D;
  assert.equal(freeAt('scroll', prev, cand(50), 0), 600 / v);
});

test('freeAt: empty lane, paused comment, fixed lanes', () => {
  assert.equal(freeAt('scroll', null, cand(10)), -Infinity);
  const prev = { start: 100, width: 10, duration: 4000, stageWidth: W, lane: 0, span: 1, paused: true };
  assert.equal(freeAt('scroll', prev, cand(10)), Infinity);
  assert.equal(freeAt('fixed', { ...prev, paused: false }, cand(10)), 4100);
});

test('fixed lanes free up when the comment expires', () => {
  const lanes = new LaneSet({ kind: 'fixed', count: 2 });
  const c = { width: 300, duration: 4000, stageWidth: W };
  assert.equal(lanes.place(0, c)?.lane, 0);
  assert.equal(lanes.place(10, c)?.lane, 1);
  assert.equal(lanes.place(3999, c), null);
  assert.equal(lanes.place(4000, c)?.lane, 0);
});

test('a tall comment spans several lanes and needs all of them free', () => {
  const lanes = new LaneSet({ kind: 'fixed', count: 3 });
  const c = { width: 300, duration: 4000, stageWidth: W };
  lanes.place(0, c); // lane 0
  lanes.place(0, c); // lane 1
  // Lanes 1-2 are not both free, neither are 0-1: nothing for a span of 2.
  assert.equal(lanes.place(1, { ...c, span: 2 }), null);
  const big = lanes.place(4000, { ...c, span: 2 });
  assert.deepEqual([big?.lane, big?.span], [0, 2]);
  assert.equal(lanes.lanes[0], big);
  assert.equal(lanes.lanes[1], big);
  // A span larger than the stage is clamped to the lanes there are.
  const huge = new LaneSet({ kind: 'fixed', count: 2 }).place(0, { ...c, span: 5 });
  assert.equal(huge?.span, 2);
});

test('a paused comment blocks its lane until it moves again', () => {
  const lanes = new LaneSet({ kind: 'scroll', count: 1, gap: 0 });
  const f = lanes.place(0, cand(100));
  assert.ok(f);
  f.paused = true;
  assert.equal(lanes.place(D * 2, cand(100)), null);
  // Unpaused after 1 s: its schedule shifts by the pause.
  f.paused = false;
  f.start += 1000;
  const tailIn = 1000 + 100 / ((W + 100) / D);
  assert.equal(lanes.place(tailIn - 1, cand(100)), null);
  assert.equal(lanes.place(tailIn + 1, cand(100))?.lane, 0);
});

test('force places in the lane that frees first, overlapping', () => {
  const lanes = new LaneSet({ kind: 'fixed', count: 3 });
  const c = (d) => ({ width: 100, duration: d, stageWidth: W });
  lanes.place(0, c(3000));
  lanes.place(0, c(1000));
  lanes.place(0, c(2000));
  assert.equal(lanes.place(10, c(1000)), null);
  assert.equal(lanes.place(10, c(1000), true)?.lane, 1);
  // All paused: the first lane.
  for (const f of lanes.lanes) if (f) f.paused = true;
  assert.equal(lanes.place(20, c(1000), true)?.lane, 0);
});

test('resize keeps surviving lanes and forgets removed ones', () => {
  const lanes = new LaneSet({ kind: 'scroll', count: 4 });
  const f = lanes.place(0, cand(100));
  lanes.resize(2);
  assert.equal(lanes.count, 2);
  assert.equal(lanes.lanes[0], f);
  lanes.resize(5);
  assert.equal(lanes.count, 5);
  assert.equal(lanes.lanes[4], null);
  assert.equal(new LaneSet({ kind: 'scroll', count: 0 }).place(0, cand(10), true), null);
  lanes.clear();
  assert.ok(lanes.lanes.every((x) => x === null));
});

/** Seeded random numbers, so failures reproduce. */
function prng(seed) {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;
}

test('property: scrolling comments in a lane never overlap on screen', () => {
  for (const seed of [1, 2, 3, 42, 1234]) {
    const rnd = prng(seed);
    const lanes = new LaneSet({ kind: 'scroll', count: 6, gap: 0 });
    const placed = [];
    let t = 0;
    for (let i = 0; i < 3000; i++) {
      t += rnd() * 150;
      const width = 20 + Math.floor(rnd() * 700);
      const duration = rnd() < 0.1 ? D * 0.7 : D; // the speed setting changes now and then
      const f = lanes.place(t, { width, duration, stageWidth: W });
      if (f) placed.push(f);
    }
    assert.ok(placed.length > 100, 'enough comments placed to mean something');
    // x(t) = W - v (t - start) for the left edge; a comment covers [x, x + width].
    const x = (f, at) => W - ((W + f.width) / f.duration) * (at - f.start);
    for (let i = 0; i < placed.length; i++) {
      for (let j = i + 1; j < placed.length; j++) {
        const a = placed[i];
        const b = placed[j];
        if (a.lane !== b.lane) continue;
        const from = Math.max(a.start, b.start);
        const to = Math.min(a.start + a.duration, b.start + b.duration);
        if (from >= to) continue;
        // f ≥ 0: b is entirely right of a; g ≥ 0: a is entirely right of b.
        // Both are linear in time, so checking the ends of the window suffices.
        const f = (at) => x(b, at) - (x(a, at) + a.width);
        const g = (at) => x(a, at) - (x(b, at) + b.width);
        const eps = 1e-6;
        const apart = (f(from) >= -eps && f(to) >= -eps) || (g(from) >= -eps && g(to) >= -eps);
        assert.ok(apart, `seed ${seed}: comments at ${a.start} and ${b.start} overlap in lane ${a.lane}`);
      }
    }
  }
});
