import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PAGE_TITLE, pageTitle, progressOf, secondsLeft, timeLeftText } from "./ProgressPanel.jsx";
import { downloadName, listeningHint, repairNote, syncNote } from "./ResultPanel.jsx";

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

  it("says a render taken back mid-song starts again, with no time left to guess", () => {
    const job = { status: "PROCESSING", progress: 45, interruptedAt: 1_700_000_000 };
    expect(progressOf("rendering", null, job, false, 20)).toEqual({
      title: "Making it 8D",
      detail: "The converter was interrupted at 45%; another one picks your song up in a moment.",
      percent: 45,
    });
  });
});

describe("the time left of a render", () => {
  it("follows the pace since the first progress seen, once it spans 3 s and 5 %", () => {
    expect(secondsLeft([])).toBeNull();
    expect(secondsLeft([{ atMs: 0, percent: 10 }, { atMs: 2000, percent: 30 }])).toBeNull(); // under 3 s
    expect(secondsLeft([{ atMs: 0, percent: 10 }, { atMs: 9000, percent: 12 }])).toBeNull(); // under 5 %
    expect(secondsLeft([{ atMs: 1000, percent: 10 }, { atMs: 5000, percent: 20 }, { atMs: 11000, percent: 30 }])).toBe(35);
  });

  it("is said roughly, and added to the progress", () => {
    expect(timeLeftText(null)).toBe("");
    expect([2, 35, 89, 91, 600].map(timeLeftText)).toEqual([
      "about 5 s left",
      "about 35 s left",
      "about 90 s left",
      "about 2 min left",
      "about 10 min left",
    ]);
    expect(progressOf("rendering", null, { status: "PROCESSING", progress: 30 }, false, 35).detail).toBe(
      "30% rendered, about 35 s left",
    );
  });
});

describe("the tab's title", () => {
  it("says how far the conversion is, for a person in another tab", () => {
    const page = readFileSync(new URL("../../index.html", import.meta.url), "utf8");
    expect(page).toContain(`<title>${PAGE_TITLE}</title>`); // the same before the app has loaded
    expect(pageTitle("idle", null, null)).toBe(PAGE_TITLE);
    expect(pageTitle("uploading", { loadedBytes: 50_000, totalBytes: 200_000 }, null)).toBe(
      "25% · Uploading your song – SurroundYou",
    );
    expect(pageTitle("rendering", null, { status: "PROCESSING", progress: 40 })).toBe("40% · Making it 8D – SurroundYou");
    expect(pageTitle("ready", null, {}, true)).toBe("Preview ready – SurroundYou");
    expect(pageTitle("error", null, null)).toBe("Failed – SurroundYou");
  });
});

describe("the download's file name", () => {
  it("is the last part of the result's outputKey", () => {
    expect(downloadName({ result: { outputKey: "processed/0123/Evening Walk.8d.mp3" } })).toBe("Evening Walk.8d.mp3");
  });
});

describe("what beat sync did", () => {
  const job = (options, result) => ({ options: { preset: "classic", ...options }, result });

  it("names the tempo followed, or says the song had no clear beat", () => {
    expect(syncNote(job({ sync: "beats", beatsPerTurn: 8 }, { sync: "beats", tempoBpm: 119.8 }))).toBe(
      "The orbit followed your song's beat at 120 beats a minute: one turn every 8 beats.",
    );
    expect(syncNote(job({ sync: "beats" }, { sync: "no clear beat" }))).toBe(
      "Your song has no clear beat, so the orbit kept the speed you chose.",
    );
  });

  it("says nothing without beat sync", () => {
    expect(syncNote(job({}, { sync: "off" }))).toBeNull();
  });
});

describe("samples that were not numbers", () => {
  it("says how many became silence, and nothing when none did", () => {
    expect(repairNote({ result: { nonFiniteSamples: 1610 } })).toBe(
      "Your file had 1,610 samples that were not numbers (NaN or infinite); they play as silence.",
    );
    expect(repairNote({ result: { nonFiniteSamples: 1 } })).toBe(
      "Your file had 1 sample that was not a number (NaN or infinite); it plays as silence.",
    );
    expect(repairNote({ result: { sizeBytes: 10 } })).toBeNull();
  });
});

describe("what to do with the result", () => {
  const job = { result: { durationS: 29.6 } };

  it("compares with the original, which a result picked up after a reload no longer has", () => {
    expect(listeningHint(job, false, false)).toBe("Put on headphones and compare the two.");
    expect(listeningHint(job, false, true)).toBe("Put on headphones.");
  });

  it("leads a preview to the whole song, through choosing it again after a reload", () => {
    expect(listeningHint(job, true, false)).toBe(
      "30 seconds from the loudest part of your song. Put on headphones and compare; if you like it, press Convert for the whole song.",
    );
    expect(listeningHint(job, true, true)).toBe(
      "30 seconds from the loudest part of your song. Put on headphones; if you like it, choose the song again and press Convert for the whole song.",
    );
  });
});
