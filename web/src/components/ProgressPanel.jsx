import { fileSize } from "../wording.js";

/**
 * Seconds left of a render, from its progress as the page saw it ([{atMs, percent}], oldest
 * first): the pace since the first sample, once it spans at least 3 s and 5 %; else null.
 */
export function secondsLeft(samples) {
  if (samples.length < 2) return null;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const spanS = (last.atMs - first.atMs) / 1000;
  const done = last.percent - first.percent;
  if (spanS < 3 || done < 5) return null;
  return ((100 - last.percent) * spanS) / done;
}

/** "about 40 s left", "about 3 min left"; "" when there is no estimate. */
export function timeLeftText(seconds) {
  if (seconds === null || !Number.isFinite(seconds)) return "";
  if (seconds < 90) return `about ${Math.max(5, Math.round(seconds / 5) * 5)} s left`;
  return `about ${Math.round(seconds / 60)} min left`;
}

/** What is happening now, in words and as a bar: the upload's bytes, then the job's progress. */
export function progressOf(stage, upload, job, preview = false, leftS = null) {
  if (stage === "uploading") {
    const percent = upload.totalBytes ? Math.floor((upload.loadedBytes / upload.totalBytes) * 100) : 0;
    return {
      title: "Uploading your song",
      detail: `${fileSize(upload.loadedBytes)} of ${fileSize(upload.totalBytes)} sent`,
      percent,
    };
  }
  if (job?.status === "PROCESSING" && job.interruptedAt !== undefined) {
    return {
      title: preview ? "Making the preview" : "Making it 8D",
      detail: `The converter was interrupted at ${job.progress}%; another one picks your song up in a moment.`,
      percent: job.progress,
    };
  }
  if (job?.status === "PROCESSING") {
    const left = timeLeftText(leftS);
    return {
      title: preview ? "Making the preview" : "Making it 8D",
      detail: left ? `${job.progress}% rendered, ${left}` : `${job.progress}% rendered`,
      percent: job.progress,
    };
  }
  if (job?.status === "QUEUED") {
    return { title: "Waiting for a free worker", detail: "Your song is checked and in line.", percent: 0 };
  }
  return { title: "Checking your song", detail: "Uploaded. Making sure it is audio SurroundYou can read.", percent: 0 };
}

export const PAGE_TITLE = "SurroundYou – 8D audio converter";

/**
 * The tab's title: the page's own, or how far the conversion is (seen from another tab): "40% ·
 * Making it 8D – SurroundYou", "Ready – SurroundYou", "Failed – SurroundYou".
 */
export function pageTitle(stage, upload, job, preview = false) {
  if (stage === "uploading" || stage === "rendering") {
    const { title, percent } = progressOf(stage, upload, job, preview);
    return `${percent}% · ${title} – SurroundYou`;
  }
  if (stage === "ready") return `${preview ? "Preview ready" : "Ready"} – SurroundYou`;
  if (stage === "error") return "Failed – SurroundYou";
  return PAGE_TITLE;
}

/** `pace`: the render's progress samples ([{atMs, percent}]), for the time left. */
export default function ProgressPanel({ stage, upload, job, preview, pace = [] }) {
  const { title, detail, percent } = progressOf(stage, upload, job, preview, secondsLeft(pace));
  return (
    <section aria-labelledby="progress-title" className="flex flex-col gap-3">
      <h2 id="progress-title" className="text-lg font-semibold text-slate-50">
        {title}
      </h2>
      <div
        role="progressbar"
        aria-labelledby="progress-title"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        className="h-3 overflow-hidden rounded-full bg-slate-800 ring-1 ring-slate-600"
      >
        <div className="h-full rounded-full bg-violet-400 transition-[width] duration-300 motion-reduce:transition-none" style={{ width: `${percent}%` }} />
      </div>
      <p className="text-sm text-slate-300">{detail}</p>
    </section>
  );
}
