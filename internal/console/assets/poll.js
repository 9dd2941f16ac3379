// poll.js — repeating a refresh while a screen is shown.

/**
 * Runs fn now and then again intervalMs after each run has finished (so
 * slow answers never pile up), until the returned stop is called. A run
 * that throws does not stop the polling; fn shows its own errors.
 * @param {number} intervalMs
 * @param {() => Promise<void>|void} fn
 * @returns {() => void} stop
 */
export function poll(intervalMs, fn) {
  let stopped = false;
  /** @type {ReturnType<typeof setTimeout>|null} */
  let timer = null;
  const run = async () => {
    timer = null;
    try {
      await fn();
    } catch {
      // fn reports its own failures; the next run may succeed.
    }
    if (!stopped) timer = setTimeout(run, intervalMs);
  };
  run();
  return () => {
    stopped = true;
    if (timer !== null) clearTimeout(timer);
  };
}
