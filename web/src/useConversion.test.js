import { describe, expect, it } from "vitest";
import { secondsLeft } from "./components/ProgressPanel.jsx";
import { IDLE, reducer } from "./useConversion.js";

describe("the conversion's state", () => {
  const update = (state, jobId, status, progress, atMs) =>
    reducer(state, { type: "job-update", job: { jobId, status, progress }, atMs });

  it("keeps the render's pace for the time left: one sample per new percent, a new job starting over", () => {
    let state = update(IDLE, "a", "QUEUED", 0, 0);
    expect(state.pace).toEqual([]); // not rendering yet
    state = update(state, "a", "PROCESSING", 10, 1000);
    state = update(state, "a", "PROCESSING", 10, 2000); // not moved yet: the pace starts at its last sight
    state = update(state, "a", "PROCESSING", 30, 5000);
    state = update(state, "a", "PROCESSING", 30, 6000); // no news: the first time it was seen counts
    state = update(state, "a", "PROCESSING", 50, 9000);
    expect(state.pace).toEqual([
      { atMs: 2000, percent: 10 },
      { atMs: 5000, percent: 30 },
      { atMs: 9000, percent: 50 },
    ]);
    expect(update(state, "b", "PROCESSING", 5, 6000).pace).toEqual([{ atMs: 6000, percent: 5 }]);
    expect(reducer(state, { type: "reset" }).pace).toEqual([]);
  });

  it("starts the pace over when the render is taken back mid-song (Fargate Spot)", () => {
    let state = update(IDLE, "a", "PROCESSING", 10, 1000);
    state = update(state, "a", "PROCESSING", 30, 5000);
    const interrupted = { jobId: "a", status: "PROCESSING", progress: 30, interruptedAt: 1_700_000_000 };
    state = reducer(state, { type: "job-update", job: interrupted, atMs: 6000 });
    expect(state.pace).toEqual([]);
    // the next render holds 30 % until it passes it, 60 s later: its pace starts there, not at its claim
    state = update(state, "a", "PROCESSING", 30, 10_000);
    state = update(state, "a", "PROCESSING", 30, 70_000);
    state = update(state, "a", "PROCESSING", 35, 80_000);
    expect(state.pace).toEqual([
      { atMs: 70_000, percent: 30 },
      { atMs: 80_000, percent: 35 },
    ]);
    expect(secondsLeft(state.pace)).toBe(130); // 65 % at 5 % per 10 s; from its claim it would read 910
  });

  it("keeps a result picked up after a reload when its song is chosen again, as its original", () => {
    const job = { jobId: "a", status: "READY", progress: 100, download: { url: "u", expiresIn: 3600 } };
    let state = reducer(IDLE, { type: "resume", job: { jobId: "a" }, preview: false, filename: "Song.mp3" });
    state = reducer(state, { type: "ready", job });
    const chosen = reducer(state, { type: "original-chosen" });
    expect(chosen).toEqual({ ...state, resumedName: null });
    expect(state.resumedName).toBe("Song.mp3");
  });
});
