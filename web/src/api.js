/**
 * The client side of the SurroundYou API, as plain functions a test can run without a browser.
 *
 * Flow: fetchConfig() -> listPresets() -> createJob() -> uploadFile() (S3 presigned POST) ->
 * pollJob() until READY or FAILED. Every failure becomes a ConversionError whose `message` says
 * what went wrong and whose `action` says what the person can do about it.
 */

/** Used when config.json does not set maxUploadBytes; the API's own default (Settings). */
export const DEFAULT_MAX_UPLOAD_BYTES = 200 * 1024 * 1024;

/** Polling schedule: 500 ms, then x1.5 each time, never more than 4 s apart. */
export const POLL_BACKOFF = { initialDelayMs: 500, factor: 1.5, maxDelayMs: 4000 };

/** Consecutive transient failures (network down, 5xx) tolerated while polling before giving up. */
export const MAX_TRANSIENT_POLL_FAILURES = 4;

/** Content type for a file the browser could not type (file.type === ""), by extension. */
const CONTENT_TYPE_BY_EXTENSION = {
  mp3: "audio/mpeg",
  wav: "audio/wav",
  flac: "audio/flac",
  ogg: "audio/ogg",
  opus: "audio/opus",
  aiff: "audio/aiff",
  aif: "audio/aiff",
  m4a: "audio/mp4",
  aac: "audio/aac",
  webm: "audio/webm",
};

/** The file picker's `accept` list: the formats the engine reads. */
export const ACCEPTED_FILE_TYPES = [
  ...Object.keys(CONTENT_TYPE_BY_EXTENSION).map((ext) => `.${ext}`),
  "audio/*",
].join(",");

const CONNECTION_ACTION = "Check your internet connection, then press Try again.";
const OTHER_FILE_ACTION = "Choose another song (MP3, WAV, FLAC, OGG or M4A) and try again.";
const FAILED_JOB_ACTION = "Press Try again, then Convert once more; if it fails again, wait a few minutes.";
/** Job error codes that blame the file (validate's InvalidUpload, the task's DECODE_FAILED). */
const FILE_FAULT_CODES = new Set(["InvalidUpload", "DECODE_FAILED"]);

/**
 * A failure a person can act on.
 * kind: "config" | "network" | "rejected" | "too-large" | "upload-refused" | "job-failed" |
 *       "not-found" | "server"
 */
export class ConversionError extends Error {
  constructor(kind, message, action, { code = null, status = null } = {}) {
    super(message);
    this.name = "ConversionError";
    this.kind = kind;
    this.action = action;
    this.code = code;
    this.status = status;
  }
}

function networkError(what) {
  return new ConversionError("network", `Could not reach SurroundYou while ${what}.`, CONNECTION_ACTION);
}

/**
 * A size in the words the API's messages use (surroundyou_jobs.wording.megabytes): binary units
 * (1 MB = 2**20 bytes), one decimal below 10, whole numbers above: "512 bytes", "4.2 MB", "200 MB".
 */
