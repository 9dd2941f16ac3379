import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DanmakuError, reconnectable, normalizeMessage, wsURL } from '../danmaku.js';
import { FakeWS, until, setup, accept, msg } from './fakews.js';

test('connect, join, receive: defaults applied, duplicates dropped', async () => {
  const { client, events, last } = setup();
  client.connect();
  assert.deepEqual(last().protocols, ['danmaku.v1']);
  const joined = client.join('lobby');
  accept(last(), 'lobby', { offset: 0, online: 3 });
  assert.deepEqual(last().ops('join'), [{ op: 'join', room: 'lobby' }]);
  const info = await joined;
  assert.equal(info.epoch, 'e1');
  assert.equal(info.online, 3);
  last().recv({ op: 'batch', room: 'lobby', msgs: [msg(1, 0), msg(2, 1, { mode: 'top', color: '#fe0302' })] });
  last().recv({ op: 'batch', room: 'lobby', msgs: [msg(2, 1), msg(3, 2)] });
  const dms = events.filter((e) => e.type === 'danmaku').map((e) => e.message);
  assert.deepEqual(dms.map((m) => m.offset), [1, 2, 3]);
  assert.equal(dms[0].mode, 'scroll');
  assert.equal(dms[0].color, '#ffffff');
  assert.equal(dms[0].size, 'normal');
  assert.equal(dms[0].user, null);
  assert.equal(dms[1].mode, 'top');
  assert.equal(client.stats.duplicates, 1);
  assert.equal(events.filter((e) => e.type === 'batch').length, 2);
  assert.deepEqual(events.filter((e) => e.type === 'online').map((e) => e.count), [3]);
  last().recv({ op: 'online', room: 'lobby', count: 9 });
  assert.equal(client.online.get('lobby'), 9);
  client.close();
  assert.equal(client.state, 'closed');
});

test('delete messages become delete events; broadcast and user frames pass through', () => {
  const { client, events, last } = setup();
  client.connect();
  client.join('r');
  accept(last(), 'r');
  last().recv({ op: 'batch', room: 'r', msgs: [msg(1, 0), msg(2, 1, { type: 'delete', text: '', data: { ids: ['m1'] } })] });
  assert.deepEqual(events.filter((e) => e.type === 'delete').map((e) => e.ids), [['m1']]);
  assert.equal(events.filter((e) => e.type === 'danmaku').length, 1);
  last().recv({ op: 'broadcast', msgs: [{ offset: 0, prev: 0, id: 'b1', type: 'system', text: 'hi all', ts: 1 }] });
  last().recv({ op: 'user', msgs: [{ offset: 0, prev: 0, id: 'u1', type: 'system', text: 'hi you', ts: 1 }] });
  assert.equal(events.find((e) => e.type === 'broadcast').messages[0].text, 'hi all');
  assert.equal(events.find((e) => e.type === 'user').messages[0].mode, 'scroll');
  client.close();
});

test('a gap makes the client rejoin with since; the recovery fills it without duplicates', () => {
  const { client, events, last } = setup();
  client.connect();
  client.join('r');
  const ws = last();
  accept(ws, 'r', { offset: 0 });
  ws.recv({ op: 'batch', room: 'r', msgs: [msg(1, 0), msg(2, 1)] });
  ws.recv({ op: 'batch', room: 'r', msgs: [msg(5, 4), msg(6, 5)] }); // 3 and 4 missing
  assert.equal(client.stats.gaps, 1);
  assert.deepEqual(ws.sent.slice(-2), [{ op: 'leave', room: 'r' }, { op: 'join', room: 'r', since: 2, epoch: 'e1' }]);
  ws.recv({ op: 'batch', room: 'r', msgs: [msg(7, 6)] }); // ignored until joined
  ws.recv({ op: 'left', room: 'r' });
  ws.recv({ op: 'joined', room: 'r', epoch: 'e1', offset: 7, online: 1, recovered: true });
  ws.recv({ op: 'batch', room: 'r', msgs: [msg(3, 2), msg(4, 3), msg(5, 4), msg(6, 5), msg(7, 6)] });
  const offsets = events.filter((e) => e.type === 'danmaku').map((e) => e.message.offset);
  assert.deepEqual(offsets, [1, 2, 3, 4, 5, 6, 7]);
  client.close();
});

