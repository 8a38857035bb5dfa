import { forwardRef } from "react";

/** The file name a download should get: the last part of the result's outputKey ("song.8d.mp3"). */
export function downloadName(job) {
  return job.result?.outputKey?.split("/").pop() || "surroundyou.8d.mp3";
}

function Player({ title, hint, src }) {
  return (
    <figure className="flex flex-col gap-2 rounded-lg border border-slate-700 bg-slate-900 p-3">
      <figcaption>
        <span className="block font-semibold text-slate-50">{title}</span>
        <span className="text-sm text-slate-300">{hint}</span>
      </figcaption>
      <audio controls preload="metadata" src={src} className="w-full" aria-label={title} />
    </figure>
  );
}

/** A/B listening (original next to the 8D result) and the download link. */
const ResultPanel = forwardRef(function ResultPanel({ job, originalUrl }, headingRef) {
  return (
    <section aria-labelledby="result-title" className="flex flex-col gap-4">
      <h2 id="result-title" ref={headingRef} tabIndex={-1} className="text-lg font-semibold text-slate-50 focus:outline-none">
        Your 8D song is ready
      </h2>
      <p className="text-sm text-slate-300">Put on headphones and compare the two.</p>
      <div className="grid gap-3 md:grid-cols-2">
        <Player title="Original" hint="As you uploaded it" src={originalUrl} />
        <Player title="8D version" hint="Circling your head" src={job.download.url} />
      </div>
      <div className="flex flex-wrap gap-3">
        <a
          href={job.download.url}
          download={downloadName(job)}
          className="inline-flex items-center gap-2 rounded-lg bg-violet-600 px-5 py-2.5 font-semibold text-white hover:bg-violet-700 focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-amber-300"
        >
          <svg aria-hidden="true" viewBox="0 0 24 24" className="size-5 fill-current">
            <path d="M11 3h2v10.2l3.6-3.6 1.4 1.4-6 6-6-6 1.4-1.4 3.6 3.6V3zM5 19h14v2H5z" />
          </svg>
          Download
        </a>
      </div>
    </section>
  );
});

export default ResultPanel;
