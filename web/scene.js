// A stand-in for a live video: an animated stage drawn on a small canvas
// (a night skyline under moving spotlights, with a performer's silhouette),
// scaled up by CSS. Drawn on the page's frame loop ticks; cheap enough to
// leave the budget to the comments.

/**
 * @typedef {object} Light
 * @property {number} x     Base position, 0–1 of the width.
 * @property {number} hue
 * @property {number} speed Radians per second.
 * @property {number} phase
 */

export class StageScene {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {import('./frameloop.js').FrameLoop} loop
   */
  constructor(canvas, loop) {
    /** @private */ this.canvas = canvas;
    // Low resolution on purpose: it is scaled up and blurred by CSS anyway.
    canvas.width = 384;
    canvas.height = 216;
    /** @private */ this.ctx = canvas.getContext('2d', { alpha: false });
    /** @private @type {Light[]} */
    this.lights = [
      { x: 0.15, hue: 320, speed: 0.7, phase: 0 },
      { x: 0.4, hue: 190, speed: 0.5, phase: 1.3 },
      { x: 0.62, hue: 45, speed: 0.9, phase: 2.1 },
      { x: 0.86, hue: 260, speed: 0.6, phase: 0.6 },
    ];
    /** @private */ this.skyline = this.makeSkyline();
    // Drawn on the loop's ticks (20 per second by default): enough for a
    // backdrop, and the frame's commit is shared with the comments'.
    /** @private */ this.stop = loop.onTick((now) => this.draw(now / 1000));
  }

  /** Stops drawing. */
  destroy() {
    this.stop();
  }

  /** @private */
  makeSkyline() {
    /** @type {{x: number, w: number, h: number, lit: number[]}[]} */
    const out = [];
    let x = 0;
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    while (x < 384) {
      const w = 14 + Math.floor(rnd() * 26);
      const h = 40 + Math.floor(rnd() * 70);
      const lit = [];
      for (let i = 0; i < 8; i++) lit.push(rnd());
      out.push({ x, w, h, lit });
      x += w + 2;
    }
    return out;
  }

  /**
   * @private
   * @param {number} t Seconds.
   */
  draw(t) {
    const ctx = this.ctx;
    if (!ctx) return;
    const W = this.canvas.width;
    const H = this.canvas.height;
    const sky = ctx.createLinearGradient(0, 0, 0, H);
    const shift = Math.sin(t * 0.1) * 20;
    sky.addColorStop(0, `hsl(${235 + shift},55%,10%)`);
    sky.addColorStop(0.7, `hsl(${265 + shift},45%,22%)`);
    sky.addColorStop(1, `hsl(${300 + shift},40%,30%)`);
    ctx.globalCompositeOperation = 'source-over';
    ctx.fillStyle = sky;
    ctx.fillRect(0, 0, W, H);

    // Skyline with windows that flicker now and then.
    for (const b of this.skyline) {
      ctx.fillStyle = '#0b0a1a';
      ctx.fillRect(b.x, H - 40 - b.h, b.w, b.h + 40);
      for (let i = 0; i < b.lit.length; i++) {
        const on = Math.sin(t * 0.3 + b.lit[i] * 40) > 0.2;
        if (!on) continue;
        ctx.fillStyle = 'rgba(255,214,120,0.55)';
        const wx = b.x + 3 + ((i % 2) * (b.w - 9)) / 1;
        const wy = H - 40 - b.h + 6 + Math.floor(i / 2) * 12;
        if (wy < H - 44) ctx.fillRect(wx, wy, 3, 4);
      }
    }

    // Spotlights sweeping from the stage floor.
    ctx.globalCompositeOperation = 'lighter';
    for (const l of this.lights) {
      const angle = Math.sin(t * l.speed + l.phase) * 0.5;
      const x0 = l.x * W;
      const y0 = H - 30;
      const len = H * 1.2;
      const x1 = x0 + Math.sin(angle) * len;
      const y1 = y0 - Math.cos(angle) * len;
      const spread = 26;
      const g = ctx.createLinearGradient(x0, y0, x1, y1);
      g.addColorStop(0, `hsla(${l.hue},90%,65%,0.45)`);
      g.addColorStop(1, `hsla(${l.hue},90%,65%,0)`);
      ctx.fillStyle = g;
      ctx.beginPath();
      ctx.moveTo(x0 - 3, y0);
      ctx.lineTo(x1 - spread, y1);
      ctx.lineTo(x1 + spread, y1);
      ctx.lineTo(x0 + 3, y0);
      ctx.closePath();
      ctx.fill();
    }
    ctx.globalCompositeOperation = 'source-over';

    // The stage and a performer swaying to the beat.
    ctx.fillStyle = '#14112b';
    ctx.fillRect(0, H - 30, W, 30);
    const beat = Math.abs(Math.sin(t * Math.PI * 2 * 0.9));
    const px = W / 2 + Math.sin(t * 0.8) * 20;
    const py = H - 30;
    ctx.fillStyle = '#05040c';
    ctx.beginPath();
    ctx.arc(px, py - 52 - beat * 2, 7, 0, Math.PI * 2); // head
    ctx.fill();
    ctx.fillRect(px - 7, py - 44 - beat * 2, 14, 26); // body
    ctx.fillRect(px - 6, py - 18, 5, 18); // legs
    ctx.fillRect(px + 1, py - 18, 5, 18);
    ctx.save();
    ctx.translate(px + 6, py - 40 - beat * 2);
    ctx.rotate(-1.9 - beat * 0.5); // raised arm with a microphone
    ctx.fillRect(0, -2, 18, 4);
    ctx.restore();

    // Equalizer bars along the stage front.
    for (let i = 0; i < 24; i++) {
      const h = 4 + Math.abs(Math.sin(t * 3 + i * 0.7)) * 14 * (0.5 + beat * 0.5);
      ctx.fillStyle = `hsla(${(i * 15 + t * 40) % 360},80%,60%,0.8)`;
      ctx.fillRect(8 + i * 15.6, H - 4 - h, 9, h);
    }
  }
}
