import { describe, expect, it } from "vitest";
import { describeOrbit, pointOnOrbit, sourceAzimuthsDeg } from "./orbit.js";

const classic = { name: "classic", periodS: 8, direction: "clockwise", widthDeg: 60, elevationWobbleDeg: 10 };

describe("orbit geometry (top view, nose up)", () => {
  it("puts front up, the listener's right to the right, back down", () => {
    const close = (p, x, y) => {
      expect(p.x).toBeCloseTo(x, 9);
      expect(p.y).toBeCloseTo(y, 9);
    };
    close(pointOnOrbit(0, 10), 0, -10);
    close(pointOnOrbit(90, 10), 10, 0);
    close(pointOnOrbit(180, 10), 0, 10);
    close(pointOnOrbit(-90, 10), -10, 0);
  });

  it("centres the two sources ahead, widthDeg apart", () => {
    expect(sourceAzimuthsDeg(60)).toEqual({ left: -30, right: 30 });
  });

  it("describes the preset's period, direction, width and wobble", () => {
    expect(describeOrbit(classic)).toBe(
      "The music circles your head clockwise, one turn every 8 seconds; left and right are 60° apart, rising and dipping up to 10°.",
    );
    expect(describeOrbit({ ...classic, direction: "counterclockwise", elevationWobbleDeg: 0 })).toBe(
      "The music circles your head counter-clockwise, one turn every 8 seconds; left and right are 60° apart.",
    );
  });
});
