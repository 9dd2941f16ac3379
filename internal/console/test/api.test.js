import { test } from 'node:test';
import assert from 'node:assert/strict';
import { feedURL, isToken } from '../assets/api.js';

test('the live feed follows the page: its host, another port of it, or an absolute URL', () => {
  const http = { protocol: 'http:', host: 'localhost:9090', hostname: 'localhost' };
  const https = { protocol: 'https:', host: 'admin.example.com', hostname: 'admin.example.com' };
  const v6 = { protocol: 'http:', host: '[::1]:9090', hostname: '[::1]' };
  assert.equal(feedURL('/ws', http), 'ws://localhost:9090/ws');
  assert.equal(feedURL('/ws', https), 'wss://admin.example.com/ws');
  assert.equal(feedURL(':8080/ws', http), 'ws://localhost:8080/ws');
  assert.equal(feedURL(':443/live', https), 'wss://admin.example.com:443/live');
  assert.equal(feedURL(':8080/ws', v6), 'ws://[::1]:8080/ws');
  assert.equal(feedURL('wss://live.example.com/ws', http), 'wss://live.example.com/ws');
});

test('a token has three dot-separated parts; an API key is anything else', () => {
  assert.equal(isToken('eyJhbGciOi.eyJzdWIi.c2ln'), true);
  assert.equal(isToken('dmk_3fa1'), false);
  assert.equal(isToken('a.b'), false);
  assert.equal(isToken('a.b.c.d'), false);
});
