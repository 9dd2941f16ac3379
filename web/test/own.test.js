import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OwnEchoes } from '../own.js';

test('the echo is recognized by offset when the ack came first', () => {
  const o = new OwnEchoes();
  o.sent('l1', { text: 'hi', mode: 'scroll', color: '#ffffff' }, 0);
  o.acked('l1', 42);
  assert.equal(o.claim({ offset: 41, text: 'hi' }, 1), null, 'same text, other offset: someone else');
  assert.equal(o.claim({ offset: 42, text: 'hi' }, 1), 'l1');
  assert.equal(o.claim({ offset: 42, text: 'hi' }, 1), null, 'claimed once');
});

test('the echo is recognized by content when it beats the ack', () => {
  const o = new OwnEchoes();
  o.sent('l1', { text: 'hi', mode: 'top', color: '#FE0302' }, 0);
  assert.equal(o.claim({ offset: 7, text: 'hi', mode: 'scroll', color: '#fe0302' }, 1), null, 'other mode');
  assert.equal(o.claim({ offset: 7, text: 'hi', mode: 'top', color: '#fe0302' }, 1), 'l1');
  o.acked('l1', 7); // arrives late, nothing left behind
  assert.equal(o.claim({ offset: 7, text: 'hi', mode: 'top', color: '#fe0302' }, 2), null);
});

test('defaults are applied before comparing', () => {
  const o = new OwnEchoes();
  o.sent('l1', { text: 'x' }, 0);
  assert.equal(o.claim({ offset: 1, text: 'x', mode: 'scroll', color: '#FFFFFF' }, 1), 'l1');
});

test('failed sends and old sends are forgotten', () => {
  const o = new OwnEchoes(1000);
  o.sent('l1', { text: 'a' }, 0);
  o.failed('l1');
  assert.equal(o.claim({ offset: 1, text: 'a' }, 1), null);
  o.sent('l2', { text: 'b' }, 0);
  o.sent('l3', { text: 'c' }, 900);
  assert.equal(o.claim({ offset: 2, text: 'b' }, 1500), null, 'l2 expired');
  assert.equal(o.claim({ offset: 3, text: 'c' }, 1500), 'l3');
  o.acked('unknown', 5); // harmless
});
