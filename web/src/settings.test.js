import { describe, expect, it } from "vitest";
import { jobOptions, motionOf, periodWords, speedStops, strengthWords } from "./settings.js";
import { CONFIG } from "./testing.js";

const classic = CONFIG.presets[0];

describe("the person's choices over a preset", () => {
  it("shows the preset as it is until something is changed", () => {
    expect(motionOf(classic, {})).toEqual(classic);
    expect(motionOf(classic, { path: "figure8", periodS: 4, mode: "hrtf" })).toEqual({ ...classic, path: "figure8", periodS: 4 });
    expect(motionOf(undefined, {})).toBeNull();
  });

  it("sends the preset, the API's default format and head, and only what differs from the preset", () => {
    expect(jobOptions(CONFIG, classic, {})).toEqual({ preset: "classic", format: "mp3", mode: "spherical" });
    // choosing the preset's own value sends nothing for it
    expect(jobOptions(CONFIG, classic, { path: "circle", periodS: 8, room: "small" })).toEqual({
      preset: "classic",
      format: "mp3",
      mode: "spherical",
    });
    expect(
      jobOptions(CONFIG, classic, { path: "figure8", sync: "beats", beatsPerTurn: 8, periodS: 4, room: "hall", mode: "hrtf" }),
    ).toEqual({ preset: "classic", format: "mp3", mode: "hrtf", path: "figure8", sync: "beats", beatsPerTurn: 8, periodS: 4, room: "hall" });
    // the strength and the fades, as the API names them
    expect(jobOptions(CONFIG, classic, { intensity: 0.6, fadeInS: 0, fadeOutS: 3 })).toEqual({
      preset: "classic",
      format: "mp3",
      mode: "spherical",
      intensity: 0.6,
      fadeInS: 0,
    });
  });

  it("starts the strength and the fades at the preset's, and a new preset resets them", () => {
    const gentle = { ...classic, name: "gentle", intensity: 0.6, fadeInS: 5 };
    expect(motionOf(gentle, {})).toMatchObject({ intensity: 0.6, fadeInS: 5, fadeOutS: 3 });
    expect(motionOf(gentle, { intensity: 0.25 })).toMatchObject({ intensity: 0.25, fadeInS: 5 });
  });

  it("asks for a preview only when it is one", () => {
    expect(jobOptions(CONFIG, classic, { sync: "beats" }, { preview: true })).toEqual({
      preset: "classic",
      format: "mp3",
      mode: "spherical",
      sync: "beats",
      preview: true,
    });
    expect(jobOptions(CONFIG, classic, {}, { preview: false })).not.toHaveProperty("preview");
  });
});

describe("the speed slider", () => {
  it("steps through readable periods within the API's range, the preset's own among them", () => {
    const stops = speedStops({ min: 1, max: 120 }, 8);
    expect(stops[0]).toBe(1);
    expect(stops.at(-1)).toBe(120);
    expect(stops).toEqual([...stops].sort((a, b) => a - b));
    // every step is a similar ratio: no stretch of the slider jumps or crawls
    const ratios = stops.slice(1).map((periodS, i) => periodS / stops[i]);
    expect(Math.max(...ratios)).toBeLessThanOrEqual(1.5);
    expect(speedStops({ min: 1, max: 120 }, 13)).toContain(13);
    expect(speedStops({ min: 2, max: 30 }, 8)).toEqual(expect.not.arrayContaining([1, 1.5, 32, 40]));
  });

  it("says the period and the strength in words", () => {
    expect(strengthWords(0.6)).toBe("60 %");
    expect(strengthWords(1)).toBe("100 %, a real head's cues");
    expect(periodWords(8)).toBe("8 seconds per turn");
    expect(periodWords(1)).toBe("1 second per turn");
  });
});