test('send resolves with the ack and rejects with the nack code', async () => {
  const { client, events, last } = setup();
  client.connect();
  client.join('r');
  accept(last(), 'r');
  const ok = client.send('r', { text: 'hello', mode: 'top', color: '#fe0302', size: '' });
  const bad = client.send('r', { text: 'x'.repeat(101) });
  const slow = client.send('r', { text: 'again' });
  const sends = last().ops('send');
  assert.equal(sends.length, 3);
  assert.deepEqual(Object.keys(sends[0]).sort(), ['color', 'id', 'mode', 'op', 'room', 'text']);
  const ids = sends.map((s) => s.id);
  assert.equal(new Set(ids).size, 3, 'ids are unique');
  for (const id of ids) assert.ok(id.length > 0 && id.length <= 64);
  // Answers may come in any order.
  last().recv({ op: 'nack', id: ids[1], code: 'too_long', message: 'text has 101 characters' });
  last().recv({ op: 'nack', id: ids[2], code: 'rate_limited', message: 'slow down', retryAfterMs: 1200 });
  last().recv({ op: 'ack', id: ids[0], offset: 17, msgId: 'M17' });
  assert.deepEqual(await ok, { id: ids[0], offset: 17, msgId: 'M17' });
  await assert.rejects(bad, (e) => e instanceof DanmakuError && e.code === 'too_long' && e.id === ids[1]);
  await assert.rejects(slow, (e) => e.code === 'rate_limited' && e.retryAfterMs === 1200);
  assert.deepEqual(events.filter((e) => e.type === 'nack').map((e) => [e.code, e.room]), [['too_long', 'r'], ['rate_limited', 'r']]);
  client.close();
});

test('sends wait for the join and for a congested socket to drain', async () => {
  const { client, last } = setup();
  client.connect();
  client.join('r');
  const p = client.send('r', { text: 'early' });
  last().open();
  assert.equal(last().ops('send').length, 0, 'not before joined');
  last().bufferedAmount = 1 << 20;
  last().recv({ op: 'joined', room: 'r', epoch: 'e', offset: 0, online: 1, recovered: false });
  assert.equal(last().ops('send').length, 0, 'not while congested');
  last().bufferedAmount = 0;
  await until(() => last().ops('send').length === 1, 'the queued send');
  last().recv({ op: 'ack', id: last().ops('send')[0].id, offset: 1, msgId: 'x' });
  assert.equal((await p).offset, 1);
  client.close();
});

test('sends on the wire fail when the connection drops; queued ones survive it', async () => {
  const { client, last } = setup();
  client.connect();
  client.join('r');
  accept(last(), 'r');
  const inflight = client.send('r', { text: 'a' });
  last().drop(1006);
  await assert.rejects(inflight, (e) => e.code === 'unavailable');
  const queued = client.send('r', { text: 'b' });
  await until(() => FakeWS.all.length === 2, 'reconnect');
  accept(last(), 'r', { recovered: true });
  await until(() => last().ops('send').length === 1, 'queued send written after rejoin');
  last().recv({ op: 'ack', id: last().ops('send')[0].id, offset: 2, msgId: 'y' });
  assert.equal((await queued).msgId, 'y');
  client.close();
});

test('reconnect: 4000 class resumes with since/epoch; recovered:false emits reset', async () => {
  const { client, events, last } = setup();
  client.connect();
  client.join('r');
  accept(last(), 'r', { epoch: 'e1', offset: 0 });
  last().recv({ op: 'batch', room: 'r', msgs: [msg(1, 0), msg(2, 1)] });
  last().drop(4000, 'draining');
  const st = events.filter((e) => e.type === 'state').at(-1);
  assert.equal(st.state, 'reconnecting');
  assert.ok(st.delayMs >= 1 && st.delayMs <= 5);
  assert.equal(st.code, 4000);
  await until(() => FakeWS.all.length === 2, 'second connection');
  last().open();
  assert.deepEqual(last().ops('join'), [{ op: 'join', room: 'r', since: 2, epoch: 'e1' }]);
  last().recv({ op: 'joined', room: 'r', epoch: 'e2', offset: 1, online: 1, recovered: false });
  assert.deepEqual(events.filter((e) => e.type === 'reset').map((e) => [e.room, e.epoch, e.previousEpoch]), [['r', 'e2', 'e1']]);
  last().recv({ op: 'batch', room: 'r', msgs: [msg(1, 0, { id: 'new1' })] });
  assert.equal(events.filter((e) => e.type === 'danmaku').at(-1).message.id, 'new1', 'fresh after reset');
  client.close();
});

