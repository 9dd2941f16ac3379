// One requestAnimationFrame loop for the whole page: the stage scene, the
// danmaku renderer and the statistics all run from the same callback, so a
// frame does its work once and in a known order.

/**
 * @callback FrameTask
 * @param {number} now  The frame's timestamp (performance.now() clock), ms.
 * @param {number} dt   Time since the previous frame, ms (0 on the first).
 * @returns {void}
 */

export class FrameLoop {
  /**
   * @param {object} [options]
   * @param {(cb: (t: number) => void) => number} [options.request] requestAnimationFrame.
   * @param {(id: number) => void} [options.cancel] cancelAnimationFrame.
   */
  constructor(options = {}) {
    /** @private */ this.request = options.request ?? ((cb) => requestAnimationFrame(cb));
    /** @private */ this.cancel = options.cancel ?? ((id) => cancelAnimationFrame(id));
    /** @private @type {FrameTask[]} */ this.tasks = [];
    /** @private @type {number|null} */ this.handle = null;
    /** @private */ this.last = 0;
    /** Frames run since the loop was created. */
    this.frames = 0;
    /** @private */ this.tick = (/** @type {number} */ now) => {
      this.handle = null;
      const dt = this.last ? now - this.last : 0;
      this.last = now;
      this.frames++;
      // Tasks may remove themselves (or others) while running: iterate a copy.
      for (const task of this.tasks.slice()) {
        try {
          task(now, dt);
        } catch (e) {
          // One broken task must not stop the others or the loop.
          console.error('frame task failed', e);
        }
      }
      if (this.tasks.length > 0) this.handle = this.request(this.tick);
    };
  }

  /**
   * Runs task on every frame until the returned function is called.
   * @param {FrameTask} task
   * @returns {() => void}
   */
  add(task) {
    this.tasks.push(task);
    if (this.handle === null) {
      this.last = 0;
      this.handle = this.request(this.tick);
    }
    return () => {
      const i = this.tasks.indexOf(task);
      if (i >= 0) this.tasks.splice(i, 1);
      if (this.tasks.length === 0 && this.handle !== null) {
        this.cancel(this.handle);
        this.handle = null;
      }
    };
  }
}
