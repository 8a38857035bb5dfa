import { forwardRef } from "react";
import ABPlayerView from "./ABPlayerView.jsx";

/** The file name a download should get: the last part of the result's outputKey ("song.8d.mp3"). */
export function downloadName(job) {
  return job.result?.outputKey?.split("/").pop() || "surroundyou.8d.mp3";
}

/**
 * What beat sync did, from the job's result: the tempo it followed, or that the song had no clear
 * beat (the orbit then kept the speed chosen); null without beat sync.
 */
export function syncNote(job) {
  const result = job.result ?? {};
  if (job.options?.sync !== "beats") return null;
  if (result.sync === "beats") {
    const tempo = Number.isFinite(result.tempoBpm) ? ` at ${Math.round(result.tempoBpm)} beats a minute` : "";
    const turn = Number.isInteger(job.options.beatsPerTurn) ? `: one turn every ${job.options.beatsPerTurn} beats` : "";
    return `The orbit followed your song's beat${tempo}${turn}.`;
  }
  if (result.sync === "no clear beat") return "Your song has no clear beat, so the orbit kept the speed you chose.";
  return null;
}

/** That samples of the song were not numbers (NaN or infinite, from a float file) and became silence; null when none were. */
export function repairNote(job) {
  const count = job.result?.nonFiniteSamples;
  if (!Number.isInteger(count) || count <= 0) return null;
  if (count === 1) return "Your file had 1 sample that was not a number (NaN or infinite); it plays as silence.";
  return `Your file had ${count.toLocaleString("en-US")} samples that were not numbers (NaN or infinite); they play as silence.`;
}

/** What to do with the result: compare it with the original (not loaded again after a reload); a preview's next step. */
export function listeningHint(job, preview, resumed) {
  if (!preview) return resumed ? "Put on headphones." : "Put on headphones and compare the two.";
  const seconds = Math.round(job.result?.durationS ?? 30);
  const then = resumed ? "Put on headphones; if you like it, choose the song again and" : "Put on headphones and compare; if you like it,";
  return `${seconds} seconds from the loudest part of your song. ${then} press Convert for the whole song.`;
}

/**
 * The result: one player switching between the original and the 8D version, and for a full
 * conversion the download link. A preview (`preview`) is 30 s from the loudest part of the song;
 * its result says where that part starts (previewStartS), so the original plays from there. A
 * result picked up after a reload (`resumedName`: its song's name) has no original to play.
 * `downloadUrl`: the download link, renewed before the one in `job` expires.
 */
const ResultPanel = forwardRef(function ResultPanel(
  { job, downloadUrl, originalUrl, resumedName = null, preview = false },
  headingRef,
) {
  const result = job.result ?? {};
  const loudness = { inputLufs: result.inputLufs, outputLufs: result.outputLufs };
  return (
    <section aria-labelledby="result-title" className="flex flex-col gap-4">
      <h2 id="result-title" ref={headingRef} tabIndex={-1} className="text-lg font-semibold text-slate-50 focus:outline-none">
        {preview ? "Your preview is ready" : "Your 8D song is ready"}
      </h2>
      <p className="text-sm text-slate-300">{listeningHint(job, preview, resumedName !== null)}</p>
      {resumedName !== null && (
        <p className="text-sm text-slate-300">
          <span className="font-medium text-slate-50">{resumedName}</span>, converted before the page was reloaded.
          Only the 8D version plays: choose the song again to compare it with the original.
        </p>
      )}
      {syncNote(job) && <p className="text-sm text-slate-300">{syncNote(job)}</p>}
      {repairNote(job) && <p className="text-sm text-slate-300">{repairNote(job)}</p>}
      <ABPlayerView
        originalUrl={originalUrl}
        processedUrl={job.download.url}
        originalOffsetS={preview ? (result.previewStartS ?? 0) : 0}
        loudness={loudness}
      />
      {!preview && (
        <div className="flex flex-wrap gap-3">
          <a
            href={downloadUrl}
            download={downloadName(job)}
            className="inline-flex items-center gap-2 rounded-lg bg-violet-600 px-5 py-2.5 font-semibold text-white hover:bg-violet-700 focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-amber-300"
          >
            <svg aria-hidden="true" viewBox="0 0 24 24" className="size-5 fill-current">
              <path d="M11 3h2v10.2l3.6-3.6 1.4 1.4-6 6-6-6 1.4-1.4 3.6 3.6V3zM5 19h14v2H5z" />
            </svg>
            Download
          </a>
        </div>
      )}
    </section>
  );
});

export default ResultPanel;
