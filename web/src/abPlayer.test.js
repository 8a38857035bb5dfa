import { describe, expect, it } from "vitest";
import { ABPlayer, MAX_DRIFT_S, clockTime, matchedGains } from "./abPlayer.js";

/** A stand-in for an <audio> element: a clock that runs while it plays. */
class FakeMedia {
  constructor() {
    this.currentTime = 0;
    this.volume = 1;
    this.paused = true;
  }
  async play() {
    this.paused = false;
  }
  pause() {
    this.paused = true;
  }
  advance(seconds) {
    if (!this.paused) this.currentTime += seconds;
  }
}

const pair = () => ({ original: new FakeMedia(), processed: new FakeMedia() });

describe("one player, two versions", () => {
  it("plays both in step and lets only the selected one be heard", async () => {
    const media = pair();
    const player = new ABPlayer(media);
    await player.play();
    expect([media.original.paused, media.processed.paused]).toEqual([false, false]);
    expect([media.original.volume, media.processed.volume]).toEqual([0, 1]);
    player.select("original");
    expect([media.original.volume, media.processed.volume]).toEqual([1, 0]);
  });

  it("switches at the same position, playing or paused", async () => {
    const media = pair();
    const player = new ABPlayer(media);
    await player.play();
    media.processed.advance(12.34);
    media.original.advance(12.2); // the silent one drifted behind
    player.select("original");
    expect(media.original.currentTime).toBeCloseTo(12.34, 9);
    expect(player.position()).toBeCloseTo(12.34, 9);
    expect(media.original.paused).toBe(false); // still playing, now heard
    player.pause();
    media.original.currentTime = 20;
    player.select("processed");
    expect(media.processed.currentTime).toBeCloseTo(20, 9);
    expect(player.paused).toBe(true);
  });

  it("keeps a preview's place in the song: the original runs previewStartS ahead", async () => {
    const media = pair();
    const player = new ABPlayer(media, { originalOffsetS: 95.5 });
    player.seek(10);
    expect([media.processed.currentTime, media.original.currentTime]).toEqual([10, 105.5]);
    player.select("original");
    media.original.currentTime = 110;
    expect(player.position()).toBeCloseTo(14.5, 9);
    player.select("processed");
    expect(media.processed.currentTime).toBeCloseTo(14.5, 9);
  });

  it("switches without a seek while the two are in step", async () => {
    const media = pair();
    const player = new ABPlayer(media);
    await player.play();
    media.processed.advance(7);
    media.original.advance(7 - MAX_DRIFT_S / 2);
    player.select("original");
    expect(media.original.currentTime).toBe(7 - MAX_DRIFT_S / 2); // untouched: only the volumes changed
    expect(media.original.volume).toBe(1);
  });

  it("leaves a small drift alone and corrects a larger one when play starts", async () => {
    const media = pair();
    const player = new ABPlayer(media);
    media.processed.currentTime = 5;
    media.original.currentTime = 5 + MAX_DRIFT_S / 2;
    await player.play();
    expect(media.original.currentTime).toBe(5 + MAX_DRIFT_S / 2);
    media.original.currentTime = 6;
    await player.play();
    expect(media.original.currentTime).toBe(5);
  });
});

describe("a version the browser cannot play", () => {
  it("is left out: the other one plays and is heard, and the switch stays put", async () => {
    const media = pair();
    const player = new ABPlayer(media, { selected: "original" });
    player.markUnplayable("original");
    expect(player.selected).toBe("processed");
    expect(media.processed.volume).toBe(1);
    await player.play();
    expect([media.original.paused, media.processed.paused]).toEqual([true, false]);
    player.select("original");
    expect(player.selected).toBe("processed");
  });
});

describe("matched loudness", () => {
  it("turns the louder version down by the difference, never anything up", () => {
    expect(matchedGains(-14, -14)).toEqual({ original: 1, processed: 1 });
    const quieter8d = matchedGains(-9, -11); // a loud master the limiter held back
    expect(quieter8d.processed).toBe(1);
    expect(20 * Math.log10(quieter8d.original)).toBeCloseTo(-2, 9);
    const louder8d = matchedGains(-16, -15.5);
    expect(louder8d.original).toBe(1);
    expect(20 * Math.log10(louder8d.processed)).toBeCloseTo(-0.5, 9);
  });

  it("plays both at full volume when the loudness is not known", () => {
    expect(matchedGains(undefined, -14)).toEqual({ original: 1, processed: 1 });
  });

  it("applies the gains to the version heard", () => {
    const media = pair();
    const player = new ABPlayer(media, { gains: matchedGains(-9, -11) });
    player.select("original");
    expect(media.original.volume).toBeCloseTo(10 ** (-2 / 20), 9);
  });
});

describe("the clock", () => {
  it("shows minutes and seconds", () => {
    expect(clockTime(0)).toBe("0:00");
    expect(clockTime(65.9)).toBe("1:05");
    expect(clockTime(NaN)).toBe("0:00");
  });
});
