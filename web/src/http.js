/** JSON over fetch, and the ConversionErrors for the ways an HTTP call fails. */
import { ConversionError } from "./errors.js";
import { CONNECTION_ACTION, WAIT_ACTION } from "./wording.js";

export function joinUrl(baseUrl, path) {
  return `${baseUrl.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

/** The server could not be reached while doing `what` ("loading the presets"). */
export function networkError(what) {
  return new ConversionError("network", `Could not reach SurroundYou while ${what}.`, CONNECTION_ACTION);
}

/** An answer that is not the one expected: the API's own message when it sent one, else the status. */
export function serverError(status, body, what) {
  const apiMessage = body?.error?.message;
  return new ConversionError(
    "server",
    apiMessage ? `SurroundYou could not finish ${what}: ${apiMessage}` : `SurroundYou had a problem while ${what} (HTTP ${status}).`,
    WAIT_ACTION,
    { code: body?.error?.code ?? null, status },
  );
}

/** fetch + JSON body -> {response, body}; a network failure becomes networkError(what). */
export async function fetchJson(fetchFn, url, init, what) {
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
