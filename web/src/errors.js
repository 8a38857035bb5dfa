/**
 * The one kind of failure the page shows: what went wrong (`message`) and what the person can do
 * about it (`action`).
 */

/**
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

/** What an AbortSignal turns a cancelled upload or poll into (not shown: the person asked for it). */
export function abortError() {
  return new DOMException("The conversion was cancelled.", "AbortError");
}
