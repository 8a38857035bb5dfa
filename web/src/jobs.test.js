import { describe, expect, it } from "vitest";
import { createJob, jobFailedError } from "./jobs.js";
import { API_RULES, CONFIG, jsonResponse, scriptedFetch, song } from "./testing.js";

describe("createJob", () => {
  const created = {
    jobId: "a".repeat(32),
    upload: { url: "https://bucket.test/", fields: { key: "uploads/x/source.mp3" } },
    expiresIn: 900,
  };

  it("posts the file's name, size, type and the job's options as given", async () => {
    const { fetchFn, calls } = scriptedFetch([jsonResponse(201, created)]);
    const job = await createJob(CONFIG, { file: song(2048), options: { preset: "fast", format: "mp3", mode: "spherical" } }, { fetchFn });
    expect(job).toEqual(created);
    expect(calls[0].url).toBe("https://api.example.test/prod/jobs");
    expect(calls[0].init.method).toBe("POST");
    expect(JSON.parse(calls[0].init.body)).toEqual({
      filename: "My Song.mp3",
      size: 2048,
      contentType: "audio/mpeg",
      options: { preset: "fast", format: "mp3", mode: "spherical" },
    });
  });

  it("announces the API's content type for the extension when the browser gives none", async () => {
    const { fetchFn, calls } = scriptedFetch([jsonResponse(201, created)]);
    const options = { preset: "classic", format: "flac", mode: "hrtf" };
    await createJob(CONFIG, { file: song(10, "take.m4a", ""), options }, { fetchFn });
    const request = JSON.parse(calls[0].init.body);
    expect(request.contentType).toBe("audio/mp4");
    expect(request.options).toEqual({ preset: "classic", format: "flac", mode: "hrtf" });
  });

  it("shows the API's own 400 message and says what to do", async () => {
    const { fetchFn } = scriptedFetch([
      jsonResponse(400, { error: { code: "UnsupportedFileType", message: "notes.txt: only audio files can be converted" } }),
    ]);
    const error = await createJob(CONFIG, { file: song(10, "notes.txt", "text/plain"), options: { preset: "classic" } }, { fetchFn }).catch((e) => e);
    expect(error.kind).toBe("rejected");
    expect(error.status).toBe(400);
    expect(error.code).toBe("UnsupportedFileType");
    expect(error.message).toBe("notes.txt: only audio files can be converted");
    expect(error.action).toBe("Choose another song (MP3, WAV, FLAC, OGG or M4A) and try again.");
  });

  it("asks to change a setting when the API refuses the options", async () => {
    const message = "Option beatsPerTurn must be a whole number from 2 to 64.";
    const { fetchFn } = scriptedFetch([jsonResponse(400, { error: { code: "InvalidOptions", message } })]);
    const options = { preset: "classic", sync: "beats", beatsPerTurn: 65 };
    const error = await createJob(CONFIG, { file: song(), options }, { fetchFn }).catch((e) => e);
    expect([error.kind, error.code, error.message]).toEqual(["rejected", "InvalidOptions", message]);
    expect(error.action).toBe("Press Try again, change the setting it names, and convert once more.");
  });

  it("recognises a size refusal from its code", async () => {
    const { fetchFn } = scriptedFetch([jsonResponse(400, { error: { code: "FileTooLarge", message: "The file is 204 MB; the limit is 200 MB." } })]);
    const error = await createJob(CONFIG, { file: song(), options: { preset: "classic" } }, { fetchFn }).catch((e) => e);
    expect(error.kind).toBe("too-large");
    expect(error.message).toBe("The file is 204 MB; the limit is 200 MB.");
    expect(error.action).toMatch(/smaller file/);
  });

  it("shows a client's limit in the API's words, with when to try again", async () => {
    const message =
      "You already have 3 songs being uploaded or converted, the most at once. Please wait until one is done; " +
      "an upload that did not finish stops counting 30 minutes after it started.";
    const limited = jsonResponse(429, { error: { code: "TooManyOpenJobs", message } });
    limited.headers.set("Retry-After", "60");
    const hourly = jsonResponse(429, { error: { code: "TooManyJobs", message: "You have started 30 conversions this hour." } });
    hourly.headers.set("Retry-After", "1500");
    const { fetchFn } = scriptedFetch([limited, hourly]);
    const open = await createJob(CONFIG, { file: song(), options: { preset: "classic" } }, { fetchFn }).catch((e) => e);
    expect([open.kind, open.status, open.code, open.message]).toEqual(["limited", 429, "TooManyOpenJobs", message]);
    expect(open.action).toBe("Try again in a minute.");
    const perHour = await createJob(CONFIG, { file: song(), options: { preset: "classic" } }, { fetchFn }).catch((e) => e);
    expect(perHour.action).toBe("Try again in about 25 minutes.");
  });

  it("reports a network failure as one", async () => {
    const { fetchFn } = scriptedFetch([new TypeError("Failed to fetch")]);
    const error = await createJob(CONFIG, { file: song(), options: { preset: "classic" } }, { fetchFn }).catch((e) => e);
    expect(error.kind).toBe("network");
    expect(error.action).toMatch(/internet connection/);
  });
});

describe("a failed job", () => {
  const failed = (code) => ({ jobId: "c".repeat(32), status: "FAILED", error: { code, message: `failed: ${code}` } });

  it("asks for another file when the API's fileErrorCodes blame the file", () => {
    for (const code of API_RULES.fileErrorCodes) {
      const error = jobFailedError(failed(code), CONFIG);
      expect(error.kind).toBe("job-failed");
      expect(error.code).toBe(code);
      expect(error.message).toBe(`failed: ${code}`);
      expect(error.action).toBe("Choose another song (MP3, WAV, FLAC, OGG or M4A) and try again.");
    }
  });

  it("takes those codes from the config, not from a list of its own", () => {
    const config = { ...CONFIG, fileErrorCodes: ["SomethingNew"] };
    expect(jobFailedError(failed("SomethingNew"), config).action).toMatch(/^Choose another song/);
    expect(jobFailedError(failed("DecodeFailed"), config).action).toMatch(/^Press Try again/);
    expect(jobFailedError(failed("DECODE_FAILED"), CONFIG).action).toMatch(/^Press Try again/); // the old name
  });

  it("says something even when the job gives no reason", () => {
    const error = jobFailedError({ status: "FAILED" }, CONFIG);
    expect(error.message).toBe("The conversion failed.");
    expect(error.code).toBe(null);
    expect(error.action).toMatch(/^Press Try again/);
  });
});
