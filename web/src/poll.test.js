import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConversionError } from "./errors.js";
import { MAX_TRANSIENT_POLL_FAILURES, pollDelayMs, pollJob } from "./poll.js";
import { CONFIG, jsonResponse, scriptedFetch } from "./testing.js";

describe("pollJob", () => {
  const JOB_ID = "b".repeat(32);
  const job = (status, progress, extra = {}) => jsonResponse(200, { jobId: JOB_ID, status, progress, ...extra });
  const READY = {
    result: { outputKey: `processed/${JOB_ID}/song.8d.mp3`, durationS: 6.0, sizeBytes: 240000, format: "mp3" },
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
    const done = pollJob(CONFIG, JOB_ID, { fetchFn, setTimer, onUpdate: (j) => updates.push(j), ...options });
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
