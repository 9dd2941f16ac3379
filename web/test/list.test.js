import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorLabel } from '../list.js';

/** @param {any} user */
const msg = (user) => /** @type {any} */ ({ type: 'danmaku', text: 'hi', user });

test('a message without a user is from the system, not a guest', () => {
  // Published by a service through the API: no viewer wrote it.
  assert.equal(authorLabel(msg(null)), 'system');
  assert.equal(authorLabel({ ...msg(undefined), type: 'gift' }), 'system');
});

test('viewers are shown by name, and as guest without one', () => {
  assert.equal(authorLabel(msg({ id: 'u_1', name: 'Ann' })), 'Ann');
  assert.equal(authorLabel(msg({ id: 'g_2', name: '', role: 'guest' })), 'guest');
});
