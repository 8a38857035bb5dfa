import { useCallback, useEffect, useReducer, useRef } from "react";
import { createJob } from "./jobs.js";
import { pollJob } from "./poll.js";
import { checkFileBeforeUpload, uploadFile } from "./upload.js";

/**
 * One conversion at a time: idle -> uploading -> rendering -> ready, or -> error from any step.
 * reset() cancels whatever is under way (upload or polling) and goes back to idle.
 * `config` is loadConfig()'s: the API's URL and its rules. start(file, options) sends the job's
 * options as they are (settings.jobOptions); `preview` tells whether it is a preview.
 */
const IDLE = { stage: "idle", upload: null, job: null, error: null, preview: false };

function reducer(state, action) {
  switch (action.type) {
    case "upload-progress":
      return { ...IDLE, stage: "uploading", upload: action.progress, preview: action.preview };
    case "job-update":
      return { ...state, stage: "rendering", job: action.job };
    case "ready":
      return { ...state, stage: "ready", job: action.job };
    case "failed":
      return { ...state, stage: "error", error: action.error };
    case "reset":
      return IDLE;
    default:
      throw new Error(`unknown action ${action.type}`);
  }
}

export default function useConversion(config) {
  const [state, dispatch] = useReducer(reducer, IDLE);
  const controller = useRef(null);

  const reset = useCallback(() => {
    controller.current?.abort();
    controller.current = null;
    dispatch({ type: "reset" });
  }, []);

  const start = useCallback(
    async (file, options) => {
      controller.current?.abort();
      const current = new AbortController();
      controller.current = current;
      const { signal } = current;
      const preview = options.preview === true;
      dispatch({ type: "upload-progress", progress: { loadedBytes: 0, totalBytes: file.size }, preview });
      try {
        checkFileBeforeUpload(file, config);
        const job = await createJob(config, { file, options });
        await uploadFile(job.upload, file, {
          signal,
          onProgress: (progress) => dispatch({ type: "upload-progress", progress, preview }),
        });
        dispatch({ type: "job-update", job: { jobId: job.jobId, status: "AWAITING_UPLOAD", progress: 0 } });
        const done = await pollJob(config, job.jobId, {
          signal,
          onUpdate: (update) => dispatch({ type: "job-update", job: update }),
        });
        dispatch({ type: "ready", job: done });
      } catch (error) {
        if (!signal.aborted) dispatch({ type: "failed", error });
      }
    },
    [config],
  );

  useEffect(() => () => controller.current?.abort(), []);

  return { ...state, start, reset };
}
