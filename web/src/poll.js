/** Following a job until it is READY or FAILED: GET {api}/jobs/{jobId} with backoff. */
import { ConversionError, abortError } from "./errors.js";
import { fetchJson, joinUrl, serverError } from "./http.js";
import { jobFailedError } from "./jobs.js";

/** Polling schedule: 500 ms, then x1.5 each time, never more than 4 s apart. */
export const POLL_BACKOFF = { initialDelayMs: 500, factor: 1.5, maxDelayMs: 4000 };

/** Consecutive transient failures (network down, 5xx) tolerated while polling before giving up. */
export const MAX_TRANSIENT_POLL_FAILURES = 4;

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
 * Poll the job until it is READY (resolves with the job view) or FAILED (rejects with
 * jobFailedError). onUpdate(job) sees every answer, so the page shows progress. Network errors and
 * 5xx answers are retried on the same schedule, up to MAX_TRANSIENT_POLL_FAILURES in a row.
 */
export async function pollJob(
  config,
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
  const url = joinUrl(config.apiBaseUrl, `jobs/${encodeURIComponent(jobId)}`);
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
    if (job.status === "FAILED") throw jobFailedError(job, config);
  }
}
