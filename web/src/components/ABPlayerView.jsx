import { useEffect, useRef, useState } from "react";
import { ABPlayer, clockTime, matchedGains } from "../abPlayer.js";

const BUTTON =
  "rounded-lg px-4 py-2 font-semibold focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-amber-300";

/**
 * One player, two versions: Play/Pause, a position slider, and a switch between the original and
 * the 8D version that keeps the position (abPlayer.js). `originalOffsetS`: where in the song the
 * 8D version starts (a preview's window); `loudness`: {inputLufs, outputLufs} when the converter
 * reported them (the louder version is turned down to match).
 */
export default function ABPlayerView({ originalUrl, processedUrl, originalOffsetS = 0, loudness }) {
  const original = useRef(null);
  const processed = useRef(null);
  const player = useRef(null);
  const [selected, setSelected] = useState("processed");
  const [playing, setPlaying] = useState(false);
  const [positionS, setPositionS] = useState(0);
  const [durationS, setDurationS] = useState(0);
  const [problem, setProblem] = useState(null);
  const [originalPlays, setOriginalPlays] = useState(true);
  const inputLufs = loudness?.inputLufs;
  const outputLufs = loudness?.outputLufs;

  useEffect(() => {
    const media = { original: original.current, processed: processed.current };
    player.current = new ABPlayer(media, { originalOffsetS, gains: matchedGains(inputLufs, outputLufs) });
    if (!originalUrl) player.current.markUnplayable("original"); // a result picked up after a reload
    const update = () => setPositionS(Math.max(0, player.current.position()));
    const ended = () => {
      player.current.pause();
      setPlaying(false);
    };
    const loaded = () => setDurationS(media.processed.duration || 0);
    // the original is the chosen file as it is: a browser may not play its format (AIFF, say)
    const originalFailed = () => {
      player.current.markUnplayable("original");
      setSelected("processed");
      setOriginalPlays(false);
    };
    const processedFailed = () => setProblem("The 8D version could not be loaded. Reload the page, or convert again.");
    media.original.addEventListener("error", originalFailed);
    media.processed.addEventListener("error", processedFailed);
    for (const element of Object.values(media)) element.addEventListener("timeupdate", update);
    media.processed.addEventListener("ended", ended);
    media.processed.addEventListener("loadedmetadata", loaded);
    if (media.processed.readyState >= 1) loaded();
    return () => {
      for (const element of Object.values(media)) {
        element.removeEventListener("timeupdate", update);
        element.pause();
      }
      media.original.removeEventListener("error", originalFailed);
      media.processed.removeEventListener("error", processedFailed);
      media.processed.removeEventListener("ended", ended);
      media.processed.removeEventListener("loadedmetadata", loaded);
    };
  }, [originalUrl, processedUrl, originalOffsetS, inputLufs, outputLufs]);

  const togglePlay = async () => {
    if (!player.current.paused) {
      player.current.pause();
      setPlaying(false);
      return;
    }
    try {
      setProblem(null);
      await player.current.play();
      setPlaying(true);
    } catch {
      player.current.pause();
      setProblem("The browser did not start playing. Press Play again.");
    }
  };

  const choose = (side) => {
    player.current.select(side);
    setSelected(side);
  };

  return (
    <div className="flex flex-col gap-3 rounded-lg border border-slate-700 bg-slate-900 p-3">
      {/* both play together, in step; only the selected one is heard */}
      <audio ref={original} src={originalUrl} preload="auto" aria-label="Original" />
      <audio ref={processed} src={processedUrl} preload="auto" aria-label="8D version" />
      <fieldset className="flex flex-wrap items-center gap-2">
        <legend className="mb-2 text-sm font-semibold text-slate-50">Listen to</legend>
        {[
          ["original", "Original"],
          ["processed", "8D version"],
        ].map(([side, label]) => (
          <label
            key={side}
            className="cursor-pointer rounded-lg border-2 border-slate-600 px-4 py-2 font-semibold text-slate-50 hover:border-slate-400 has-disabled:cursor-not-allowed has-disabled:opacity-60 has-checked:border-violet-400 has-checked:bg-violet-950/60 has-focus-visible:outline-3 has-focus-visible:outline-offset-2 has-focus-visible:outline-amber-300"
          >
            <input
              type="radio"
              name="listen-to"
              value={side}
              checked={selected === side}
              disabled={side === "original" && (!originalUrl || !originalPlays)}
              onChange={() => choose(side)}
              className="sr-only"
            />
            {label}
          </label>
        ))}
      </fieldset>
      <div className="flex items-center gap-3">
        <button type="button" onClick={togglePlay} className={`${BUTTON} bg-slate-50 text-slate-950 hover:bg-white`}>
          {playing ? "Pause" : "Play"}
        </button>
        <input
          type="range"
          aria-label="Position"
          aria-valuetext={`${clockTime(positionS)} of ${clockTime(durationS)}`}
          min={0}
          max={durationS || 0}
          step={0.1}
          value={Math.min(positionS, durationS || 0)}
          onChange={(event) => {
            const to = Number(event.target.value);
            player.current.seek(to);
            setPositionS(to);
          }}
          className="min-w-0 flex-1 accent-violet-400"
        />
        <span className="shrink-0 text-sm tabular-nums text-slate-300">
          {clockTime(positionS)} / {clockTime(durationS)}
        </span>
      </div>
      {originalUrl && (
        <p className="text-sm text-slate-300">
          Both play in step; switching keeps your place.{" "}
          {Number.isFinite(inputLufs) && Number.isFinite(outputLufs)
            ? `Played equally loud (the song measures ${inputLufs.toFixed(1)} LUFS, the 8D version ${outputLufs.toFixed(1)} LUFS).`
            : "The 8D version is made as loud as the original."}
        </p>
      )}
      {originalUrl && !originalPlays && (
        <p className="text-sm text-slate-300">This browser cannot play your original file, so only the 8D version plays.</p>
      )}
      {problem && (
        <p role="alert" className="text-sm text-rose-200">
          {problem}
        </p>
      )}
    </div>
  );
}
