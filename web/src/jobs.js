/** A job as the API sees it: POST {api}/jobs starts one; a FAILED one says why in words. */
import { ConversionError } from "./errors.js";
import { contentTypeOf } from "./formats.js";
import { fetchJson, joinUrl, serverError } from "./http.js";
import { CHANGE_SETTING_ACTION, FAILED_JOB_ACTION, SMALLER_FILE_ACTION, otherFileAction, retryLaterAction } from "./wording.js";

/**
 * POST {api}/jobs for `file` with the job's `options` (settings.jobOptions: the preset, format,
 * head and the person's choices). Returns {jobId, upload: {url, fields}, expiresIn}. A 400 carries
 * the API's own message (an unsupported file type, a file too large, a setting out of range),
 * shown as is; so does a 429 (this browser's address is at its limit of jobs an hour or at once),
 * with the wait from its Retry-After header.
 */
export async function createJob(config, { file, options }, { fetchFn = fetch } = {}) {
  const what = "starting the conversion";
  const request = {
    filename: file.name,
    size: file.size,
    contentType: contentTypeOf(file, config.inputFormats),
    options,
  };
  const { response, body } = await fetchJson(
    fetchFn,
    joinUrl(config.apiBaseUrl, "jobs"),
    { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request) },
    what,
  );
  if (response.status === 400) {
    const code = body?.error?.code ?? null;
    const tooLarge = code === "FileTooLarge";
    const badSetting = code === "InvalidOptions";
    throw new ConversionError(
      tooLarge ? "too-large" : "rejected",
      body?.error?.message ?? "SurroundYou cannot convert this file.",
      tooLarge ? SMALLER_FILE_ACTION : badSetting ? CHANGE_SETTING_ACTION : otherFileAction(config.inputFormats),
      { code, status: 400 },
    );
  }
  if (response.status === 429) {
    throw new ConversionError(
      "limited",
      body?.error?.message ?? "You have started too many conversions for now.",
      retryLaterAction(Number(response.headers.get("Retry-After"))),
      { code: body?.error?.code ?? null, status: 429 },
    );
  }
  if (!response.ok || !body?.jobId || !body?.upload?.url) throw serverError(response.status, body, what);
  return body;
}

/**
 * The ConversionError for a job that ended FAILED: its own message, and as the action another
 * file when its error code is one the API says blames the file (config.fileErrorCodes).
 */
export function jobFailedError(job, config) {
  const code = job.error?.code ?? null;
  return new ConversionError(
    "job-failed",
    job.error?.message ?? "The conversion failed.",
    config.fileErrorCodes.includes(code) ? otherFileAction(config.inputFormats) : FAILED_JOB_ACTION,
    { code },
  );
}
