/**
 * Sending the song to storage: a check before anything is sent, then the presigned POST the API
 * issued, straight to S3, with the bytes sent reported as they leave.
 */
import { ConversionError, abortError } from "./errors.js";
import { networkError } from "./http.js";
import { SMALLER_FILE_ACTION, WAIT_ACTION, fileSize, otherFileAction } from "./wording.js";

/** Refuse a file before sending anything when it is empty or over the API's limit. Returns the file. */
export function checkFileBeforeUpload(file, config) {
  if (file.size === 0) {
    throw new ConversionError("rejected", `"${file.name}" is empty.`, otherFileAction(config.inputFormats));
  }
  if (file.size > config.maxUploadBytes) {
    throw new ConversionError(
      "too-large",
      `"${file.name}" is ${fileSize(file.size)}; the limit is ${fileSize(config.maxUploadBytes)}.`,
      SMALLER_FILE_ACTION,
    );
  }
  return file;
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
      SMALLER_FILE_ACTION,
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
    return new ConversionError("server", `The storage had a problem receiving the song${detail}.`, WAIT_ACTION, { code, status });
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
