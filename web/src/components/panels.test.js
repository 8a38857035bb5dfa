import { describe, expect, it } from "vitest";
import { progressOf } from "./ProgressPanel.jsx";
import { downloadName } from "./ResultPanel.jsx";

describe("what the progress panel says", () => {
  it("counts the upload in bytes sent", () => {
    expect(progressOf("uploading", { loadedBytes: 50_000, totalBytes: 200_000 }, null)).toEqual({
      title: "Uploading your song",
      detail: "50 KB of 200 KB sent",
      percent: 25,
    });
  });

  it("checks the upload, waits while the job is queued, then follows the render's progress", () => {
    expect(progressOf("rendering", null, { status: "AWAITING_UPLOAD", progress: 0 }).title).toBe("Checking your song");
    expect(progressOf("rendering", null, { status: "QUEUED", progress: 0 }).title).toBe("Waiting for a free worker");
    expect(progressOf("rendering", null, { status: "PROCESSING", progress: 37 })).toEqual({
      title: "Making it 8D",
      detail: "37% rendered",
      percent: 37,
    });
  });
});

describe("the download's file name", () => {
  it("is the last part of the result's outputKey", () => {
    expect(downloadName({ result: { outputKey: "processed/0123/Evening Walk.8d.mp3" } })).toBe("Evening Walk.8d.mp3");
  });
});
