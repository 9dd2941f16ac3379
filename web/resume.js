// Resume bookkeeping: the (epoch, offset) a client keeps per room so that a
// reconnect delivers every missed message exactly once (PROTOCOL.md, Resume).
//
// For each room it remembers the epoch and the offset of the last message
// handed to the application. It decides, message by message, whether a
// message is new, a duplicate (offset not above the last one: drop it) or
// proof of a gap (its `prev` is above the last offset: something was missed,
// rejoin with `since` to recover). Pure: no sockets, no timers.

/**
 * The parts of a room message this module looks at.
 * @typedef {object} Positioned
 * @property {number} offset Position in the room's history.
 * @property {number} prev   Offset of the room's previous message (0 for the first).
 */

/**
 * The parts of a `joined` reply this module looks at.
 * @typedef {object} JoinedInfo
 * @property {string} epoch
 * @property {number} offset    The room's last offset when the server answered.
 * @property {boolean} [recovered] True when every message after `since` follows.
 */

/**
 * What the server said about a join, as far as resuming goes.
 * @typedef {object} JoinOutcome
 * @property {boolean} resumed  The join carried `since` (it was a resume).
 * @property {boolean} reset    A resume the server could not honour: history was
 *                              lost or the epoch changed. The room starts afresh.
 * @property {string|null} previousEpoch The epoch known before this join.
 */

/**
 * How a room message should be treated:
 * - `new`: deliver it, it extends the room's chain.
 * - `duplicate`: already delivered (offset at or below the last one); drop it.
 * - `gap`: messages before it were missed; drop it and rejoin (see
 *   {@link ResumeState#joinRequest}). The room ignores messages until then.
 * - `ignored`: the room is not joined, or is waiting for a `joined` reply;
 *   drop it, the join that is under way will bring it.
 * @typedef {'new'|'duplicate'|'gap'|'ignored'} Verdict
 */

/**
 * @typedef {object} RoomPosition
 * @property {string|null} epoch   Null until the first `joined`.
 * @property {number|null} last    Offset of the last message delivered, null if none yet.
 * @property {number} head         The room's last offset according to the latest `joined`.
 * @property {boolean} awaiting    A join was sent and its `joined` has not come back.
 * @property {number|null} since   The `since` carried by the pending join, null if none.
 */

export class ResumeState {
  constructor() {
    /** @type {Map<string, RoomPosition>} */
    this.rooms = new Map();
  }

  /**
   * Builds the `join` frame for room and marks it as waiting for `joined`.
   * The first join of a room is plain; later ones (after a reconnect or a gap)
   * carry `since` and `epoch`.
   * @param {string} room
   * @returns {{op: 'join', room: string, since?: number, epoch?: string}}
   */
  joinRequest(room) {
    let st = this.rooms.get(room);
    if (!st) {
      st = { epoch: null, last: null, head: 0, awaiting: false, since: null };
      this.rooms.set(room, st);
    }
    st.awaiting = true;
    if (st.epoch === null) {
      st.since = null;
      return { op: 'join', room };
    }
    // Nothing delivered yet: resume from where the room stood when we joined,
    // so messages published since are not lost.
    st.since = st.last ?? st.head;
    return { op: 'join', room, since: st.since, epoch: st.epoch };
  }

  /**
   * Records a `joined` reply.
   * @param {string} room
   * @param {JoinedInfo} info
   * @returns {JoinOutcome}
   */
  joined(room, info) {
    let st = this.rooms.get(room);
    if (!st) {
      st = { epoch: null, last: null, head: 0, awaiting: true, since: null };
      this.rooms.set(room, st);
    }
    const previousEpoch = st.epoch;
    const resumed = st.since !== null;
    if (resumed && info.recovered) {
      // Everything after `since` follows, in order: continue the chain there.
      st.last = st.since;
    } else {
      // A first join, or a resume the server could not honour. Either way the
      // recent messages that follow start a new chain.
      st.last = null;
    }
    st.epoch = String(info.epoch ?? '');
    st.head = Number(info.offset) || 0;
    st.awaiting = false;
    st.since = null;
    return { resumed, reset: resumed && !info.recovered, previousEpoch };
  }

  /**
   * Classifies one room message and, when it is new, advances the room.
   * Messages must be offered in the order they arrived.
   * @param {string} room
   * @param {Positioned} msg
   * @returns {Verdict}
   */
  accept(room, msg) {
    const st = this.rooms.get(room);
    if (!st || st.awaiting) return 'ignored';
    const offset = Number(msg.offset);
    const prev = Number(msg.prev);
    if (st.last !== null) {
      if (offset <= st.last) return 'duplicate';
      // Messages exist between our last one and this one only if the room's
      // previous message comes after our last one.
      if (prev > st.last) {
        st.awaiting = true;
        return 'gap';
      }
    } else if (offset > st.head && prev > st.head) {
      // The first message after a fresh join: anything up to the head is
      // recent history; beyond it, the chain must start at the head.
      st.awaiting = true;
      return 'gap';
    }
    st.last = offset;
    if (offset > st.head) st.head = offset;
    return 'new';
  }

  /**
   * The position a resume of room would start from.
   * @param {string} room
   * @returns {{epoch: string, offset: number}|null} null before the first `joined`.
   */
  position(room) {
    const st = this.rooms.get(room);
    if (!st || st.epoch === null) return null;
    return { epoch: st.epoch, offset: st.last ?? st.head };
  }

  /**
   * Whether room waits for a `joined` reply.
   * @param {string} room
   */
  isAwaiting(room) {
    return this.rooms.get(room)?.awaiting ?? false;
  }

  /**
   * Marks every room as needing a join: the connection they were joined on is
   * gone. Positions are kept for the resume.
   */
  disconnected() {
    for (const st of this.rooms.values()) st.awaiting = true;
  }

  /**
   * Forgets room entirely (the application left it).
   * @param {string} room
   */
  forget(room) {
    this.rooms.delete(room);
  }
}
