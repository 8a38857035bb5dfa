import { describe, expect, it } from "vitest";
import { LAST_JOB_KEY, forgetJob, rememberJob, rememberedJob } from "./lastJob.js";

/** A Storage with localStorage's methods over a Map; `broken` makes every call throw, as blocked storage does. */
function memoryStorage({ broken = false } = {}) {
  const items = new Map();
  const guard = () => {
    if (broken) throw new DOMException("The operation is insecure.", "SecurityError");
  };
  return {
    items,
    getItem: (key) => (guard(), items.has(key) ? items.get(key) : null),
    setItem: (key, value) => (guard(), items.set(key, String(value))),
    removeItem: (key) => (guard(), items.delete(key)),
  };
}

const JOB_ID = "c".repeat(32);

describe("the conversion kept across a reload", () => {
  it("is remembered, read back and forgotten", () => {
    const storage = memoryStorage();
    expect(rememberedJob(storage)).toBeNull();
    rememberJob({ jobId: JOB_ID, filename: "Evening Walk.mp3", preview: true, extra: "dropped" }, storage);
    expect(rememberedJob(storage)).toEqual({ jobId: JOB_ID, filename: "Evening Walk.mp3", preview: true });
    rememberJob({ jobId: "d".repeat(32), filename: "Second.flac" }, storage); // the newest replaces it
    expect(rememberedJob(storage)).toEqual({ jobId: "d".repeat(32), filename: "Second.flac", preview: false });
    forgetJob(storage);
    expect(rememberedJob(storage)).toBeNull();
    expect(storage.items.size).toBe(0);
  });

  it("forgets what this page did not write: not JSON, another shape, an id that is no job id", () => {
    for (const stored of [
      "{not json",
      "42",
      JSON.stringify({ jobId: JOB_ID }),
      JSON.stringify({ jobId: "../config", filename: "a.mp3", preview: false }),
      JSON.stringify({ jobId: JOB_ID, filename: 7, preview: false }),
    ]) {
      const storage = memoryStorage();
      storage.items.set(LAST_JOB_KEY, stored);
      expect(rememberedJob(storage)).toBeNull();
      expect(storage.items.has(LAST_JOB_KEY)).toBe(false);
    }
  });

  it("is simply not kept where storage is blocked", () => {
    const storage = memoryStorage({ broken: true });
    expect(() => rememberJob({ jobId: JOB_ID, filename: "a.mp3", preview: false }, storage)).not.toThrow();
    expect(rememberedJob(storage)).toBeNull();
    expect(() => forgetJob(storage)).not.toThrow();
    expect(rememberedJob(null)).toBeNull();
  });
});
