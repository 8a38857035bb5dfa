import { useCallback, useEffect, useRef, useState } from "react";
import { loadConfig } from "./config.js";
import { rememberedJob } from "./lastJob.js";
import useConversion from "./useConversion.js";
import DropOverlay from "./components/DropOverlay.jsx";
import ErrorPanel from "./components/ErrorPanel.jsx";
import MotionControls from "./components/MotionControls.jsx";
import OrbitView from "./components/OrbitView.jsx";
import PresetPicker from "./components/PresetPicker.jsx";
import ProgressPanel, { pageTitle } from "./components/ProgressPanel.jsx";
import ResultPanel from "./components/ResultPanel.jsx";
import SongPicker from "./components/SongPicker.jsx";
import { jobOptions, motionOf } from "./settings.js";

/** Loads the settings (config.json, then the API's GET /config); `retry` starts over after a failure. */
function useSetup() {
  const [setup, setSetup] = useState({ config: null, error: null });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let current = true;
    loadConfig().then(
      (config) => current && setSetup({ config, error: null }),
      (error) => current && setSetup({ config: null, error }),
    );
    return () => {
      current = false;
    };
  }, [attempt]);
  const retry = useCallback(() => {
    setSetup({ config: null, error: null });
    setAttempt((n) => n + 1);
  }, []);
  return { ...setup, retry };
}

/**
 * The chosen song and an object URL for it (the "Original" player). The URL is made when the song
 * is chosen and released when another one is, or when the page goes away.
 */
function useChosenSong() {
  const [song, setSong] = useState({ file: null, url: null, droppedWith: 1 });
  const url = useRef(null);
  // droppedWith: how many files came with it (several dropped at once: the first is chosen)
  const choose = useCallback((file, droppedWith = 1) => {
    if (url.current) URL.revokeObjectURL(url.current);
    url.current = URL.createObjectURL(file);
    setSong({ file, url: url.current, droppedWith });
  }, []);
  useEffect(
    () => () => {
      if (url.current) URL.revokeObjectURL(url.current);
      url.current = null;
    },
    [],
  );
  return [song, choose];
}

const STATUS_TEXT = {
  idle: "",
  uploading: "Uploading your song.",
  rendering: "Your song is uploaded. Making it 8D.",
  ready: "Your 8D song is ready.",
  error: "",
};
const PREVIEW_STATUS_TEXT = { ...STATUS_TEXT, rendering: "Your song is uploaded. Making a preview.", ready: "Your preview is ready." };
const SECONDARY_BUTTON =
  "w-full rounded-lg border-2 border-violet-300 px-6 py-2.5 text-lg font-semibold text-slate-50 hover:bg-violet-950 focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-amber-300 disabled:cursor-not-allowed disabled:border-slate-700 disabled:text-slate-300 sm:w-fit";

