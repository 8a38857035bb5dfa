/**
 * The page's settings, from two places:
 * - config.json, served next to index.html, says only where the API is ({"apiBaseUrl": "/api"}),
 *   so one build serves every environment;
 * - GET {apiBaseUrl}/config gives the rules the API enforces: the upload limit, the formats it
 *   reads, the presets, the defaults, the job error codes that blame the file, the heads, paths
 *   and rooms by name, the bounds of the numeric options and the preview's length. The page keeps
 *   no copy of them, so it can never disagree with the API.
 */
import { ConversionError } from "./errors.js";
import { fetchJson, joinUrl, serverError } from "./http.js";
import { CONNECTION_ACTION } from "./wording.js";

const WHAT = "loading its settings";
const RELOAD_ACTION = "Reload the page; if that does not help, the site is being updated: try again in a few minutes.";

/** config.json -> the API's base URL. */
async function fetchApiBaseUrl(fetchFn, url) {
  const { response, body } = await fetchJson(fetchFn, url, { cache: "no-store" }, WHAT);
  if (!response.ok || typeof body?.apiBaseUrl !== "string") {
    throw new ConversionError(
      "config",
      "This copy of SurroundYou is missing its settings (config.json), so it cannot find its server.",
      RELOAD_ACTION,
      { status: response.status },
    );
  }
  return body.apiBaseUrl;
}

const isString = (value) => typeof value === "string" && value !== "";
const isStringList = (value) => Array.isArray(value) && value.every(isString);

/** What is wrong with a GET /config answer, in a few words; null when the page can use it. */
function problemWithRules(rules) {
  if (!Number.isInteger(rules?.maxUploadBytes) || rules.maxUploadBytes <= 0) return "no maxUploadBytes";
  const formatsOk = Array.isArray(rules.inputFormats) && rules.inputFormats.length > 0 &&
    rules.inputFormats.every((format) => isString(format?.extension) && isStringList(format.contentTypes));
  if (!formatsOk) return "no inputFormats";
  if (!Array.isArray(rules.presets) || rules.presets.length === 0 || !rules.presets.every((preset) => isString(preset?.name))) {
    return "no presets";
  }
  if (!rules.presets.some((preset) => preset.name === rules.defaults?.preset) || !isString(rules.defaults.format)) {
    return "no defaults";
  }
  if (!isStringList(rules.fileErrorCodes)) return "no fileErrorCodes";
  // the controls beyond the presets: the choices by name, and the bounds of the numbers
  const named = (list, key = "name") => Array.isArray(list) && list.length > 0 && list.every((item) => isString(item?.[key]));
  if (!named(rules.heads, "mode")) return "no heads";
  if (!named(rules.paths)) return "no paths";
  if (!named(rules.rooms)) return "no rooms";
  const bounded = (name) => Number.isFinite(rules.optionRanges?.[name]?.min) && Number.isFinite(rules.optionRanges[name].max);
  if (!bounded("periodS") || !bounded("beatsPerTurn")) return "no optionRanges";
  if (!Number.isFinite(rules.previewS)) return "no previewS";
  return null;
}

/** GET {apiBaseUrl}/config -> the API's rules; a clear error when the API cannot be reached. */
async function fetchApiRules(fetchFn, apiBaseUrl) {
  const url = joinUrl(apiBaseUrl, "config");
  let answer;
  try {
    answer = await fetchJson(fetchFn, url, { cache: "no-store" }, WHAT);
  } catch (error) {
    if (error.kind !== "network") throw error;
    throw new ConversionError("network", `Could not reach the SurroundYou server (${url}) to load its settings.`, CONNECTION_ACTION);
  }
  const { response, body } = answer;
  if (response.status >= 500) throw serverError(response.status, body, WHAT);
  const problem = response.ok ? problemWithRules(body) : `HTTP ${response.status}`;
  if (problem) {
    throw new ConversionError(
      "config",
      `The SurroundYou server did not send the settings this page needs (${url}: ${problem}).`,
      RELOAD_ACTION,
      { status: response.status },
    );
  }
  return body;
}

/**
 * Both parts in one object:
 * {apiBaseUrl, maxUploadBytes, maxDurationS, inputFormats: [{extension, contentTypes}],
 *  outputFormats, modes, presets: [{name, description, periodS, direction, widthDeg, ...}],
 *  defaults: {preset, format, mode}, fileErrorCodes, heads: [{mode, name, description}],
 *  paths: [{name, description}], rooms: [{name, description}], syncs,
 *  optionRanges: {periodS: {min, max, integer, curve}, beatsPerTurn, ...}, previewS}
 */
export async function loadConfig({ fetchFn = fetch, url = "config.json" } = {}) {
  const apiBaseUrl = await fetchApiBaseUrl(fetchFn, url);
  const rules = await fetchApiRules(fetchFn, apiBaseUrl);
  return { ...rules, apiBaseUrl };
}
