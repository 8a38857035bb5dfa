/**
 * The words the page uses for sizes and for what a person can do next. Sizes are worded as the
 * API words them (surroundyou_jobs.wording.file_size), so the page and the API never disagree.
 */
import { formatNames } from "./formats.js";

export const CONNECTION_ACTION = "Check your internet connection, then press Try again.";
export const WAIT_ACTION = "Wait a moment, then press Try again.";
export const SMALLER_FILE_ACTION = "Choose a smaller file: a shorter song, or a compressed format such as MP3.";
export const CHANGE_SETTING_ACTION = "Press Try again, change the setting it names, and convert once more.";
export const FAILED_JOB_ACTION = "Press Try again, then Convert once more; if it fails again, wait a few minutes.";

/** After a 429: when to try again, from the API's Retry-After seconds (a minute when it gave none). */
export function retryLaterAction(retryAfterS) {
  const minutes = Number.isFinite(retryAfterS) && retryAfterS > 0 ? Math.ceil(retryAfterS / 60) : 1;
  return minutes === 1 ? "Try again in a minute." : `Try again in about ${minutes} minutes.`;
}

/** When the file itself is the problem: another one, in a format the API reads. */
export function otherFileAction(inputFormats) {
  return `Choose another song (${formatNames(inputFormats)}) and try again.`;
}

/**
 * `value` with `digits` decimals as Python's format() writes it: the exact binary value rounded,
 * an exact tie to the even digit (toFixed rounds ties up: 1.25 -> "1.3" where Python says "1.2").
 */
function pythonFixed(value, digits) {
  const exact = value.toFixed(digits + 60); // every digit of a double in this range
  const cut = exact.length - 60;
  if (!/^50*$/.test(exact.slice(cut))) return value.toFixed(digits);
  const truncated = exact.slice(0, cut).replace(/\.$/, "");
  return Number(truncated.at(-1)) % 2 === 0 ? truncated : value.toFixed(digits);
}

/**
 * A size in decimal units (1 MB = 1,000,000 bytes), as the API says it: "80 KB" (rounded, at
 * least 1), "7.0 MB" below 10 MB, "200 MB" from there.
 */
export function fileSize(sizeBytes) {
  if (sizeBytes < 1_000_000) return `${Math.max(1, Number(pythonFixed(sizeBytes / 1000, 0)))} KB`;
  const sizeMb = sizeBytes / 1_000_000;
  return `${pythonFixed(sizeMb, sizeMb < 10 ? 1 : 0)} MB`;
}
