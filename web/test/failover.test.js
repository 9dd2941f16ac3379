import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DanmakuClient } from '../danmaku.js';
import { FakeWS, until, setup, accept, msg } from './fakews.js';

const A = 'ws://a/ws';
const B = 'ws://b/ws';
const C = 'ws://c/ws';

/** A seeded uniform source (mulberry32), so that a spread can be checked exactly. */
function seeded(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The URLs of every socket the client opened, in order. */
const dialed = () => FakeWS.all.map((ws) => ws.url);

test('one URL as a string or several as an array', () => {
  const one = new DanmakuClient(A);
  assert.deepEqual([one.urls, one.url], [[A], A]);
  const many = new DanmakuClient([A, B, C], { random: () => 0.5 });
  assert.deepEqual([many.urls, many.url], [[A, B, C], B]);
  assert.throws(() => new DanmakuClient([]), RangeError);
});

test('the first URL is random, so 100 viewers spread over 3 URLs', () => {
  const count = (random) => {
    const got = new Map();
    for (let i = 0; i < 100; i++) {
      const { client, last } = setup({ random }, [A, B, C]);
      client.connect();
      got.set(last().url, (got.get(last().url) ?? 0) + 1);
      client.close();
    }
    return got;
  };
  const spread = count(seeded(42));
  for (const u of [A, B, C]) assert.ok((spread.get(u) ?? 0) >= 20, `seeded: ${[...spread]}`);
  assert.ok(count(undefined).size >= 2, 'Math.random: all 100 started at one URL');
});

test('a drain moves to another URL at once and resumes there', async (t) => {
  // Start at a; any wait the backoff chose would outlast the test.
  const { client, events, last } = setup({ random: () => 0, minReconnectMs: 60000, maxReconnectMs: 60000 }, [A, B, C]);
  t.after(() => client.close());
  client.connect();
  client.join('r');
  accept(last(), 'r', { epoch: 'e1', offset: 0 });
  last().recv({ op: 'batch', room: 'r', msgs: [msg(1, 0), msg(2, 1)] });
  last().drop(4000, 'server draining; reconnect');
  const st = events.filter((e) => e.type === 'state').at(-1);
  assert.deepEqual([st.state, st.delayMs, st.url], ['reconnecting', 0, B]);
  await until(() => FakeWS.all.length === 2, 'the reconnect');
  assert.equal(last().url, B);
  last().open();
  assert.deepEqual(last().ops('join'), [{ op: 'join', room: 'r', since: 2, epoch: 'e1' }]);
  last().recv({ op: 'joined', room: 'r', epoch: 'e1', offset: 3, online: 1, recovered: true });
  last().recv({ op: 'batch', room: 'r', msgs: [msg(2, 1), msg(3, 2)] });
  assert.deepEqual(events.filter((e) => e.type === 'danmaku').map((e) => e.message.offset), [1, 2, 3]);
  assert.equal(events.filter((e) => e.type === 'reset').length, 0);
});

test('a 4013 retry hint holds its URL back while the others are tried', async (t) => {
  const { client, last } = setup({ random: () => 0 }, [A, B, C]);
  t.after(() => client.close());
  client.connect();
  client.join('r');
  accept(last(), 'r');
  last().drop(4013, 'retry=60000 message flood');
  await until(() => FakeWS.all.length === 2, 'a move to b');
  last().open();
  last().drop(1006);
  await until(() => FakeWS.all.length === 3, 'a move to c');
  last().drop(1006); // the handshake failed
  await until(() => FakeWS.all.length === 4, 'another attempt');
  assert.deepEqual(dialed(), [A, B, C, B], 'a skipped while its 60 s run');
});

test('failed handshakes move through the URLs; the backoff grows once per round', async (t) => {
  let calls = 0;
  const random = () => (calls++ === 0 ? 0 : 0.999); // start at a, then near the ceiling
  const { client, events, last } = setup({ random, minReconnectMs: 1, maxReconnectMs: 1000 }, [A, B, C]);
  t.after(() => client.close());
  client.connect();
  for (let i = 1; i <= 9; i++) {
    last().drop(1006); // closed before it opened: the server is down
    await until(() => FakeWS.all.length === i + 1, `attempt ${i}`);
  }
  assert.deepEqual(dialed(), [A, B, C, A, B, C, A, B, C, A]);
  const delays = events.filter((e) => e.type === 'state' && e.state === 'reconnecting').map((e) => e.delayMs);
  assert.deepEqual(delays, [2, 2, 2, 4, 4, 4, 8, 8, 8]);
});

test('a drain after a whole round failed waits for the backoff', async (t) => {
  const { client, events, last } = setup({ random: () => 0 }, [A, B, C]);
  t.after(() => client.close());
  client.connect();
  client.join('r');
  accept(last(), 'r');
  last().drop(1006);
  for (let i = 2; i <= 3; i++) {
    await until(() => FakeWS.all.length === i, `attempt ${i}`);
    last().drop(1006);
  }
  await until(() => FakeWS.all.length === 4, 'back on a');
  last().open();
  last().drop(4000, 'server draining; reconnect'); // before the room was joined again
  const st = events.filter((e) => e.type === 'state').at(-1);
  assert.deepEqual([st.state, st.url], ['reconnecting', B]);
  assert.ok(st.delayMs >= 1, `delay ${st.delayMs}: three failures in a row, so no hurry`);
});
