import { fileSize } from "../wording.js";

/** What is happening now, in words and as a bar: the upload's bytes, then the job's progress. */
export function progressOf(stage, upload, job, preview = false) {
  if (stage === "uploading") {
    const percent = upload.totalBytes ? Math.floor((upload.loadedBytes / upload.totalBytes) * 100) : 0;
    return {
      title: "Uploading your song",
      detail: `${fileSize(upload.loadedBytes)} of ${fileSize(upload.totalBytes)} sent`,
      percent,
    };
  }
  if (job?.status === "PROCESSING") {
    return { title: preview ? "Making the preview" : "Making it 8D", detail: `${job.progress}% rendered`, percent: job.progress };
  }
  if (job?.status === "QUEUED") {
    return { title: "Waiting for a free worker", detail: "Your song is checked and in line.", percent: 0 };
  }
  return { title: "Checking your song", detail: "Uploaded. Making sure it is audio SurroundYou can read.", percent: 0 };
}

export default function ProgressPanel({ stage, upload, job, preview }) {
  const { title, detail, percent } = progressOf(stage, upload, job, preview);
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
