import { useCallback, useEffect, useReducer, useRef } from "react";
import { createJob } from "./jobs.js";
import { forgetJob, rememberJob } from "./lastJob.js";
import { pollJob } from "./poll.js";
import { checkFileBeforeUpload, uploadFile } from "./upload.js";

/**
 * One conversion at a time: idle -> uploading -> rendering -> ready, or -> error from any step.
 * reset() cancels whatever is under way (upload or polling) and goes back to idle.
 * `config` is loadConfig()'s: the API's URL and its rules. start(file, options) sends the job's
 * options as they are (settings.jobOptions); `preview` tells whether it is a preview.
 * A job whose song is uploaded is remembered (lastJob.js) until it fails or the person moves on
 * (reset): resume(remembered) follows it again after a reload, `resumedName` naming its song until
 * attachOriginal() says that song is chosen again.
 * One the API no longer knows (expired) is forgotten quietly. When the page loses touch with a job
 * it follows (the network, the API's 5xx), `canFollowAgain` is set and followAgain() goes on with it.
 */
export const IDLE = {
  stage: "idle",
  upload: null,
  job: null,
  error: null,
  preview: false,
  resumedName: null,
  download: null,
  pace: [], // the render's progress as seen: [{atMs, percent}] (ProgressPanel's time left)
};

/**
 * `pace` with the job's progress at `atMs` added while it renders (a new job starts a new one, and
 * so does a render taken back mid-song: the next one has a pace of its own). A percent counts from
 * when it was first seen, except the first: the pace starts when the progress first moves, since
 * until then the render may not have started (the next render after one taken back holds the
 * progress where that one left it until it passes it, which takes it most of that time).
 */
function paced(pace, before, job, atMs) {
  if (job.status !== "PROCESSING" || atMs === undefined) return pace;
  if (job.interruptedAt !== undefined) return [];
  const kept = before?.jobId === job.jobId ? pace : [];
  if (kept.at(-1)?.percent !== job.progress) return [...kept, { atMs, percent: job.progress }];
  return kept.length === 1 ? [{ atMs, percent: job.progress }] : kept;
}

/** Failures that lose touch with a job rather than end it: network down, the API failing for a while. */
const LOST_TOUCH = new Set(["network", "server"]);

/** Seconds before a READY job's download link expires (download.expiresIn) that a fresh one is asked for. */
const LINK_RENEWAL_MARGIN_S = 300;

export function reducer(state, action) {
  switch (action.type) {
    case "upload-progress":
      return { ...IDLE, stage: "uploading", upload: action.progress, preview: action.preview };
    case "job-update":
      return { ...state, stage: "rendering", job: action.job, pace: paced(state.pace, state.job, action.job, action.atMs) };
    case "resume":
      return { ...IDLE, stage: "rendering", job: action.job, preview: action.preview, resumedName: action.filename };
    case "ready":
      return { ...state, stage: "ready", job: action.job, download: action.job.download };
    case "original-chosen": // the song of a job picked up after a reload is chosen again
      return { ...state, resumedName: null };
    case "links":
      return state.stage === "ready" ? { ...state, download: action.download } : state;
    case "failed":
      return { ...state, stage: "error", error: action.error };
    case "reset":
      return IDLE;
    default:
      throw new Error(`unknown action ${action.type}`);
  }
}

/** The signal of a fresh AbortController for the one conversion under way; the previous one is aborted. */
function takeOver(controller) {
  controller.current?.abort();
  controller.current = new AbortController();
  return controller.current.signal;
}

export default function useConversion(config) {
  const [state, dispatch] = useReducer(reducer, IDLE);
  const controller = useRef(null);

  const reset = useCallback(() => {
    controller.current?.abort();
    controller.current = null;
    forgetJob();
    dispatch({ type: "reset" });
  }, []);

  /** Polls `jobId` to READY; a failure is shown unless aborted, and the job forgotten unless only touch with it was lost. */
  const follow = useCallback(
    async (jobId, signal, { quietIfUnknown = false } = {}) => {
      try {
        const done = await pollJob(config, jobId, {
          signal,
          onUpdate: (update) => dispatch({ type: "job-update", job: update, atMs: Date.now() }),
        });
        dispatch({ type: "ready", job: done });
      } catch (error) {
        if (signal.aborted) return;
        if (!LOST_TOUCH.has(error.kind)) forgetJob(); // else the job may still be rendering: a reload follows it
        dispatch(quietIfUnknown && error.kind === "not-found" ? { type: "reset" } : { type: "failed", error });
      }
    },
    [config],
  );

  const start = useCallback(
    async (file, options) => {
      const signal = takeOver(controller);
      forgetJob(); // the job before is left behind
      const preview = options.preview === true;
      dispatch({ type: "upload-progress", progress: { loadedBytes: 0, totalBytes: file.size }, preview });
      let job;
      try {
        checkFileBeforeUpload(file, config);
        job = await createJob(config, { file, options });
        await uploadFile(job.upload, file, {
          signal,
          onProgress: (progress) => dispatch({ type: "upload-progress", progress, preview }),
        });
      } catch (error) {
        if (!signal.aborted) dispatch({ type: "failed", error });
        return;
      }
      rememberJob({ jobId: job.jobId, filename: file.name, preview });
      dispatch({ type: "job-update", job: { jobId: job.jobId, status: "AWAITING_UPLOAD", progress: 0 } });
      await follow(job.jobId, signal);
    },
    [config, follow],
  );

  /** After the page lost touch with a job it followed (`canFollowAgain`): follows it again. */
  const followAgain = useCallback(() => {
    const signal = takeOver(controller);
    dispatch({ type: "job-update", job: state.job });
    return follow(state.job.jobId, signal);
  }, [state.job, follow]);

  const resume = useCallback(
    ({ jobId, filename, preview }) => {
      const signal = takeOver(controller);
      dispatch({ type: "resume", job: { jobId, status: "AWAITING_UPLOAD", progress: 0 }, preview, filename });
      return follow(jobId, signal, { quietIfUnknown: true });
    },
    [follow],
  );

  // A READY job's download link expires (an hour): a fresh one is asked for before it does, so a
  // page left open still downloads. The player keeps the first link: a new one would restart it.
  const { stage, job, download } = state;
  useEffect(() => {
    if (stage !== "ready" || !Number.isFinite(download?.expiresIn)) return undefined;
    const renewal = new AbortController();
    const timer = setTimeout(
      () =>
        pollJob(config, job.jobId, { signal: renewal.signal }).then(
          (fresh) => dispatch({ type: "links", download: fresh.download }),
          () => {}, // gone or unreachable: the link in hand is the best there is
        ),
      Math.max(30, download.expiresIn - LINK_RENEWAL_MARGIN_S) * 1000,
    );
    return () => {
      clearTimeout(timer);
      renewal.abort();
    };
  }, [config, stage, job, download]);

  useEffect(() => () => controller.current?.abort(), []);

  const attachOriginal = useCallback(() => dispatch({ type: "original-chosen" }), []);

  const canFollowAgain = state.stage === "error" && state.job !== null && LOST_TOUCH.has(state.error?.kind);
  return { ...state, start, resume, reset, followAgain, canFollowAgain, attachOriginal };
}
