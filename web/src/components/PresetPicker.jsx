/** The API's presets (GET /config) as a radio group: arrow keys move between them. */
export default function PresetPicker({ presets, selected, onSelect, disabled }) {
  return (
    <fieldset className="flex flex-col gap-2" disabled={disabled}>
      <legend className="mb-2 text-lg font-semibold text-slate-50">Pick a preset</legend>
      <div className="grid gap-2 sm:grid-cols-2 md:grid-cols-1 lg:grid-cols-2">
        {presets.map((preset) => (
          <label
            key={preset.name}
            className="flex cursor-pointer gap-3 rounded-lg border-2 border-slate-700 p-3 hover:border-slate-500 has-checked:border-violet-400 has-checked:bg-violet-950/60 has-focus-visible:outline-3 has-focus-visible:outline-offset-2 has-focus-visible:outline-amber-300 has-disabled:cursor-not-allowed"
          >
            <input
              type="radio"
              name="preset"
              value={preset.name}
              checked={selected === preset.name}
              onChange={() => onSelect(preset.name)}
              className="mt-1 size-4 shrink-0 accent-violet-400 focus:outline-none"
            />
            <span className="flex flex-col">
              <span className="font-semibold capitalize text-slate-50">{preset.name}</span>
              <span className="text-sm text-slate-300">{preset.description}</span>
            </span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}