export function formatBytes(bytes) {
  const units = ["bytes", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${value} bytes`;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

function joinUrl(baseUrl, path) {
  return `${baseUrl.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

/** fetch + JSON body; network failures and non-JSON answers become ConversionErrors. */
async function fetchJson(fetchFn, url, init, what) {
  let response;
  try {
    response = await fetchFn(url, init);
  } catch {
    throw networkError(what);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // A proxy's HTML error page or an empty body: the status alone tells what happened.
  }
  return { response, body };
}

function serverError(status, body, what) {
  const apiMessage = body?.error?.message;
  return new ConversionError(
    "server",
    apiMessage ? `SurroundYou could not finish ${what}: ${apiMessage}` : `SurroundYou had a problem while ${what} (HTTP ${status}).`,
    "Wait a moment, then press Try again.",
    { code: body?.error?.code ?? null, status },
  );
}

/**
 * The runtime configuration the static host serves next to index.html, so one build serves every
 * environment. Shape: {"apiBaseUrl": "/api", "maxUploadBytes"?: number}.
 */
export async function fetchConfig({ fetchFn = fetch, url = "config.json" } = {}) {
  const { response, body } = await fetchJson(fetchFn, url, { cache: "no-store" }, "loading its settings");
  if (!response.ok || typeof body?.apiBaseUrl !== "string") {
    throw new ConversionError(
      "config",
      "This copy of SurroundYou is missing its settings (config.json), so it cannot find its server.",
      "Reload the page; if that does not help, the site is being updated: try again in a few minutes.",
      { status: response.status },
    );
  }
  return {
    apiBaseUrl: body.apiBaseUrl,
    maxUploadBytes: Number.isFinite(body.maxUploadBytes) ? body.maxUploadBytes : DEFAULT_MAX_UPLOAD_BYTES,
  };
}

/** GET {api}/presets -> [{name, description, period_s, direction, width_deg, ...}] */
export async function listPresets(apiBaseUrl, { fetchFn = fetch } = {}) {
  const what = "loading the presets";
  const { response, body } = await fetchJson(fetchFn, joinUrl(apiBaseUrl, "presets"), {}, what);
  if (!response.ok || !Array.isArray(body?.presets)) throw serverError(response.status, body, what);
  return body.presets;
}

function extensionOf(filename) {
  const dot = filename.lastIndexOf(".");
  return dot < 0 ? "" : filename.slice(dot + 1).toLowerCase();
}

/** The content type to announce for a file: the browser's, else one from the extension. */
export function contentTypeOf(file) {
  return file.type || CONTENT_TYPE_BY_EXTENSION[extensionOf(file.name)] || "application/octet-stream";
}

/** Refuse a file before sending anything when it is empty or over the limit. Returns the file. */
export function checkFileBeforeUpload(file, maxUploadBytes) {
  if (file.size === 0) {
    throw new ConversionError("rejected", `"${file.name}" is empty.`, OTHER_FILE_ACTION);
  }
  if (file.size > maxUploadBytes) {
    throw new ConversionError(
      "too-large",
      `"${file.name}" is ${formatBytes(file.size)}; the limit is ${formatBytes(maxUploadBytes)}.`,
      "Choose a smaller file: a shorter song, or a compressed format such as MP3.",
    );
  }
  return file;
}

/**
 * POST {api}/jobs. Returns {jobId, upload: {url, fields}, expiresIn}.
 * A 400 carries the API's own message (e.g. an unsupported file type), shown as is.
 */
export async function createJob(apiBaseUrl, { file, preset, format = "mp3" }, { fetchFn = fetch } = {}) {
  const what = "starting the conversion";
  const request = {
    filename: file.name,
    size: file.size,
    contentType: contentTypeOf(file),
    options: { preset, format },
  };
  const { response, body } = await fetchJson(
    fetchFn,
    joinUrl(apiBaseUrl, "jobs"),
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request) },
    what,
  );
  if (response.status === 400) {
    const code = body?.error?.code ?? null;
    const tooLarge = /large|size/i.test(code ?? "");
    throw new ConversionError(
      tooLarge ? "too-large" : "rejected",
      body?.error?.message ?? "SurroundYou cannot convert this file.",
      tooLarge ? "Choose a smaller file: a shorter song, or a compressed format such as MP3." : OTHER_FILE_ACTION,
      { code, status: 400 },
    );
  }
  if (!response.ok || !body?.jobId || !body?.upload?.url) throw serverError(response.status, body, what);
  return body;
}

/** Pull <Code> and <Message> out of an S3 XML error document (regex: no DOMParser needed). */
export function parseS3Error(xmlText) {
  const pick = (tag) => {
    const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xmlText ?? "");
    return match ? match[1].trim() : null;
  };
  return { code: pick("Code"), message: pick("Message") };
}

/** The ConversionError for an upload the storage refused (status + S3 XML body). */
export function uploadRefusedError(status, responseText) {
  const { code, message } = parseS3Error(responseText);
  if (code === "EntityTooLarge") {
    return new ConversionError(
      "too-large",
      "The file is larger than SurroundYou accepts, so the upload was refused.",
      "Choose a smaller file: a shorter song, or a compressed format such as MP3.",
      { code, status },
    );
  }
  if (code === "AccessDenied" && /expired/i.test(message ?? "")) {
    return new ConversionError(
      "upload-refused",
      "The upload link expired before the upload finished.",
      "Press Try again to get a fresh link.",
      { code, status },
    );
  }
  const detail = code ? ` (${code}${message ? `: ${message}` : ""})` : ` (HTTP ${status})`;
  if (status >= 500) {
    return new ConversionError(
      "server",
      `The storage had a problem receiving the song${detail}.`,
      "Wait a moment, then press Try again.",
      { code, status },
    );
  }
  return new ConversionError(
    "upload-refused",
    `The storage refused the upload${detail}.`,
    "Press Try again; if it keeps happening, choose another file.",
    { code, status },
  );
}

