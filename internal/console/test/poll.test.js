import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { poll } from '../assets/poll.js';

/** Lets the polled function's promise settle. */
const settle = () => new Promise((r) => setImmediate(r));

test('runs at once, then each interval after the last run ended, until stopped', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let runs = 0;
  const stop = poll(1000, () => {
    runs++;
  });
  assert.equal(runs, 1);
  await settle();
  t.mock.timers.tick(999);
  assert.equal(runs, 1);
  t.mock.timers.tick(1);
  assert.equal(runs, 2);
  await settle();
  t.mock.timers.tick(1000);
  assert.equal(runs, 3);
  await settle();
  stop();
  t.mock.timers.tick(5000);
  assert.equal(runs, 3);
});

test('a slow run delays the next one instead of piling up', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  /** @type {(() => void)|null} */
  let finish = null;
  let runs = 0;
  const stop = poll(100, () => {
    runs++;
    return new Promise((r) => {
      finish = r;
    });
  });
  t.mock.timers.tick(1000);
  assert.equal(runs, 1, 'no second run while the first is under way');
  finish?.();
  await settle();
  t.mock.timers.tick(100);
  assert.equal(runs, 2);
  stop();
});

test('a run that throws does not end the polling', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const fn = mock.fn(() => {
    throw new Error('offline');
  });
  const stop = poll(10, fn);
  await settle();
  t.mock.timers.tick(10);
  await settle();
  t.mock.timers.tick(10);
  assert.equal(fn.mock.callCount(), 3);
  stop();
});
