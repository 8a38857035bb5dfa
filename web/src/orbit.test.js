import { describe, expect, it } from "vitest";
import {
  WANDER_REPEAT_TURNS,
  describeOrbit,
  drawnPeriodS,
  pathDirection,
  sourceOffsetsDeg,
  sourceRoute,
  VIEW_TILT_DEG,
  viewPoint,
} from "./orbit.js";

const DEG = Math.PI / 180;
const classic = { name: "classic", path: "circle", periodS: 8, direction: "clockwise", widthDeg: 60, elevationWobbleDeg: 10, sync: "off", beatsPerTurn: 16 };
const at = (path, turns, extra = {}) => pathDirection({ ...classic, elevationWobbleDeg: 0, path, ...extra }, turns);
const closeTo = (actual, expected, digits = 9) => {
  expect(actual.azimuthRad).toBeCloseTo(expected.azimuthRad, digits);
  expect(actual.elevationRad).toBeCloseTo(expected.elevationRad, digits);
};

describe("the view from above and a little behind (nose up)", () => {
  const tilt = VIEW_TILT_DEG * DEG;
  const close = (p, x, y) => {
    expect(p.x).toBeCloseTo(x, 9);
    expect(p.y).toBeCloseTo(y, 9);
  };

  it("puts front up, the listener's right to the right, back down", () => {
    close(viewPoint(0, 0, 10), 0, -10 * Math.sin(tilt));
    close(viewPoint(90 * DEG, 0, 10), 10, 0);
    close(viewPoint(180 * DEG, 0, 10), 0, 10 * Math.sin(tilt));
    close(viewPoint(-90 * DEG, 0, 10), -10, 0);
  });

  it("draws a source above the ears higher than one below them", () => {
    close(viewPoint(90 * DEG, 90 * DEG, 10), 0, -10 * Math.cos(tilt));
    expect(viewPoint(90 * DEG, 30 * DEG, 10).y).toBeLessThan(viewPoint(90 * DEG, -30 * DEG, 10).y);
  });

  it("centres the two sources on the path, widthDeg apart", () => {
    expect(sourceOffsetsDeg(60)).toEqual({ left: -30, right: 30 });
  });
});

describe("the engine's paths (engine/orbit.py)", () => {
  it("circle: front, right, back, left in a turn; counter-clockwise mirrors it; the wobble bobs twice a turn", () => {
    closeTo(at("circle", 0.25), { azimuthRad: Math.PI / 2, elevationRad: 0 });
    closeTo(at("circle", 0.5), { azimuthRad: Math.PI, elevationRad: 0 });
    closeTo(at("circle", 0.25, { direction: "counterclockwise" }), { azimuthRad: -Math.PI / 2, elevationRad: 0 });
    closeTo(pathDirection(classic, 0.125), { azimuthRad: Math.PI / 4, elevationRad: 10 * DEG });
    // whole turns come back to the start
    closeTo(at("circle", 3.25), at("circle", 0.25));
  });

  it("arc: to the right ear and back through the front to the left, never behind", () => {
    closeTo(at("arc", 0.25), { azimuthRad: Math.PI / 2, elevationRad: 0 });
    closeTo(at("arc", 0.75), { azimuthRad: -Math.PI / 2, elevationRad: 0 });
    for (let turns = 0; turns < 1; turns += 0.01) expect(Math.abs(at("arc", turns).azimuthRad)).toBeLessThanOrEqual(Math.PI / 2 + 1e-12);
  });

  it("figure-eight: behind the head at a quarter turn, 30 degrees up on the way, crossing in front", () => {
    closeTo(at("figure8", 0.25), { azimuthRad: Math.PI, elevationRad: 0 });
    closeTo(at("figure8", 0.5), { azimuthRad: 0, elevationRad: 0 });
    expect(at("figure8", 0.125).elevationRad).toBeCloseTo(30 * DEG, 9);
    expect(at("figure8", 0.375).elevationRad).toBeCloseTo(-30 * DEG, 9);
    // its even pace (the engine's asin(0.9 sin t) / asin(0.9)): at a twelfth of a turn, 75.0 deg to the right (a sine: 90)
    expect(at("figure8", 1 / 12).azimuthRad / DEG).toBeCloseTo(75.03, 1);
  });

  it("overhead: 80 degrees up at a quarter turn, behind at half, no lower than -37 degrees", () => {
    expect(at("overhead", 0.25).elevationRad).toBeCloseTo(80 * DEG, 9);
    expect(Math.abs(at("overhead", 0.5).azimuthRad)).toBeCloseTo(Math.PI, 9);
    let lowest = 0;
    for (let turns = 0; turns < 1; turns += 0.001) lowest = Math.min(lowest, at("overhead", turns).elevationRad);
    expect(lowest / DEG).toBeGreaterThan(-38);
    expect(lowest / DEG).toBeLessThan(-36);
  });

  it("wander: starts in front, keeps moving on, and comes round exactly after its repeat", () => {
    closeTo(at("wander", 0), { azimuthRad: 0, elevationRad: at("wander", 0).elevationRad });
    let previous = at("wander", 0).azimuthRad;
    for (let turns = 0.01; turns < 3; turns += 0.01) {
      const now = at("wander", turns).azimuthRad;
      expect(now).toBeGreaterThan(previous); // sum(a f) < 1: the azimuth always grows
      previous = now;
    }
    const later = at("wander", 0.3 + WANDER_REPEAT_TURNS);
    expect(later.azimuthRad - 2 * Math.PI * WANDER_REPEAT_TURNS).toBeCloseTo(at("wander", 0.3).azimuthRad, 6);
    expect(later.elevationRad).toBeCloseTo(at("wander", 0.3).elevationRad, 6);
  });

  it("draws each source's route over a turn (the wander's whole repeat), closed", () => {
    const route = sourceRoute({ ...classic, path: "figure8" }, 30, 78, 8);
    expect(route).toHaveLength(9);
    expect(route[0].x).toBeCloseTo(route[8].x, 9);
    // the right channel's source starts 30 degrees right of the front
    expect(route[0]).toMatchObject(viewPoint(30 * DEG, 0, 78));
    expect(route[0].x).toBeCloseTo(78 * Math.sin(30 * DEG), 9);
    expect(sourceRoute({ ...classic, path: "wander" }, 0, 78, 8)).toHaveLength(WANDER_REPEAT_TURNS * 8 + 1);
  });
});

describe("speed and words", () => {
  it("runs at the chosen period, or with beat sync at beatsPerTurn beats of 120 BPM", () => {
    expect(drawnPeriodS(classic)).toBe(8);
    expect(drawnPeriodS({ ...classic, sync: "beats", beatsPerTurn: 8 })).toBe(4);
    // half-typed beats per turn: the drawing keeps the period
    expect(drawnPeriodS({ ...classic, sync: "beats", beatsPerTurn: "" })).toBe(8);
  });

  it("describes the path, its speed, direction, width and wobble", () => {
    expect(describeOrbit(classic)).toBe(
      "The music circles your head clockwise, one turn every 8 seconds; left and right are 60° apart, rising and dipping up to 10°.",
    );
    expect(describeOrbit({ ...classic, direction: "counterclockwise", elevationWobbleDeg: 0 })).toBe(
      "The music circles your head counter-clockwise, one turn every 8 seconds; left and right are 60° apart.",
    );
    expect(describeOrbit({ ...classic, path: "figure8", sync: "beats", beatsPerTurn: 8 })).toBe(
      "The music draws a figure-eight around your ears to the right first, one turn every 8 beats of the song; left and right are 60° apart.",
    );
  });
});
