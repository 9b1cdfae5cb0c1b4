// Measure a transfer (bytes, percent, speed, time left) and show it in a progress panel.
//
// The panel is markup of the page (a <progress>, text slots, an aria-live region); this module
// fills it in. The visible numbers change many times a second; the live region speaks only every
// tenth, so a screen reader is told about progress without being flooded.

import { formatBytes, formatDuration, formatSpeed } from './format.js';
import { t } from './i18n.js';

const WINDOW_MS = 3000; // speed is measured over the last few seconds, not since the start
const ANNOUNCE_STEP = 10; // percent between two announcements

/** Keep the numbers of one transfer. */
export class Meter {
  constructor(total, now = performance.now()) {
    this.total = total;
    this.done = 0;
    this.started = now;
    this.samples = [[now, 0]];
  }

  /** Record that `done` bytes of `total` are through. */
  update(done, now = performance.now()) {
    this.done = Math.min(done, this.total);
    this.samples.push([now, this.done]);
    while (this.samples.length > 2 && now - this.samples[1][0] > WINDOW_MS) this.samples.shift();
  }

  get fraction() {
    return this.total > 0 ? this.done / this.total : 1;
  }

  /** Bytes per second over the recent window. */
  get speed() {
    const [t0, b0] = this.samples[0];
    const [t1, b1] = this.samples[this.samples.length - 1];
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  }

  /** Seconds left at the recent speed; Infinity while unknown. */
  get secondsLeft() {
    const speed = this.speed;
    return speed > 0 ? (this.total - this.done) / speed : Infinity;
  }
}

/** Fill a progress panel (see templates: .progress) from a Meter, at most once per frame. */
export class ProgressView {
  constructor(root) {
    this.root = root;
    this.bar = root.querySelector('progress');
    this.title = root.querySelector('.progress-title');
    this.percent = root.querySelector('.progress-percent');
    this.bytes = root.querySelector('.progress-bytes');
    this.speed = root.querySelector('.progress-speed');
    this.eta = root.querySelector('.progress-eta');
    this.live = root.querySelector('[aria-live]');
    this.meter = null;
    this.frame = 0;
    this.announced = -1;
  }

  /** Start showing a new transfer of `total` bytes under `title`. */
  start(title, total) {
    this.meter = new Meter(total);
    this.announced = -1;
    this.setTitle(title);
    this.root.hidden = false;
    this.root.classList.remove('is-done', 'is-failed');
    this.render();
  }

  setTitle(title) {
    this.title.textContent = title;
  }

  /** Record `done` bytes; the panel catches up on the next animation frame. */
  update(done) {
    this.meter.update(done);
    if (!this.frame) this.frame = requestAnimationFrame(() => this.render());
  }

  /** Show the transfer as finished. */
  finish(title) {
    this.meter.update(this.meter.total);
    this.setTitle(title);
    this.root.classList.add('is-done');
    this.render();
    this.say(title);
  }

  /** Show the transfer as stopped. */
  fail(title) {
    this.setTitle(title);
    this.root.classList.add('is-failed');
    this.render();
  }

  hide() {
    this.root.hidden = true;
  }

  render() {
    this.frame = 0;
    const meter = this.meter;
    if (!meter) return;
    const percent = Math.floor(meter.fraction * 100);
    this.bar.max = 100;
    this.bar.value = meter.fraction * 100;
    this.bar.setAttribute('aria-valuetext', t('progress.percent-spoken', { percent }));
    this.percent.textContent = t('progress.percent', { percent });
    this.bytes.textContent = t('progress.bytes', { done: formatBytes(meter.done), total: formatBytes(meter.total) });
    const running = meter.done < meter.total;
    this.speed.textContent = running ? formatSpeed(meter.speed) : '';
    this.eta.textContent = running && Number.isFinite(meter.secondsLeft)
      ? t('progress.time-left', { time: formatDuration(meter.secondsLeft) }) : '';
    const step = Math.floor(percent / ANNOUNCE_STEP) * ANNOUNCE_STEP;
    if (running && step !== this.announced) {
      this.announced = step;
      this.say(t('progress.percent-spoken', { percent: step }));
    }
  }

  say(text) {
    if (this.live) this.live.textContent = text;
  }
}
