/**
 * What a person chooses on the page, over a preset: the path, beat sync and beats per turn, the
 * speed (seconds per turn), the effect's strength and its fades in and out, the room and the head.
 * A preset is the starting point: picking one sets the controls to its values; the head is kept (presets do not choose it). The job's options
 * carry the preset's name and only what differs from it, named as the API names them.
 */

/** The controls' values a preset starts them at (its camelCase parameters from GET /config). */
export const PRESET_CONTROLS = ["path", "sync", "beatsPerTurn", "periodS", "intensity", "fadeInS", "fadeOutS", "room"];

/** The preset's parameters with the person's `choices` applied: what the orbit drawing shows. */
export function motionOf(preset, choices) {
  if (!preset) return null;
  const chosen = Object.fromEntries(PRESET_CONTROLS.filter((name) => choices[name] !== undefined).map((name) => [name, choices[name]]));
  return { ...preset, ...chosen };
}

/**
 * The `options` of POST /jobs: the preset, the API's default format, the head (`mode`), the
 * controls that differ from the preset, and `preview: true` for a preview.
 */
export function jobOptions(config, preset, choices, { preview = false } = {}) {
  const options = { preset: preset.name, format: config.defaults.format, mode: choices.mode ?? config.defaults.mode };
  for (const name of PRESET_CONTROLS) {
    if (choices[name] !== undefined && choices[name] !== preset[name]) options[name] = choices[name];
  }
  if (preview) options.preview = true;
  return options;
}

/**
 * The speeds the slider steps through: about the same ratio apart (each step ~15-25 % faster),
 * within the API's periodS range, plus `current` (a preset's own period) so it is always a stop.
 * The slider's value is an index into this list.
 */
const NICE_PERIODS_S = [1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 24, 28, 32, 40, 48, 60, 75, 90, 105, 120];

export function speedStops({ min, max }, current) {
  const stops = new Set(NICE_PERIODS_S.filter((periodS) => periodS >= min && periodS <= max));
  if (Number.isFinite(current) && current >= min && current <= max) stops.add(current);
  return [...stops].sort((a, b) => a - b);
}

/** "8 seconds per turn", "1 second per turn". */
export function periodWords(periodS) {
  return `${periodS} second${periodS === 1 ? "" : "s"} per turn`;
}

/** The strength slider's steps: every 5 % of the API's intensity range. */
export const STRENGTH_STEP = 0.05;

/** "60 %", and at full strength what that means. */
export function strengthWords(intensity) {
  const percent = Math.round(intensity * 100);
  return percent === 100 ? "100 %, a real head's cues" : `${percent} %`;
}
