/**
 * One player for two versions of a song: the original and the 8D one play together, in step, and
 * only the one selected is heard, so switching keeps the position and has no gap.
 *
 * The two are media elements (HTMLAudioElement, or anything with currentTime, volume, paused,
 * play() and pause()). `position` is on the 8D version's time line; the original is
 * `originalOffsetS` later (a preview is 30 s cut from the song at that point). Each side plays at
 * its `gains` value (loudness matching, matchedGains) when selected, and silent otherwise.
 */

/** How far the two may drift apart before the silent one is moved to the heard one's position. */
export const MAX_DRIFT_S = 0.05;

export const SIDES = ["original", "processed"];

/**
 * Gains that play both versions equally loud, from their integrated loudness (LUFS, BS.1770, as
 * the converter measured them): the louder one is turned down by the difference, never anything
 * turned up (volume cannot exceed 1, and turning up could clip). Unknown loudness: both at 1
 * (the converter already matches the 8D version's loudness to the song's, within 1 LU).
 */
export function matchedGains(inputLufs, outputLufs) {
  if (!Number.isFinite(inputLufs) || !Number.isFinite(outputLufs)) return { original: 1, processed: 1 };
  const differenceDb = outputLufs - inputLufs;
  const down = 10 ** (-Math.abs(differenceDb) / 20);
  return differenceDb > 0 ? { original: 1, processed: down } : { original: down, processed: 1 };
}

export class ABPlayer {
  constructor(media, { originalOffsetS = 0, gains = { original: 1, processed: 1 }, selected = "processed" } = {}) {
    this.media = media; // {original, processed}
    this.originalOffsetS = originalOffsetS;
    this.gains = gains;
    this.selected = selected;
    // a version this browser cannot decode (e.g. an original in a format it does not play)
    this.unplayable = new Set();
    this.applyVolumes();
  }

  /** `side` cannot play here: it is left out of play(), and the other one is heard. */
  markUnplayable(side) {
    this.unplayable.add(side);
    this.media[side].pause();
    const other = SIDES.find((candidate) => !this.unplayable.has(candidate));
    if (other && this.selected === side) {
      this.selected = other;
      this.applyVolumes();
    }
  }

  /** Position on the 8D version's time line, from the one heard. */
  position() {
    const heard = this.media[this.selected];
    return this.selected === "original" ? heard.currentTime - this.originalOffsetS : heard.currentTime;
  }

  /** currentTime of `side` for a position on the 8D time line. */
  timeOf(side, positionS) {
    return side === "original" ? positionS + this.originalOffsetS : positionS;
  }

  applyVolumes() {
    for (const side of SIDES) this.media[side].volume = side === this.selected ? this.gains[side] : 0;
  }

  /** Move the silent one to the heard one's position when they have drifted apart. */
  align() {
    const positionS = this.position();
    for (const side of SIDES) {
      if (side === this.selected || this.unplayable.has(side)) continue;
      const wanted = this.timeOf(side, positionS);
      if (Math.abs(this.media[side].currentTime - wanted) > MAX_DRIFT_S) this.media[side].currentTime = wanted;
    }
  }

  /**
   * Hear `side` from now on, at the same position: only the volumes change while the two are in
   * step (no seek, so no gap); one that drifted is moved to the other's position first.
   */
  select(side) {
    if (!SIDES.includes(side)) throw new Error(`unknown side ${side}`);
    if (side === this.selected || this.unplayable.has(side)) return;
    const positionS = this.position();
    const wanted = this.timeOf(side, positionS);
    if (Math.abs(this.media[side].currentTime - wanted) > MAX_DRIFT_S) this.media[side].currentTime = wanted;
    this.selected = side;
    this.applyVolumes();
  }

  seek(positionS) {
    for (const side of SIDES) this.media[side].currentTime = this.timeOf(side, positionS);
  }

  get paused() {
    return this.media[this.selected].paused;
  }

  /** Start both, in step; resolves when both play (a browser may refuse, e.g. without a user's gesture). */
  async play() {
    this.align();
    await Promise.all(SIDES.filter((side) => !this.unplayable.has(side)).map((side) => this.media[side].play()));
  }

  pause() {
    for (const side of SIDES) this.media[side].pause();
    this.align();
  }
}

/** "1:05" for 65 s. */
export function clockTime(seconds) {
  const whole = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}