test('4500–4999 closes stop reconnecting', async () => {
  const { client, events, last } = setup({ token: 'bad' });
  client.connect();
  const joined = client.join('r');
  last().open();
  assert.deepEqual(last().ops('auth'), [{ op: 'auth', token: 'bad' }]);
  last().recv({ op: 'error', code: 'unauthorized', message: 'bad token' });
  last().drop(4501, 'unauthorized');
  await assert.rejects(joined, (e) => e.code === 'unauthorized');
  const st = events.filter((e) => e.type === 'state').at(-1);
  assert.deepEqual([st.state, st.code], ['closed', 4501]);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(FakeWS.all.length, 1, 'no reconnect');
  await assert.rejects(client.send('r', { text: 'x' }), (e) => e.code === 'closed');
});

test('a silent connection is detected by ping and replaced', async () => {
  const { client, last } = setup({ pingIntervalMs: 10, pongTimeoutMs: 20 });
  client.connect();
  client.join('r');
  const first = last();
  accept(first, 'r');
  await until(() => first.ops('ping').length >= 1, 'a ping');
  assert.equal(typeof first.ops('ping')[0].t, 'number');
  first.recv({ op: 'pong', t: first.ops('ping')[0].t });
  assert.ok(client.rttMs !== null);
  // From now on the server stays silent.
  await until(() => FakeWS.all.length === 2, 'a new connection after the heartbeat timeout');
  assert.equal(first.closedWith?.reason, 'heartbeat timeout');
  client.close();
});

test('a handshake that never completes is abandoned', async () => {
  const { client } = setup({ connectTimeoutMs: 10 });
  client.connect();
  await until(() => FakeWS.all.length >= 2, 'a second attempt');
  client.close();
});

test('offline pauses reconnecting; online reconnects at once', async () => {
  const target = new EventTarget();
  const g = /** @type {any} */ (globalThis);
  g.addEventListener = target.addEventListener.bind(target);
  g.removeEventListener = target.removeEventListener.bind(target);
  try {
    const { client, events, last } = setup({ watchNetwork: true, minReconnectMs: 5000, maxReconnectMs: 10000 });
    client.connect();
    client.join('r');
    accept(last(), 'r');
    last().drop(1006);
    assert.ok(events.filter((e) => e.type === 'state').at(-1).delayMs >= 5000);
    target.dispatchEvent(new Event('offline'));
    const paused = events.filter((e) => e.type === 'state').at(-1);
    assert.deepEqual([paused.state, paused.offline, paused.delayMs], ['reconnecting', true, null]);
    target.dispatchEvent(new Event('online'));
    assert.equal(FakeWS.all.length, 2, 'reconnected without waiting out the backoff');
    assert.equal(client.state, 'connecting');
    client.close();
  } finally {
    delete g.addEventListener;
    delete g.removeEventListener;
  }
});

test('the backoff resets after a good connection', async () => {
  const { client, events, last } = setup({ minReconnectMs: 1, maxReconnectMs: 1000, random: () => 0.999 });
  client.connect();
  client.join('r');
  for (let i = 0; i < 3; i++) {
    last().drop(1006);
    await until(() => FakeWS.all.length === i + 2, 'reconnect');
  }
  const delays = events.filter((e) => e.type === 'state' && e.state === 'reconnecting').map((e) => e.delayMs);
  assert.deepEqual(delays, [2, 4, 8]);
  accept(last(), 'r');
  last().drop(1006);
  assert.equal(events.filter((e) => e.type === 'state').at(-1).delayMs, 2);
  client.close();
});

test('helpers', () => {
  assert.equal(reconnectable(1006), true);
  assert.equal(reconnectable(4000), true);
  assert.equal(reconnectable(4499), true);
  assert.equal(reconnectable(4500), false);
  assert.equal(reconnectable(4999), false);
  assert.equal(reconnectable(5000), true);
  assert.equal(wsURL('/ws', { href: 'https://a.example/live/?room=x' }), 'wss://a.example/ws');
  assert.equal(wsURL('/ws', { href: 'http://127.0.0.1:8080/' }), 'ws://127.0.0.1:8080/ws');
  const m = normalizeMessage({ offset: '5', prev: 4, id: 7, text: 3 });
  assert.deepEqual([m.offset, m.id, m.text, m.type], [5, '7', '', 'danmaku']);
});

test('join validates room names', async () => {
  const { client } = setup();
  await assert.rejects(client.join('bad room!'), (e) => e.code === 'bad_request');
  await assert.rejects(client.join('x'.repeat(65)), (e) => e.code === 'bad_request');
});
