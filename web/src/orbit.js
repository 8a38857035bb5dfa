/**
 * Geometry of the orbit drawn around the head, seen from above (and a little behind), nose up.
 *
 * Angles are as in the engine: azimuth 0 = straight ahead, positive towards the listener's right
 * (clockwise seen from above); elevation positive up. In SVG (y down) a positive rotate() is
 * clockwise on screen, so the top view needs no mirroring.
 *
 * The paths are the engine's (container/surroundyou/engine/orbit.py, the Orbit docstring), as
 * functions of the phase t = 2 pi u, u the turns made, and s = +1 clockwise, -1 counter-clockwise:
 *
 *   circle    az = s t                          el = w sin(2t)      (w: the elevation wobble)
 *   arc       az = s A sin(t), A = 90 deg       el = w sin(2t)
 *   figure8   az = s pi asin(k sin t) / asin(k)  el = E sin(2t), E = 30 deg, k = 0.9
 *   overhead  x = cos t, y = sin(T) sin t + K max(0, -sin t)^2, z = cos(T) sin t
 *             az = s atan2(y, x), el = atan2(z, hypot(x, y)); T = 10 deg, K = 1.6
 *   wander    az = s (t + sum a_k (sin(f_k t + p_k) - sin p_k)),  el = sum b_k sin(g_k t + q_k)
 *
 * Each input channel is its own source, offset in azimuth from the path by widthDeg/2 to either
 * side (the left channel to the left), at the path's elevation.
 */

const DEG = Math.PI / 180;

// the engine's constants (engine/orbit.py)
export const ARC_HALF_WIDTH_DEG = 90;
export const FIGURE8_ELEVATION_DEG = 30;
export const FIGURE8_EVENNESS = 0.9;
export const OVERHEAD_TILT_DEG = 10;
export const OVERHEAD_SWING = 1.6;
// (amplitude, frequency in turns, phase): azimuth amplitudes in radians, elevation ones in degrees
export const WANDER_AZIMUTH_TERMS = [
  [0.45, 0.5, 1.1243],
  [0.3, 0.85, 4.0207],
  [0.2, 1.35, 2.9359],
];
export const WANDER_ELEVATION_TERMS = [
  [12.0, 0.6, 2.3279],
  [8.0, 1.55, 2.23],
];
// the wander's sinusoids (0.5, 0.85, 1.35, 0.6 and 1.55 turns) all come round after 20 turns
export const WANDER_REPEAT_TURNS = 20;

/**
 * Where the path is after `turns` turns: {azimuthRad, elevationRad}.
 * motion: {path, direction ("clockwise" | "counterclockwise"), elevationWobbleDeg}.
 */
export function pathDirection(motion, turns) {
  const sign = motion.direction === "counterclockwise" ? -1 : 1;
  const wobble = (motion.elevationWobbleDeg ?? 0) * DEG;
  const path = motion.path ?? "circle";
  if (path === "wander") {
    const t = 2 * Math.PI * turns;
    const azimuth = WANDER_AZIMUTH_TERMS.reduce((sum, [a, f, p]) => sum + a * (Math.sin(f * t + p) - Math.sin(p)), t);
    const elevation = WANDER_ELEVATION_TERMS.reduce((sum, [b, g, q]) => sum + b * DEG * Math.sin(g * t + q), 0);
    return { azimuthRad: sign * azimuth, elevationRad: elevation };
  }
  const t = 2 * Math.PI * (turns - Math.floor(turns));
  if (path === "circle") return { azimuthRad: sign * t, elevationRad: wobble * Math.sin(2 * t) };
  if (path === "arc") return { azimuthRad: sign * ARC_HALF_WIDTH_DEG * DEG * Math.sin(t), elevationRad: wobble * Math.sin(2 * t) };
  if (path === "figure8") {
    const azimuth = (Math.PI * Math.asin(FIGURE8_EVENNESS * Math.sin(t))) / Math.asin(FIGURE8_EVENNESS);
    return { azimuthRad: sign * azimuth, elevationRad: FIGURE8_ELEVATION_DEG * DEG * Math.sin(2 * t) };
  }
  if (path === "overhead") {
    const tilt = OVERHEAD_TILT_DEG * DEG;
    const x = Math.cos(t);
    const y = Math.sin(tilt) * Math.sin(t) + OVERHEAD_SWING * Math.max(0, -Math.sin(t)) ** 2;
    const z = Math.cos(tilt) * Math.sin(t);
    return { azimuthRad: sign * Math.atan2(y, x), elevationRad: Math.atan2(z, Math.hypot(x, y)) };
  }
  throw new Error(`unknown path ${path}`);
}

