// One requestAnimationFrame loop for the whole page: the stage scene, the
// danmaku renderer and the comment list all run from the same callback, in a
// known order.
//
// Work that changes the DOM or a canvas runs on "ticks": frames at most every
// tickMs (50 ms, 20 Hz by default), all aligned. Comments move on the
// compositor, so frames between ticks cost the main thread nothing, and each
// tick pays the style, layout, paint and commit of a frame once for all
// tasks. (A commit costs in proportion to the number of moving comments, so
// doing it on every frame is what makes a busy page drop frames.)

/**
 * @callback FrameTask
 * @param {number} now  The frame's timestamp (performance.now() clock), ms.
 * @param {number} dt   Time since the previous call of this kind, ms (0 on the first).
 * @returns {void}
 */

export class FrameLoop {
  /**
   * @param {object} [options]
   * @param {number} [options.tickMs=50] Least time between two ticks.
   * @param {(cb: (t: number) => void) => number} [options.request] requestAnimationFrame.
   * @param {(id: number) => void} [options.cancel] cancelAnimationFrame.
   */
  constructor(options = {}) {
    /** Least time between two ticks, ms. */
    this.tickMs = options.tickMs ?? 50;
    /** @private */ this.request = options.request ?? ((cb) => requestAnimationFrame(cb));
    /** @private */ this.cancel = options.cancel ?? ((id) => cancelAnimationFrame(id));
    /** @private @type {FrameTask[]} */ this.frameTasks = [];
    /** @private @type {FrameTask[]} */ this.tickTasks = [];
    /** @private @type {number|null} */ this.handle = null;
    /** @private */ this.lastFrame = 0;
    /** @private */ this.lastTick = 0;
    /** Frames run since the loop was created. */
    this.frames = 0;
    /** Ticks run since the loop was created. */
    this.ticks = 0;
    /** @private */ this.run = (/** @type {number} */ now) => {
      this.handle = null;
      const dt = this.lastFrame ? now - this.lastFrame : 0;
      this.lastFrame = now;
      this.frames++;
      // Tasks may remove themselves (or others) while running: iterate copies.
      for (const task of this.frameTasks.slice()) call(task, now, dt);
      // A tick is due when the next frame (~16.7 ms away) would be late.
      const sinceTick = this.lastTick ? now - this.lastTick : Infinity;
      if (sinceTick >= this.tickMs - 8) {
        const tdt = Number.isFinite(sinceTick) ? sinceTick : 0;
        this.lastTick = now;
        this.ticks++;
        for (const task of this.tickTasks.slice()) call(task, now, tdt);
      }
      if (this.frameTasks.length + this.tickTasks.length > 0) this.handle = this.request(this.run);
    };
  }

  /**
   * Runs task on every frame until the returned function is called. Keep it
   * light and free of DOM writes; use {@link FrameLoop#onTick} for those.
   * @param {FrameTask} task
   * @returns {() => void}
   */
  onFrame(task) {
    return this.addTo(this.frameTasks, task);
  }

  /**
   * Runs task on every tick until the returned function is called.
   * @param {FrameTask} task
   * @returns {() => void}
   */
  onTick(task) {
    return this.addTo(this.tickTasks, task);
  }

  /**
   * @private
   * @param {FrameTask[]} list
   * @param {FrameTask} task
   */
  addTo(list, task) {
    list.push(task);
    if (this.handle === null) {
      this.lastFrame = 0;
      this.handle = this.request(this.run);
    }
    return () => {
      const i = list.indexOf(task);
      if (i >= 0) list.splice(i, 1);
      if (this.frameTasks.length + this.tickTasks.length === 0 && this.handle !== null) {
        this.cancel(this.handle);
        this.handle = null;
      }
    };
  }
}

/**
 * Runs one task; a broken task must not stop the others or the loop.
 * @param {FrameTask} task
 * @param {number} now
 * @param {number} dt
 */
function call(task, now, dt) {
  try {
    task(now, dt);
  } catch (e) {
    console.error('frame task failed', e);
  }
}
