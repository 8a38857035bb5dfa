/**
 * The conversion this browser started last, kept across a reload or a closed tab (localStorage),
 * so the page picks up a render under way or a result not yet downloaded instead of losing it.
 * Kept: the job's id (what GET /jobs/{id} asks for), the song's name and whether it was a preview.
 * A browser that keeps no storage (blocked, private mode) simply does not pick it up.
 */
export const LAST_JOB_KEY = "surroundyou.lastJob";

function browserStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // reading localStorage itself throws where storage is blocked
  }
}

/** Remember `{jobId, filename, preview}` as the conversion to pick up after a reload. */
export function rememberJob({ jobId, filename, preview }, storage = browserStorage()) {
  try {
    storage?.setItem(LAST_JOB_KEY, JSON.stringify({ jobId, filename, preview: preview === true }));
  } catch {
    // full or blocked: the page works as before, without picking the job up after a reload
  }
}

/** The remembered conversion, or null (none, or not one this page wrote: it is then forgotten). */
export function rememberedJob(storage = browserStorage()) {
  let saved;
  try {
    saved = JSON.parse(storage?.getItem(LAST_JOB_KEY) ?? "null");
  } catch {
    saved = undefined;
  }
  if (saved === null) return null;
  const valid =
    typeof saved?.jobId === "string" &&
    /^[0-9a-f]{32}$/.test(saved.jobId) &&
    typeof saved.filename === "string" &&
    typeof saved.preview === "boolean";
  if (valid) return { jobId: saved.jobId, filename: saved.filename, preview: saved.preview };
  forgetJob(storage);
  return null;
}

export function forgetJob(storage = browserStorage()) {
  try {
    storage?.removeItem(LAST_JOB_KEY);
  } catch {
    // blocked storage holds nothing to forget
  }
}
