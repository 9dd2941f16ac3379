import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SETTINGS,
  STORAGE_KEY,
  compileFilter,
  compilePattern,
  loadSettings,
  normalizeSettings,
  saveSettings,
} from '../settings.js';

/** An in-memory Storage. */
function memoryStorage() {
  const data = new Map();
  return {
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
    data,
  };
}

test('defaults when storage is empty, unreadable or missing', () => {
  assert.deepEqual(loadSettings(memoryStorage()), { ...DEFAULT_SETTINGS });
  const bad = memoryStorage();
  bad.setItem(STORAGE_KEY, '{not json');
  assert.deepEqual(loadSettings(bad), { ...DEFAULT_SETTINGS });
  assert.deepEqual(loadSettings(null), { ...DEFAULT_SETTINGS });
  const throwing = { getItem: () => { throw new Error('SecurityError'); } };
  assert.deepEqual(loadSettings(throwing), { ...DEFAULT_SETTINGS });
});

test('save and load round-trip', () => {
  const st = memoryStorage();
  const s = normalizeSettings({
    enabled: false, hideTop: true, opacity: 0.5, area: 0.5, speed: 1.5, fontScale: 1.2,
    keywords: ['spoiler'], regexes: ['^2{3,}$'], blockedUsers: [{ id: 'u1', name: 'troll' }],
  });
  assert.equal(saveSettings(st, s), true);
  assert.deepEqual(loadSettings(st), s);
  const full = { setItem: () => { throw new Error('QuotaExceededError'); } };
  assert.equal(saveSettings(full, s), false);
});

test('normalize clamps numbers, snaps the area and cleans lists', () => {
  const s = normalizeSettings({
    opacity: 7, speed: -1, fontScale: 'big', area: 0.3, enabled: 'yes',
    keywords: [' a ', 'a', '', 3, 'b'], blockedUsers: [{ id: 'x' }, { id: 'x' }, { name: 'no id' }, null],
    extra: true,
  });
  assert.equal(s.opacity, 1);
  assert.equal(s.speed, 0.5);
  assert.equal(s.fontScale, 1);
  assert.equal(s.area, 0.25);
  assert.equal(s.enabled, true);
  assert.deepEqual(s.keywords, ['a', 'b']);
  assert.deepEqual(s.blockedUsers, [{ id: 'x' }]);
  assert.equal('extra' in s, false);
  assert.equal(normalizeSettings({ area: 0.7 }).area, 0.75);
  assert.equal(normalizeSettings({}).engine, 'auto');
  assert.equal(normalizeSettings({ engine: 'canvas' }).engine, 'canvas');
  assert.equal(normalizeSettings({ engine: 'webgl' }).engine, 'auto');
  assert.equal(normalizeSettings({ keywords: Array.from({ length: 500 }, (_, i) => `k${i}`) }).keywords.length, 200);
});

test('patterns: plain and /slashed/ forms, invalid ones reported', () => {
  assert.ok(compilePattern('ab+c').re?.test('xABBC'), 'case-insensitive');
  assert.ok(compilePattern('/^x\\d$/').re?.test('X1'));
  assert.equal(compilePattern('/^x$/g').re?.flags.includes('g'), false, 'no stateful flags');
  const bad = compilePattern('(');
  assert.equal(bad.re, null);
  assert.match(bad.error ?? '', /./);
});

test('the filter hides by block lists, type and colour', () => {
  const f = compileFilter(normalizeSettings({
    keywords: ['Spoiler'], regexes: ['^2{3,}$', '('], blockedUsers: [{ id: 'troll' }],
  }));
  const msg = (over) => ({ text: 'hello', mode: 'scroll', color: '#ffffff', user: { id: 'u' }, ...over });
  assert.equal(f(msg()), null);
  assert.equal(f(msg({ text: 'big SPOILER ahead' })), 'keyword');
  assert.equal(f(msg({ text: '23333' })), null);
  assert.equal(f(msg({ text: '22222' })), 'regex');
  assert.equal(f(msg({ user: { id: 'troll' } })), 'user');
  assert.equal(f(msg({ user: null })), null);
  const g = compileFilter(normalizeSettings({ hideTop: true, hideReverse: true, hideColored: true }));
  assert.equal(g(msg({ mode: 'top' })), 'type');
  assert.equal(g(msg({ mode: 'reverse' })), 'type');
  assert.equal(g(msg({ mode: 'bottom' })), null);
  assert.equal(g(msg({ mode: undefined })), null, 'scroll by default');
  assert.equal(g(msg({ color: '#FE0302' })), 'colored');
  assert.equal(g(msg({ color: '#FFFFFF' })), null);
  const off = compileFilter(normalizeSettings({ enabled: false }));
  assert.equal(off(msg()), 'disabled');
});