export default function App() {
  const setup = useSetup();
  const conversion = useConversion(setup.config);
  const [{ file, url: originalUrl, droppedWith }, chooseSong] = useChosenSong();
  const [presetName, setPresetName] = useState(null);
  // the controls' values where the person changed the preset's; the head (mode) outlives a preset
  const [choices, setChoices] = useState({});
  const outcomeHeading = useRef(null);
  const songInput = useRef(null);

  const busy = conversion.stage === "uploading" || conversion.stage === "rendering";
  const config = setup.config;
  const presets = config?.presets ?? [];
  // the one picked, else the API's default
  const preset = presets.find((p) => p.name === (presetName ?? config?.defaults.preset));
  const motion = motionOf(preset, choices);
  const mode = choices.mode ?? config?.defaults.mode;
  const pickPreset = (name) => {
    setPresetName(name);
    setChoices((before) => (before.mode ? { mode: before.mode } : {}));
  };
  const choose = (name, value) => setChoices((before) => ({ ...before, [name]: value }));

  // Another song leaves the conversion behind; the same song again, by name, beside a result picked
  // up after a reload, is its original to compare with.
  const { reset: resetConversion, attachOriginal } = conversion;
  const resumedResult = conversion.stage === "ready" ? conversion.resumedName : null;
  const chooseFile = useCallback(
    (chosen, droppedWith) => {
      if (chosen.name === resumedResult) attachOriginal();
      else resetConversion();
      chooseSong(chosen, droppedWith);
    },
    [resetConversion, attachOriginal, resumedResult, chooseSong],
  );

  // Once the page is set up, pick up the conversion a reload or a closed tab left behind.
  const resumeConversion = conversion.resume;
  const pickedUp = useRef(false);
  useEffect(() => {
    if (!config || pickedUp.current) return;
    pickedUp.current = true;
    const remembered = rememberedJob();
    if (remembered) resumeConversion(remembered);
  }, [config, resumeConversion]);

  // Leaving the page loses an upload under way (a render is picked up again): the browser asks first.
  const uploading = conversion.stage === "uploading";
  useEffect(() => {
    if (!uploading) return undefined;
    const ask = (event) => event.preventDefault();
    window.addEventListener("beforeunload", ask);
    return () => window.removeEventListener("beforeunload", ask);
  }, [uploading]);

  // The tab's title follows the conversion, for a person who went to another tab meanwhile.
  const title = pageTitle(conversion.stage, conversion.upload, conversion.job, conversion.preview);
  useEffect(() => {
    document.title = title;
  }, [title]);

  // Move focus to the outcome so keyboard and screen-reader users land on it.
  useEffect(() => {
    if (conversion.stage === "ready" || conversion.stage === "error") outcomeHeading.current?.focus();
  }, [conversion.stage]);

  // Back to the form, with focus on the file input: the usual next step is another file.
  // A job the page lost touch with (the network) may still be rendering: Try again follows it again.
  const tryAgain = () => {
    if (conversion.canFollowAgain) {
      conversion.followAgain();
      return;
    }
    conversion.reset();
    songInput.current?.focus();
  };

  // Convert and "Preview 30 s" both submit the form, so the browser checks the controls' bounds first.
  const submit = (event) => {
    event.preventDefault();
    const preview = event.nativeEvent.submitter?.name === "preview";
    if (file && preset) conversion.start(file, jobOptions(config, preset, choices, { preview }));
  };

  return (
    <div className="min-h-screen bg-slate-950 text-slate-100">
      <DropOverlay onDrop={chooseFile} disabled={busy || !setup.config} />
      <header className="mx-auto max-w-5xl px-4 pt-8 pb-4 sm:px-6">
        <h1 className="text-3xl font-bold tracking-tight text-slate-50 sm:text-4xl">SurroundYou</h1>
        <p className="mt-2 text-slate-300">
          Turn a song into 8D audio that circles your head. Best with headphones.
        </p>
      </header>

      <main className="mx-auto max-w-5xl px-4 pb-12 sm:px-6">
        <p role="status" className="sr-only">
          {(conversion.preview ? PREVIEW_STATUS_TEXT : STATUS_TEXT)[conversion.stage]}
        </p>

        <div className="flex flex-col gap-6 rounded-2xl bg-slate-900/70 p-4 ring-1 ring-slate-800 sm:p-6">
          {setup.error ? (
            <ErrorPanel error={setup.error} onTryAgain={setup.retry} />
          ) : !setup.config ? (
            <p className="text-slate-300">Loading presets…</p>
          ) : (
            <form onSubmit={submit} className="flex flex-col gap-6">
              <SongPicker
                ref={songInput}
                config={setup.config}
                file={file}
                droppedWith={droppedWith}
                onChoose={chooseFile}
                disabled={busy}
              />
              {/* the orbit sits beside the presets on wide screens, right under them on a phone */}
              <div className="grid gap-6 md:grid-cols-[minmax(0,1fr)_16rem]">
                <div className="flex flex-col gap-6">
                  <PresetPicker presets={presets} selected={preset?.name} onSelect={pickPreset} disabled={busy} />
                  {motion && <MotionControls config={config} motion={motion} mode={mode} onChange={choose} disabled={busy} />}
                </div>
                <OrbitView motion={motion} />
              </div>
              <div className="flex flex-col gap-2">
                <div className="flex flex-col gap-3 sm:flex-row">
                  <button
                    type="submit"
                    name="preview"
                    disabled={!file || busy}
                    aria-describedby="preview-hint"
                    className={SECONDARY_BUTTON}
                  >
                    Preview {config.previewS} s
                  </button>
                  <button
                    type="submit"
                    name="convert"
                    disabled={!file || busy}
                    className="w-full rounded-lg bg-violet-600 px-6 py-3 text-lg font-semibold text-white hover:bg-violet-700 focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-amber-300 disabled:cursor-not-allowed disabled:bg-slate-700 disabled:text-slate-300 sm:w-fit"
                  >
                    Convert
                  </button>
                </div>
                <p id="preview-hint" className="text-sm text-slate-300">
                  {file
                    ? `The preview makes ${config.previewS} seconds from the loudest part of your song, quickly, to try these settings.`
                    : "Choose a song first."}
                </p>
              </div>
            </form>
          )}

          {busy && (
            <ProgressPanel
              stage={conversion.stage}
              upload={conversion.upload}
              job={conversion.job}
              preview={conversion.preview}
              pace={conversion.pace}
            />
          )}
          {conversion.stage === "ready" && (
            <ResultPanel
              ref={outcomeHeading}
              job={conversion.job}
              downloadUrl={conversion.download.url}
              originalUrl={conversion.resumedName === null ? originalUrl : null}
              resumedName={conversion.resumedName}
              preview={conversion.preview}
            />
          )}
          {conversion.stage === "error" && (
            <ErrorPanel ref={outcomeHeading} error={conversion.error} onTryAgain={tryAgain} />
          )}
        </div>
      </main>
    </div>
  );
}
