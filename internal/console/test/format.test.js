import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  byCount, durationLabel, formatAgo, formatBytes, formatClock, formatCount, formatMs, formatRate, formatUntil, historyQuery,
} from '../assets/format.js';

test('rates keep their precision where it is readable', () => {
  const cases = [
    [0, '0'], [0.25, '0.25'], [0.5, '0.5'], [3.5, '3.5'], [9.96, '10'], [35, '35'], [999.4, '999'],
    [1000, '1.0k'], [12345, '12.3k'], [2.5e6, '2.5M'], [-3.5, '-3.5'],
    [null, '—'], [undefined, '—'], [NaN, '—'], [Infinity, '—'],
  ];
  for (const [v, want] of cases) assert.equal(formatRate(v), want, `formatRate(${v})`);
});

test('counts are grouped in thousands', () => {
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(1234567), '1,234,567');
  assert.equal(formatCount(-1234), '-1,234');
  assert.equal(formatCount(12.6), '13');
  assert.equal(formatCount(null), '—');
});

test('bytes use SI units', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(5000), '5.0 kB');
  assert.equal(formatBytes(1_500_000), '1.5 MB');
  assert.equal(formatBytes(3e12), '3.0 TB');
  assert.equal(formatBytes(7e15), '7000.0 TB', 'the largest unit takes what is beyond it');
  assert.equal(formatBytes(undefined), '—');
});

test('latencies: null is no sample, not zero', () => {
  assert.equal(formatMs(null), '—');
  assert.equal(formatMs(0), '0 ms');
  assert.equal(formatMs(2.1), '2.1 ms');
  assert.equal(formatMs(2.126), '2.13 ms');
  assert.equal(formatMs(9.8), '9.8 ms');
  assert.equal(formatMs(123.45), '123.5 ms');
  assert.equal(formatMs(1500), '1.5 s');
});

test('clock times are zero-padded HH:MM:SS in local time', () => {
  const d = new Date(2026, 0, 2, 3, 4, 5);
  assert.equal(formatClock(d.getTime()), '03:04:05');
  assert.equal(formatClock(0), '—');
  assert.equal(formatClock(NaN), '—');
});

test('ago and until take ISO times or Unix ms', () => {
  const now = Date.UTC(2026, 5, 1, 12, 0, 0);
  assert.equal(formatAgo(now, now), 'just now');
  assert.equal(formatAgo(now - 42_000, now), '42 s ago');
  assert.equal(formatAgo(new Date(now - 5 * 60_000).toISOString(), now), '5 min ago');
  assert.equal(formatAgo(now - 3 * 3600_000, now), '3 h ago');
  assert.equal(formatAgo(now - 2 * 86400_000, now), '2 d ago');
  assert.equal(formatAgo(now + 60_000, now), 'just now', 'a clock ahead is not the future');
  assert.equal(formatAgo('not a date', now), '—');
  assert.equal(formatAgo(null, now), '—');
  assert.equal(formatUntil(null, now), 'forever');
  assert.equal(formatUntil(undefined, now), 'forever');
  assert.equal(formatUntil(new Date(now + 9 * 60_000 + 30_000).toISOString(), now), 'in 9 min');
  assert.equal(formatUntil(now - 1000, now), 'ended');
});

test('durations have labels, the odd ones in units', () => {
  assert.equal(durationLabel(600), '10 minutes');
  assert.equal(durationLabel(0), 'forever');
  assert.equal(durationLabel(7200), '2 h');
  assert.equal(durationLabel(45), '45 s');
});

test('reasons come largest first, ties by name, junk left out', () => {
  assert.deepEqual(byCount({ normal: 3, slow_consumer: 0, banned: 3, flood: 9, bad: 'x', inf: Infinity }), [
    ['flood', 9], ['banned', 3], ['normal', 3], ['slow_consumer', 0],
  ]);
  assert.deepEqual(byCount(null), []);
  assert.deepEqual(byCount(undefined), []);
});

test('history queries: open ends, local times, and their errors', () => {
  assert.deepEqual(historyQuery('', '', '100'), { query: 'limit=100' });
  const from = new Date('2026-06-01T10:00:00').getTime();
  const to = new Date('2026-06-01T11:30:15').getTime();
  assert.deepEqual(historyQuery('2026-06-01T10:00', '2026-06-01T11:30:15', 50), { query: `limit=50&from=${from}&to=${to}` });
  assert.deepEqual(historyQuery('', '2026-06-01T11:30:15', 1000), { query: `limit=1000&to=${to}` });
  assert.deepEqual(historyQuery('2026-06-01T11:00', '2026-06-01T10:00', 10), { error: 'To is before from.' });
  assert.deepEqual(historyQuery('', '', '0'), { error: 'At most must be 1–1000 messages.' });
  assert.deepEqual(historyQuery('', '', '1001'), { error: 'At most must be 1–1000 messages.' });
  assert.deepEqual(historyQuery('', '', '2.5'), { error: 'At most must be 1–1000 messages.' });
  assert.deepEqual(historyQuery('yesterday', '', '10'), { error: 'from is not a date and time.' });
});