/**
 * Upload `file` with the presigned POST: every field of upload.fields in order, then `file` LAST
 * (S3 ignores form fields after the file). XMLHttpRequest because fetch cannot report the bytes
 * sent. onProgress({loadedBytes, totalBytes}) follows the request body as it leaves.
 */
export function uploadFile(upload, file, { onProgress = () => {}, signal, xhrFactory = () => new XMLHttpRequest() } = {}) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append("file", file);

    const xhr = xhrFactory();
    const abortUpload = () => xhr.abort();
    const settle = (finish) => {
      signal?.removeEventListener("abort", abortUpload);
      finish();
    };
    xhr.upload.addEventListener("progress", (event) => {
      // event.total counts the whole multipart body; report it against the file's own size.
      const totalBytes = file.size;
      const loadedBytes = event.lengthComputable ? Math.round((event.loaded / event.total) * totalBytes) : 0;
      onProgress({ loadedBytes, totalBytes });
    });
    xhr.addEventListener("load", () =>
      settle(() => {
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress({ loadedBytes: file.size, totalBytes: file.size });
          resolve();
        } else {
          reject(uploadRefusedError(xhr.status, xhr.responseText));
        }
      }),
    );
    xhr.addEventListener("error", () => settle(() => reject(networkError("uploading the song"))));
    xhr.addEventListener("abort", () => settle(() => reject(abortError())));
    signal?.addEventListener("abort", abortUpload);
    xhr.open("POST", upload.url);
    xhr.send(form);
  });
}

function abortError() {
  return new DOMException("The conversion was cancelled.", "AbortError");
}

/** A setTimeout-based sleep that an AbortSignal cuts short. */
function sleep(delayMs, setTimer, clearTimer, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const onAbort = () => {
      clearTimer(timer);
      reject(abortError());
    };
    const timer = setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Delay before poll number `attempt` (0-based): initial * factor^attempt, capped. */
export function pollDelayMs(attempt, { initialDelayMs, factor, maxDelayMs } = POLL_BACKOFF) {
  return Math.min(maxDelayMs, initialDelayMs * factor ** attempt);
}

/**
 * GET {api}/jobs/{jobId} with backoff until the job is READY (resolves with the job) or FAILED
 * (rejects with the job's reason). onUpdate(job) sees every answer, so the page shows progress.
 * Network errors and 5xx answers are retried on the same schedule, up to
 * MAX_TRANSIENT_POLL_FAILURES in a row.
 */
export async function pollJob(
  apiBaseUrl,
  jobId,
  {
    onUpdate = () => {},
    signal,
    fetchFn = fetch,
    setTimer = globalThis.setTimeout.bind(globalThis),
    clearTimer = globalThis.clearTimeout.bind(globalThis),
    backoff = POLL_BACKOFF,
    maxTransientFailures = MAX_TRANSIENT_POLL_FAILURES,
  } = {},
) {
  const what = "checking on the conversion";
  const url = joinUrl(apiBaseUrl, `jobs/${encodeURIComponent(jobId)}`);
  let transientFailures = 0;
  for (let attempt = 0; ; attempt += 1) {
    await sleep(pollDelayMs(attempt, backoff), setTimer, clearTimer, signal);
    let answer;
    try {
      answer = await fetchJson(fetchFn, url, { cache: "no-store", signal }, what);
    } catch (error) {
      if (signal?.aborted) throw abortError();
      transientFailures += 1;
      if (transientFailures > maxTransientFailures) throw error;
      continue;
    }
    const { response, body: job } = answer;
    if (response.status >= 500) {
      transientFailures += 1;
      if (transientFailures > maxTransientFailures) throw serverError(response.status, job, what);
      continue;
    }
    transientFailures = 0;
    if (response.status === 404) {
      throw new ConversionError(
        "not-found",
        "SurroundYou no longer knows this conversion (it may have expired).",
        "Press Try again to convert the song again.",
        { status: 404 },
      );
    }
    if (!response.ok || !job?.status) throw serverError(response.status, job, what);
    onUpdate(job);
    if (job.status === "READY") return job;
    if (job.status === "FAILED") {
      throw new ConversionError(
        "job-failed",
        job.error?.message ?? "The conversion failed.",
        FILE_FAULT_CODES.has(job.error?.code) ? OTHER_FILE_ACTION : FAILED_JOB_ACTION,
        { code: job.error?.code ?? null },
      );
    }
  }
}
