/**
 * What the unit tests share (not part of the app's bundle: only the *.test.js files import it):
 * the API's GET /config answer as the contract gives it, the config the page builds from it, and
 * scripted stand-ins for fetch.
 */
import { vi } from "vitest";

export const API = "https://api.example.test/prod/";

/** GET /config as the API answers it. */
export const API_RULES = {
  maxUploadBytes: 200_000_000,
  maxDurationS: 3600,
  inputFormats: [
    { extension: "mp3", contentTypes: ["audio/mpeg", "audio/mp3"] },
    { extension: "wav", contentTypes: ["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"] },
    { extension: "flac", contentTypes: ["audio/flac", "audio/x-flac"] },
    { extension: "ogg", contentTypes: ["audio/ogg", "application/ogg", "audio/vorbis"] },
    { extension: "m4a", contentTypes: ["audio/mp4", "audio/x-m4a", "audio/m4a", "audio/aac"] },
  ],
  outputFormats: ["mp3", "flac", "wav", "ogg"],
  modes: ["spherical", "hrtf"],
  presets: [
    {
      name: "classic",
      description: "One turn every 8 seconds with a touch of room.",
      periodS: 8.0,
      direction: "clockwise",
      widthDeg: 60.0,
      elevationWobbleDeg: 10.0,
      intensity: 1.0,
      reverb: 0.2,
      crossoverHz: 120.0,
      room: "small",
      path: "circle",
      sync: "off",
      beatsPerTurn: 16,
      fadeInS: 3.0,
      fadeOutS: 3.0,
    },
    {
      name: "fast",
      description: "A quick spin, one turn every 4 seconds.",
      periodS: 4.0,
      direction: "clockwise",
      widthDeg: 50.0,
      elevationWobbleDeg: 0.0,
      intensity: 1.0,
      reverb: 0.15,
      crossoverHz: 120.0,
      room: "small",
      path: "circle",
      sync: "off",
      beatsPerTurn: 16,
      fadeInS: 3.0,
      fadeOutS: 3.0,
    },
  ],
  defaults: { preset: "classic", format: "mp3", mode: "spherical" },
  fileErrorCodes: ["InvalidUpload", "DecodeFailed"],
  heads: [
    { mode: "spherical", name: "Modelled head", description: "A rigid sphere with ear cues." },
    { mode: "hrtf", name: "Measured head (MIT KEMAR)", description: "Recordings of a dummy head's ears." },
  ],
  paths: ["circle", "figure8", "wander", "overhead", "arc"].map((name) => ({ name, description: `The ${name} path.` })),
  rooms: ["none", "small", "medium", "hall"].map((name) => ({ name, description: `The ${name} room.` })),
  syncs: ["off", "beats"],
  optionRanges: {
    periodS: { min: 1, max: 120, integer: false, curve: true },
    beatsPerTurn: { min: 2, max: 64, integer: true, curve: false },
    intensity: { min: 0, max: 1, integer: false, curve: true },
    fadeInS: { min: 0, max: 30, integer: false, curve: false },
    fadeOutS: { min: 0, max: 30, integer: false, curve: false },
  },
  previewS: 30,
};

/** loadConfig()'s result for an API at API with those rules. */
export const CONFIG = { ...API_RULES, apiBaseUrl: API };

export function jsonResponse(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** A fetch that answers from a list, one answer per call; an Error in the list is thrown. */
export function scriptedFetch(answers) {
  const calls = [];
  const fetchFn = vi.fn(async (url, init) => {
    calls.push({ url, init });
    const next = answers.shift();
    if (next === undefined) throw new Error("fetch called more often than scripted");
    if (next instanceof Error) throw next;
    return typeof next === "function" ? next() : next;
  });
  return { fetchFn, calls };
}

/** A File of `size` zero bytes. */
export const song = (size = 2048, name = "My Song.mp3", type = "audio/mpeg") =>
  new File([new Uint8Array(size)], name, { type });

/** The error a synchronous call throws (a test that expects one fails if it returns). */
export function thrownBy(call) {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, none thrown");
}