/** Azimuth offsets of the left- and right-channel sources from the path: widthDeg apart, centred on it. */
export function sourceOffsetsDeg(widthDeg) {
  return { left: -widthDeg / 2, right: widthDeg / 2 };
}

/**
 * Where a direction on a sphere of `radius` is drawn: x to the right, y down (SVG). The view looks
 * down from above and a little behind the head (VIEW_TILT_DEG above the horizontal plane's top
 * view, tilted towards the front), so the front is up and height shows too: a source above the
 * ears is drawn higher than one below them, which keeps the figure-eight's loops and the overhead
 * loop apart from a plain circle. VIEW_TILT_DEG = 90 would be a pure top view.
 *
 *   x = R cos(el) sin(az)
 *   y = -R (cos(el) cos(az) sin(tilt) + sin(el) cos(tilt))
 */
export const VIEW_TILT_DEG = 60;
export function viewPoint(azimuthRad, elevationRad, radius) {
  const tilt = VIEW_TILT_DEG * DEG;
  const flat = radius * Math.cos(elevationRad);
  return {
    x: flat * Math.sin(azimuthRad),
    y: -(flat * Math.cos(azimuthRad) * Math.sin(tilt) + radius * Math.sin(elevationRad) * Math.cos(tilt)),
  };
}

/** How many turns the drawing shows and the animation loops over before it repeats exactly. */
export function turnsShown(path) {
  return path === "wander" ? WANDER_REPEAT_TURNS : 1;
}

/**
 * `samplesPerTurn` points per turn of one source's route as drawn (viewPoint), from turn 0 over
 * turnsShown(path) turns, the last point equal to the first: [{x, y, elevationRad}].
 * offsetDeg is the source's azimuth offset from the path (sourceOffsetsDeg).
 */
export function sourceRoute(motion, offsetDeg, radius, samplesPerTurn = 96) {
  const turns = turnsShown(motion.path);
  const count = turns * samplesPerTurn;
  const points = [];
  for (let i = 0; i <= count; i += 1) {
    const { azimuthRad, elevationRad } = pathDirection(motion, (i / count) * turns);
    points.push({ ...viewPoint(azimuthRad + offsetDeg * DEG, elevationRad, radius), elevationRad });
  }
  return points;
}

/** "x,y x,y ..." for an SVG polyline, or ";"-separated for SMIL's values, two decimals. */
export function pointList(points, separator = " ") {
  return points.map(({ x, y }) => `${x.toFixed(2)},${y.toFixed(2)}`).join(separator);
}

/**
 * Seconds per turn the drawing runs at: the chosen period, or with beat sync the turn of
 * beatsPerTurn beats at NOMINAL_TEMPO_BPM (the song's own tempo is found only when it converts).
 */
export const NOMINAL_TEMPO_BPM = 120;
export function drawnPeriodS(motion) {
  // while beats per turn is being typed (empty, or not yet a whole number) the speed stays put
  const beats = Number.isInteger(motion.beatsPerTurn) && motion.beatsPerTurn > 0 ? motion.beatsPerTurn : null;
  return motion.sync === "beats" && beats ? (beats * 60) / NOMINAL_TEMPO_BPM : motion.periodS;
}

const PATH_WORDS = {
  circle: "circles your head",
  arc: "swings from ear to ear in front of you",
  figure8: "draws a figure-eight around your ears",
  overhead: "loops up over your head and round below",
  wander: "wanders around your head",
};

/** One sentence for screen readers and the caption: what the orbit does. */
export function describeOrbit(motion) {
  const counter = motion.direction === "counterclockwise";
  const turning = ["circle", "wander"].includes(motion.path ?? "circle");
  const side = counter ? "left" : "right";
  const direction = turning
    ? counter
      ? "counter-clockwise"
      : "clockwise"
    : motion.path === "overhead"
      ? `leaning ${side}`
      : `to the ${side} first`;
  const speed =
    motion.sync === "beats"
      ? `one turn every ${motion.beatsPerTurn} beats of the song`
      : `one turn every ${motion.periodS} seconds`;
  const wobble =
    (motion.path ?? "circle") === "circle" && motion.elevationWobbleDeg > 0
      ? `, rising and dipping up to ${motion.elevationWobbleDeg}°`
      : "";
  return `The music ${PATH_WORDS[motion.path ?? "circle"]} ${direction}, ${speed}; left and right are ${motion.widthDeg}° apart${wobble}.`;
}
