import { periodWords, speedStops, STRENGTH_STEP, strengthWords } from "../settings.js";

const FIELD = "flex flex-col gap-1";
const LABEL = "font-semibold text-slate-50";
const HINT = "text-sm text-slate-300";
const CONTROL =
  "rounded-lg border-2 border-slate-600 bg-slate-900 px-3 py-2 text-slate-50 focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-amber-300 disabled:cursor-not-allowed";

/** A labelled <select> of {value, name, description} choices, the chosen one's description under it. */
function Choice({ id, label, value, choices, onChange }) {
  const chosen = choices.find((choice) => choice.value === value);
  return (
    <div className={FIELD}>
      <label htmlFor={id} className={LABEL}>
        {label}
      </label>
      <select id={id} value={value} onChange={(event) => onChange(event.target.value)} aria-describedby={`${id}-hint`} className={CONTROL}>
        {choices.map((choice) => (
          <option key={choice.value} value={choice.value}>
            {choice.name}
          </option>
        ))}
      </select>
      <p id={`${id}-hint`} className={HINT}>
        {chosen?.description}
      </p>
    </div>
  );
}

/** A labelled range input; `valueText` is what a screen reader says, `hint` the text under it. */
function Slider({ id, label, min, max, step, value, valueText, hint, onChange }) {
  return (
    <div className={FIELD}>
      <label htmlFor={id} className={LABEL}>
        {label}
      </label>
      <input
        id={id}
        type="range"
        min={min}
        max={max}
        step={step}
        value={value}
        aria-valuetext={valueText}
        aria-describedby={`${id}-hint`}
        onChange={(event) => onChange(Number(event.target.value))}
        className="accent-violet-400"
      />
      <p id={`${id}-hint`} className={HINT}>
        {hint}
      </p>
    </div>
  );
}

const capitalised = (name) => name.charAt(0).toUpperCase() + name.slice(1);
const PATH_NAMES = { figure8: "Figure-eight" };

/**
 * The controls beyond the preset: path, beat sync with beats per turn, speed, strength, the fades,
 * room and head. The choices and bounds are the API's (GET /config: paths, rooms, heads, optionRanges); `motion` is
 * the preset with the person's choices applied, `onChange(name, value)` changes one of them.
 */
export default function MotionControls({ config, motion, mode, onChange, disabled }) {
  const periodRange = config.optionRanges.periodS;
  const beatsRange = config.optionRanges.beatsPerTurn;
  const strengthRange = config.optionRanges.intensity;
  const fadeRanges = { fadeInS: config.optionRanges.fadeInS, fadeOutS: config.optionRanges.fadeOutS };
  const stops = speedStops(periodRange, motion.periodS);
  const beatSync = motion.sync === "beats";
  return (
    <fieldset className="flex flex-col gap-4" disabled={disabled}>
      <legend className="mb-2 text-lg font-semibold text-slate-50">Shape the motion</legend>
      <div className="grid gap-4 sm:grid-cols-2">
        <Choice
          id="path"
          label="Path"
          value={motion.path}
          choices={config.paths.map((path) => ({ value: path.name, name: PATH_NAMES[path.name] ?? capitalised(path.name), description: path.description }))}
          onChange={(value) => onChange("path", value)}
        />
        {/* right = faster: the stops run from the shortest period, so the slider reads them backwards */}
        <Slider
          id="speed"
          label="Speed"
          min={0}
          max={stops.length - 1}
          step={1}
          value={stops.length - 1 - stops.indexOf(motion.periodS)}
          valueText={periodWords(motion.periodS)}
          hint={`${periodWords(motion.periodS)}${beatSync ? ", only if the song has no clear beat." : "."}`}
          onChange={(index) => onChange("periodS", stops[stops.length - 1 - index])}
        />
        <div className={FIELD}>
          <span className="flex items-center gap-2">
            <input
              id="sync"
              type="checkbox"
              checked={beatSync}
              onChange={(event) => onChange("sync", event.target.checked ? "beats" : "off")}
              aria-describedby="sync-hint"
              className="size-4 accent-violet-400 focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-amber-300"
            />
            <label htmlFor="sync" className={LABEL}>
              Follow the beat
            </label>
          </span>
          <p id="sync-hint" className={HINT}>
            The orbit finds your song&apos;s tempo and starts each turn on a beat.
          </p>
          {beatSync && (
            <span className="mt-1 flex items-center gap-2">
              <label htmlFor="beats-per-turn" className={LABEL}>
                Beats per turn
              </label>
              <input
                id="beats-per-turn"
                type="number"
                required
                min={beatsRange.min}
                max={beatsRange.max}
                step={1}
                value={motion.beatsPerTurn}
                onChange={(event) => onChange("beatsPerTurn", event.target.value === "" ? "" : Number(event.target.value))}
                aria-describedby="beats-hint"
                className={`${CONTROL} w-24`}
              />
              <span id="beats-hint" className={HINT}>
                {beatsRange.min} to {beatsRange.max}
              </span>
            </span>
          )}
        </div>
        <Slider
          id="strength"
          label="Strength"
          min={strengthRange.min}
          max={strengthRange.max}
          step={STRENGTH_STEP}
          value={motion.intensity}
          valueText={strengthWords(motion.intensity)}
          hint={`${strengthWords(motion.intensity)}. Lower it for a gentler effect.`}
          onChange={(intensity) => onChange("intensity", intensity)}
        />
        <div className={FIELD}>
          <span className={LABEL}>Fades</span>
          <span className="flex flex-wrap items-center gap-2">
            {[
              ["fadeInS", "fade-in", "Fade in"],
              ["fadeOutS", "fade-out", "Fade out"],
            ].map(([name, id, word]) => (
              <span key={id} className="flex items-center gap-2">
                <label htmlFor={id} className="text-slate-50">
                  {word}
                </label>
                <input
                  id={id}
                  type="number"
                  required
                  min={fadeRanges[name].min}
                  max={fadeRanges[name].max}
                  step={0.5}
                  value={motion[name]}
                  onChange={(event) => onChange(name, event.target.value === "" ? "" : Number(event.target.value))}
                  aria-describedby="fades-hint"
                  className={`${CONTROL} w-24`}
                />
              </span>
            ))}
          </span>
          <p id="fades-hint" className={HINT}>
            Seconds, {fadeRanges.fadeInS.min} to {fadeRanges.fadeInS.max}: the effect grows out of the original song at the start and
            melts back into it at the end.
          </p>
        </div>
        <Choice
          id="room"
          label="Room"
          value={motion.room}
          choices={config.rooms.map((room) => ({ value: room.name, name: capitalised(room.name), description: room.description }))}
          onChange={(value) => onChange("room", value)}
        />
        <Choice
          id="head"
          label="Head"
          value={mode}
          choices={config.heads.map((head) => ({ value: head.mode, name: head.name, description: head.description }))}
          onChange={(value) => onChange("mode", value)}
        />
      </div>
    </fieldset>
  );
}
