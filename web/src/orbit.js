/**
 * Geometry of the orbit a preset draws around the head, seen from above with the nose up.
 *
 * Angles are azimuths in degrees: 0 = straight ahead, 90 = the listener's right, clockwise
 * positive, as in the engine. In SVG (y down) a positive rotate() is clockwise on screen, so the
 * top view needs no mirroring.
 */

/** Azimuths of the left- and right-channel sources at the start of the orbit: widthDeg apart, centred ahead. */
export function sourceAzimuthsDeg(widthDeg) {
  return { left: -widthDeg / 2, right: widthDeg / 2 };
}

/** Point at `azimuthDeg` on a circle of `radius` around (0, 0): x to the right, y down (SVG). */
export function pointOnOrbit(azimuthDeg, radius) {
  const radians = (azimuthDeg * Math.PI) / 180;
  return { x: radius * Math.sin(radians), y: -radius * Math.cos(radians) };
}

/** One sentence for screen readers and the caption: what the orbit does. */
export function describeOrbit(preset) {
  const direction = preset.direction === "counterclockwise" ? "counter-clockwise" : "clockwise";
  const wobble = preset.elevationWobbleDeg > 0 ? `, rising and dipping up to ${preset.elevationWobbleDeg}°` : "";
  return `The music circles your head ${direction}, one turn every ${preset.periodS} seconds; left and right are ${preset.widthDeg}° apart${wobble}.`;
}
