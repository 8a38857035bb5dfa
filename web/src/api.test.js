import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ConversionError,
  DEFAULT_MAX_UPLOAD_BYTES,
  MAX_TRANSIENT_POLL_FAILURES,
  checkFileBeforeUpload,
  contentTypeOf,
  createJob,
  fetchConfig,
  formatBytes,
  listPresets,
  parseS3Error,
  pollDelayMs,
  pollJob,
  uploadFile,
} from "./api.js";

const API = "https://api.example.test/prod/";

function jsonResponse(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** A fetch that answers from a list, one answer per call; an Error in the list is thrown. */
function scriptedFetch(answers) {
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

const song = (size = 2048, name = "My Song.mp3", type = "audio/mpeg") =>
  new File([new Uint8Array(size)], name, { type });

describe("fetchConfig", () => {
  it("reads the API base URL and the upload limit from config.json", async () => {
    const { fetchFn, calls } = scriptedFetch([jsonResponse(200, { apiBaseUrl: "/api", maxUploadBytes: 1000 })]);
    expect(await fetchConfig({ fetchFn })).toEqual({ apiBaseUrl: "/api", maxUploadBytes: 1000 });
    expect(calls[0].url).toBe("config.json");
  });

  it("falls back to the API's default limit when config.json does not set one", async () => {
    const { fetchFn } = scriptedFetch([jsonResponse(200, { apiBaseUrl: "https://x.test" })]);
    expect((await fetchConfig({ fetchFn })).maxUploadBytes).toBe(DEFAULT_MAX_UPLOAD_BYTES);
  });

  it("explains a missing config.json", async () => {
    const { fetchFn } = scriptedFetch([new Response("<html>not found</html>", { status: 404 })]);
    const error = await fetchConfig({ fetchFn }).catch((e) => e);
    expect(error).toBeInstanceOf(ConversionError);
    expect(error.kind).toBe("config");
    expect(error.message).toMatch(/config\.json/);
  });
});

describe("listPresets", () => {
  it("returns the presets the API lists", async () => {
    const presets = [{ name: "classic", description: "One turn every 8 seconds.", period_s: 8, direction: "clockwise", width_deg: 60 }];
    const { fetchFn, calls } = scriptedFetch([jsonResponse(200, { presets })]);
    expect(await listPresets(API, { fetchFn })).toEqual(presets);
    expect(calls[0].url).toBe("https://api.example.test/prod/presets");
  });

  it("turns a server error into a message with the status", async () => {
    const { fetchFn } = scriptedFetch([new Response("oops", { status: 502 })]);
    const error = await listPresets(API, { fetchFn }).catch((e) => e);
    expect(error.kind).toBe("server");
    expect(error.message).toContain("HTTP 502");
  });
});

describe("createJob", () => {
  const created = {
    jobId: "a".repeat(32),
    upload: { url: "https://bucket.test/", fields: { key: "uploads/x/source.mp3" } },
    expiresIn: 900,
  };

  it("posts the file's name, size, type and the chosen preset", async () => {
    const { fetchFn, calls } = scriptedFetch([jsonResponse(201, created)]);
    const job = await createJob(API, { file: song(2048), preset: "fast" }, { fetchFn });
    expect(job).toEqual(created);
    expect(calls[0].url).toBe("https://api.example.test/prod/jobs");
    expect(calls[0].init.method).toBe("POST");
    expect(JSON.parse(calls[0].init.body)).toEqual({
      filename: "My Song.mp3",
      size: 2048,
      contentType: "audio/mpeg",
      options: { preset: "fast", format: "mp3" },
    });
  });

  it("shows the API's own 400 message and says what to do", async () => {
    const { fetchFn } = scriptedFetch([
      jsonResponse(400, { error: { code: "UnsupportedType", message: "notes.txt: only audio files can be converted" } }),
    ]);
    const error = await createJob(API, { file: song(10, "notes.txt", "text/plain"), preset: "classic" }, { fetchFn }).catch((e) => e);
    expect(error.kind).toBe("rejected");
    expect(error.status).toBe(400);
    expect(error.code).toBe("UnsupportedType");
    expect(error.message).toBe("notes.txt: only audio files can be converted");
    expect(error.action).toMatch(/Choose another song/);
  });

  it("recognises a size refusal from its code", async () => {
    const { fetchFn } = scriptedFetch([jsonResponse(400, { error: { code: "FileTooLarge", message: "The file is over 200 MB." } })]);
    const error = await createJob(API, { file: song(), preset: "classic" }, { fetchFn }).catch((e) => e);
    expect(error.kind).toBe("too-large");
    expect(error.message).toBe("The file is over 200 MB.");
  });

  it("reports a network failure as one", async () => {
    const { fetchFn } = scriptedFetch([new TypeError("Failed to fetch")]);
    const error = await createJob(API, { file: song(), preset: "classic" }, { fetchFn }).catch((e) => e);
    expect(error.kind).toBe("network");
    expect(error.action).toMatch(/internet connection/);
  });
});

describe("checking a file before upload", () => {
  it("names the type from the extension when the browser gives none", () => {
    expect(contentTypeOf(song(1, "take.FLAC", ""))).toBe("audio/flac");
    expect(contentTypeOf(song(1, "take.m4a", ""))).toBe("audio/mp4");
    expect(contentTypeOf(song(1, "take.wav", "audio/x-wav"))).toBe("audio/x-wav");
  });

  it("refuses a file over the limit before sending anything, with both sizes", () => {
    const error = (() => {
      try {
        return checkFileBeforeUpload(song(3_670_016, "long.wav", "audio/wav"), 2_097_152);
      } catch (e) {
        return e;
      }
    })();
    expect(error.kind).toBe("too-large");
    expect(error.message).toBe('"long.wav" is 3.5 MB; the limit is 2.0 MB.');
    expect(error.action).toMatch(/smaller file/);
  });

  it("refuses an empty file and lets a normal one through", () => {
    expect(() => checkFileBeforeUpload(song(0), 100)).toThrow(/is empty/);
    const ok = song(100);
    expect(checkFileBeforeUpload(ok, 100)).toBe(ok);
  });

  it("words sizes as the API's messages do (binary units)", () => {
    expect(formatBytes(999)).toBe("999 bytes");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(4_404_019)).toBe("4.2 MB");
    expect(formatBytes(209_715_200)).toBe("200 MB");
  });
});

/** Enough of XMLHttpRequest for uploadFile: records what was sent, lets the test fire events. */
class FakeXhr {
  constructor() {
    this.listeners = {};
    this.upload = { listeners: {}, addEventListener: (type, fn) => (this.upload.listeners[type] = fn) };
    this.status = 0;
    this.responseText = "";
    this.aborted = false;
  }
  addEventListener(type, fn) {
    this.listeners[type] = fn;
  }
  open(method, url) {
    this.method = method;
    this.url = url;
  }
  send(body) {
    this.body = body;
  }
  abort() {
    this.aborted = true;
    this.listeners.abort?.();
  }
  progress(loaded, total) {
    this.upload.listeners.progress({ lengthComputable: true, loaded, total });
  }
  respond(status, responseText = "") {
    this.status = status;
    this.responseText = responseText;
    this.listeners.load();
  }
}

describe("uploadFile", () => {
  const upload = {
    url: "http://127.0.0.1:9000/surroundyou-media",
    fields: { key: "uploads/abc/source.mp3", "Content-Type": "audio/mpeg", policy: "eyJ...", "x-amz-signature": "f00" },
  };

  function startUpload(file, options = {}) {
    const xhr = new FakeXhr();
    const progress = [];
    const done = uploadFile(upload, file, { xhrFactory: () => xhr, onProgress: (p) => progress.push(p), ...options });
    return { xhr, progress, done };
  }

  it("posts every presigned field in order, then the file last", async () => {
    const file = song(4000);
    const { xhr, done } = startUpload(file);
    xhr.respond(204);
    await done;
    expect(xhr.method).toBe("POST");
    expect(xhr.url).toBe(upload.url);
    const entries = [...xhr.body.entries()];
    expect(entries.map(([name]) => name)).toEqual(["key", "Content-Type", "policy", "x-amz-signature", "file"]);
    expect(entries[1][1]).toBe("audio/mpeg");
    expect(entries[4][1].name).toBe("My Song.mp3");
    expect(entries[4][1].size).toBe(4000);
  });

  it("reports the bytes sent, scaled from the multipart body to the file's size", async () => {
    const { xhr, progress, done } = startUpload(song(4000));
    // the multipart body is the file plus ~1000 bytes of fields and boundaries
    xhr.progress(1250, 5000);
    xhr.progress(5000, 5000);
    xhr.respond(204);
    await done;
    expect(progress).toEqual([
      { loadedBytes: 1000, totalBytes: 4000 },
      { loadedBytes: 4000, totalBytes: 4000 },
      { loadedBytes: 4000, totalBytes: 4000 },
    ]);
  });

  it("turns S3's EntityTooLarge refusal into a readable message", async () => {
    const { xhr, done } = startUpload(song());
    xhr.respond(
      400,
      `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed size</Message><ProposedSize>300000000</ProposedSize><MaxSizeAllowed>209715200</MaxSizeAllowed><RequestId>4442587FB7D0A2F9</RequestId></Error>`,
    );
    const error = await done.catch((e) => e);
    expect(error.kind).toBe("too-large");
    expect(error.code).toBe("EntityTooLarge");
    expect(error.status).toBe(400);
    expect(error.message).toBe("The file is larger than SurroundYou accepts, so the upload was refused.");
    expect(error.action).toMatch(/smaller file/);
  });

  it("explains an expired upload link", async () => {
    const { xhr, done } = startUpload(song());
    xhr.respond(403, "<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message></Error>");
    const error = await done.catch((e) => e);
    expect(error.kind).toBe("upload-refused");
    expect(error.message).toBe("The upload link expired before the upload finished.");
  });

  it("quotes any other refusal's code and message", async () => {
    const { xhr, done } = startUpload(song());
    xhr.respond(403, "<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy Condition failed</Message></Error>");
    const error = await done.catch((e) => e);
    expect(error.message).toBe("The storage refused the upload (AccessDenied: Invalid according to Policy: Policy Condition failed).");
  });

  it("tells a storage failure (5xx) from a refusal", async () => {
    const { xhr, done } = startUpload(song());
    xhr.respond(503, "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
    const error = await done.catch((e) => e);
    expect(error.kind).toBe("server");
    expect(error.message).toBe("The storage had a problem receiving the song (SlowDown: Please reduce your request rate.).");
    expect(error.action).toBe("Wait a moment, then press Try again.");
  });

  it("reports a dropped connection as a network error", async () => {
    const { xhr, done } = startUpload(song());
    xhr.listeners.error();
    const error = await done.catch((e) => e);
    expect(error.kind).toBe("network");
    expect(error.message).toBe("Could not reach SurroundYou while uploading the song.");
  });

  it("stops the upload when the signal aborts", async () => {
    const controller = new AbortController();
    const { xhr, done } = startUpload(song(), { signal: controller.signal });
    controller.abort();
    const error = await done.catch((e) => e);
    expect(xhr.aborted).toBe(true);
    expect(error.name).toBe("AbortError");
  });

  it("parses S3 error XML, and gives nulls for anything else", () => {
    expect(parseS3Error("<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>")).toEqual({
      code: "SlowDown",
      message: "Reduce your request rate.",
    });
    expect(parseS3Error("")).toEqual({ code: null, message: null });
  });
});

describe("pollJob", () => {
  const JOB_ID = "b".repeat(32);
  const job = (status, progress, extra = {}) => jsonResponse(200, { jobId: JOB_ID, status, progress, ...extra });
  const READY = {
    result: { key: `processed/${JOB_ID}/song.8d.mp3`, durationS: 6.0, sizeBytes: 240000, format: "mp3" },
    download: { url: "http://127.0.0.1:9000/song.8d.mp3?sig", expiresIn: 3600 },
  };

  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** Starts polling with the fake clock and records each delay it asked for. */
  function startPolling(answers, options = {}) {
    const { fetchFn, calls } = scriptedFetch(answers);
    const delays = [];
    const updates = [];
    const setTimer = (fn, ms) => {
      delays.push(ms);
      return setTimeout(fn, ms);
    };
    const done = pollJob(API, JOB_ID, { fetchFn, setTimer, onUpdate: (j) => updates.push(j), ...options });
    done.catch(() => {}); // observed by each test; keeps Node from calling it unhandled meanwhile
    return { done, calls, delays, updates };
  }

  it("backs off 500 ms x1.5 up to 4 s", () => {
    const delays = Array.from({ length: 9 }, (_, attempt) => pollDelayMs(attempt));
    expect(delays).toEqual([500, 750, 1125, 1687.5, 2531.25, 3796.875, 4000, 4000, 4000]);
  });

  it("polls on that schedule, shows progress, and stops at READY", async () => {
    const { done, calls, delays, updates } = startPolling([
      job("QUEUED", 0),
      job("PROCESSING", 10),
      job("PROCESSING", 60),
      job("READY", 100, READY),
    ]);
    await vi.advanceTimersByTimeAsync(499);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe(`https://api.example.test/prod/jobs/${JOB_ID}`);
    await vi.advanceTimersByTimeAsync(750 + 1125 + 1687.5);
    const finished = await done;
    expect(finished.download.url).toBe(READY.download.url);
    expect(delays).toEqual([500, 750, 1125, 1687.5]);
    expect(updates.map((u) => [u.status, u.progress])).toEqual([
      ["QUEUED", 0],
      ["PROCESSING", 10],
      ["PROCESSING", 60],
      ["READY", 100],
    ]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(4); // nothing after READY
  });

  it("rejects with the job's own reason when it FAILED", async () => {
    const { done, calls } = startPolling([
      job("QUEUED", 0),
      job("FAILED", 0, { error: { code: "InvalidUpload", message: "notes.mp3: this is not an audio file we can read" } }),
    ]);
    await vi.advanceTimersByTimeAsync(500 + 750);
    const error = await done.catch((e) => e);
    expect(error).toBeInstanceOf(ConversionError);
    expect(error.kind).toBe("job-failed");
    expect(error.code).toBe("InvalidUpload");
    expect(error.message).toBe("notes.mp3: this is not an audio file we can read");
    expect(error.action).toBe("Choose another song (MP3, WAV, FLAC, OGG or M4A) and try again.");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(2);
  });

  it("suggests trying again when the failure was not the file's fault", async () => {
    const { done } = startPolling([
      job("FAILED", 40, { error: { code: "ConverterStopped", message: "The converter stopped unexpectedly." } }),
    ]);
    await vi.advanceTimersByTimeAsync(500);
    const error = await done.catch((e) => e);
    expect(error.message).toBe("The converter stopped unexpectedly.");
    expect(error.action).toBe("Press Try again, then Convert once more; if it fails again, wait a few minutes.");
  });

  it("rides out a few network errors and 5xx answers", async () => {
    const { done, calls, updates } = startPolling([
      new TypeError("Failed to fetch"),
      new Response("Service Unavailable", { status: 503 }),
      new TypeError("Failed to fetch"),
      job("PROCESSING", 40),
      new TypeError("Failed to fetch"),
      job("READY", 100, READY),
    ]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect((await done).status).toBe("READY");
    expect(calls).toHaveLength(6);
    expect(updates.map((u) => u.status)).toEqual(["PROCESSING", "READY"]);
  });

  it("gives up after too many network errors in a row", async () => {
    const failures = Array.from({ length: MAX_TRANSIENT_POLL_FAILURES + 1 }, () => new TypeError("Failed to fetch"));
    const { done, calls } = startPolling(failures);
    await vi.advanceTimersByTimeAsync(60_000);
    const error = await done.catch((e) => e);
    expect(error.kind).toBe("network");
    expect(error.message).toBe("Could not reach SurroundYou while checking on the conversion.");
    expect(calls).toHaveLength(MAX_TRANSIENT_POLL_FAILURES + 1);
  });

  it("says so when the job is unknown (404)", async () => {
    const { done } = startPolling([jsonResponse(404, { error: { code: "NotFound", message: "no such job" } })]);
    await vi.advanceTimersByTimeAsync(500);
    const error = await done.catch((e) => e);
    expect(error.kind).toBe("not-found");
    expect(error.action).toMatch(/Try again/);
  });

  it("stops polling when the signal aborts", async () => {
    const controller = new AbortController();
    const { done, calls } = startPolling([job("QUEUED", 0), job("QUEUED", 0)], { signal: controller.signal });
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toHaveLength(1);
    controller.abort();
    const error = await done.catch((e) => e);
    expect(error.name).toBe("AbortError");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(1);
  });
});
