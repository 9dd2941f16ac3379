import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResumeState } from '../resume.js';

const m = (offset, prev) => ({ offset, prev });

test('a first join is plain; messages extend the chain, duplicates are dropped', () => {
  const rs = new ResumeState();
  assert.deepEqual(rs.joinRequest('a'), { op: 'join', room: 'a' });
  assert.equal(rs.accept('a', m(1, 0)), 'ignored', 'nothing before joined');
  const out = rs.joined('a', { epoch: 'e1', offset: 10, recovered: false });
  assert.deepEqual(out, { resumed: false, reset: false, previousEpoch: null });
  // Recent history after a fresh join: no chain check before the head.
  assert.equal(rs.accept('a', m(8, 5)), 'new');
  assert.equal(rs.accept('a', m(10, 8)), 'new');
  assert.equal(rs.accept('a', m(10, 8)), 'duplicate');
  assert.equal(rs.accept('a', m(9, 8)), 'duplicate');
  assert.equal(rs.accept('a', m(12, 10)), 'new');
  assert.deepEqual(rs.position('a'), { epoch: 'e1', offset: 12 });
});

test('offsets need not be contiguous: only prev matters', () => {
  const rs = new ResumeState();
  rs.joinRequest('a');
  rs.joined('a', { epoch: 'e', offset: 0, recovered: false });
  assert.equal(rs.accept('a', m(5, 0)), 'new');
  assert.equal(rs.accept('a', m(17, 5)), 'new');
  assert.equal(rs.accept('a', m(18, 17)), 'new');
});

test('a gap (prev above the last offset) is reported once, then the room waits', () => {
  const rs = new ResumeState();
  rs.joinRequest('a');
  rs.joined('a', { epoch: 'e', offset: 3, recovered: false });
  assert.equal(rs.accept('a', m(4, 3)), 'new');
  assert.equal(rs.accept('a', m(7, 6)), 'gap', 'offsets 5..6 missed');
  assert.equal(rs.isAwaiting('a'), true);
  assert.equal(rs.accept('a', m(8, 7)), 'ignored', 'until the recovery join answers');
  // The recovery join resumes from the last good offset.
  assert.deepEqual(rs.joinRequest('a'), { op: 'join', room: 'a', since: 4, epoch: 'e' });
  rs.joined('a', { epoch: 'e', offset: 8, recovered: true });
  assert.equal(rs.accept('a', m(4, 3)), 'duplicate');
  assert.equal(rs.accept('a', m(6, 4)), 'new');
  assert.equal(rs.accept('a', m(7, 6)), 'new');
  assert.equal(rs.accept('a', m(8, 7)), 'new');
});

test('prev below the last offset is no gap (nothing can lie in between)', () => {
  const rs = new ResumeState();
  rs.joinRequest('a');
  rs.joined('a', { epoch: 'e', offset: 0, recovered: false });
  rs.accept('a', m(5, 0));
  assert.equal(rs.accept('a', m(9, 3)), 'new');
});

test('the first live message after a fresh join must follow the head', () => {
  const rs = new ResumeState();
  rs.joinRequest('a');
  rs.joined('a', { epoch: 'e', offset: 10, recovered: false });
  assert.equal(rs.accept('a', m(12, 11)), 'gap', 'offset 11 was missed');
  const rs2 = new ResumeState();
  rs2.joinRequest('a');
  rs2.joined('a', { epoch: 'e', offset: 10, recovered: false });
  assert.equal(rs2.accept('a', m(11, 10)), 'new');
});

test('a reconnect resumes with since and epoch; recovered:true continues the chain', () => {
  const rs = new ResumeState();
  rs.joinRequest('a');
  rs.joined('a', { epoch: 'e1', offset: 2, recovered: false });
  rs.accept('a', m(1, 0));
  rs.accept('a', m(2, 1));
  rs.disconnected();
  assert.equal(rs.isAwaiting('a'), true);
  assert.equal(rs.accept('a', m(3, 2)), 'ignored');
  assert.deepEqual(rs.joinRequest('a'), { op: 'join', room: 'a', since: 2, epoch: 'e1' });
  const out = rs.joined('a', { epoch: 'e1', offset: 5, recovered: true });
  assert.deepEqual(out, { resumed: true, reset: false, previousEpoch: 'e1' });
  assert.equal(rs.accept('a', m(2, 1)), 'duplicate', 'never shown twice');
  assert.equal(rs.accept('a', m(3, 2)), 'new');
  assert.equal(rs.accept('a', m(5, 4)), 'gap', 'no skip allowed while recovered');
});

test('a resume before any message starts from the joined head', () => {
  const rs = new ResumeState();
  rs.joinRequest('a');
  rs.joined('a', { epoch: 'e1', offset: 40, recovered: false });
  rs.disconnected();
  assert.deepEqual(rs.joinRequest('a'), { op: 'join', room: 'a', since: 40, epoch: 'e1' });
  rs.joined('a', { epoch: 'e1', offset: 41, recovered: true });
  assert.equal(rs.accept('a', m(41, 40)), 'new');
});

test('recovered:false on a resume is a reset: the room starts afresh', () => {
  const rs = new ResumeState();
  rs.joinRequest('a');
  rs.joined('a', { epoch: 'e1', offset: 100, recovered: false });
  rs.accept('a', m(100, 99));
  rs.disconnected();
  rs.joinRequest('a');
  const out = rs.joined('a', { epoch: 'e2', offset: 3, recovered: false });
  assert.deepEqual(out, { resumed: true, reset: true, previousEpoch: 'e1' });
  // The new epoch's offsets are lower: they are new, not duplicates.
  assert.equal(rs.accept('a', m(2, 1)), 'new');
  assert.equal(rs.accept('a', m(3, 2)), 'new');
  assert.deepEqual(rs.position('a'), { epoch: 'e2', offset: 3 });
});

test('rooms are independent, and forget drops a room', () => {
  const rs = new ResumeState();
  rs.joinRequest('a');
  rs.joinRequest('b');
  rs.joined('a', { epoch: 'x', offset: 0, recovered: false });
  assert.equal(rs.accept('b', m(1, 0)), 'ignored');
  assert.equal(rs.accept('a', m(1, 0)), 'new');
  rs.forget('a');
  assert.equal(rs.position('a'), null);
  assert.equal(rs.accept('a', m(2, 1)), 'ignored');
  assert.deepEqual(rs.joinRequest('a'), { op: 'join', room: 'a' });
});

test('a joined for a room never requested is recorded as fresh', () => {
  const rs = new ResumeState();
  const out = rs.joined('z', { epoch: 'e', offset: 7, recovered: true });
  assert.equal(out.reset, false);
  assert.equal(rs.accept('z', m(8, 7)), 'new');
});
