import { forwardRef } from "react";
import { acceptAttribute, formatNames } from "../formats.js";
import { fileSize } from "../wording.js";

/**
 * The file input, labelled "Choose a song". The input itself is visually hidden but stays in the
 * tab order; its label looks like a button and shows the focus ring when the input has focus.
 * The formats it offers and the size limit it names are the API's (`config` from GET /config).
 * `droppedWith`: how many files were dropped with the chosen one (it is the first of them).
 */
const SongPicker = forwardRef(function SongPicker({ config, file, droppedWith = 1, onChoose, disabled }, inputRef) {
  return (
    <div className="flex flex-col gap-2">
      <input
        ref={inputRef}
        id="song"
        type="file"
        accept={acceptAttribute(config.inputFormats)}
        className="peer sr-only"
        disabled={disabled}
        aria-describedby="song-hint"
        onChange={(event) => {
          const chosen = event.target.files?.[0];
          if (chosen) onChoose(chosen);
          event.target.value = ""; // choosing the same file again still fires change
        }}
      />
      <label
        htmlFor="song"
        className="inline-flex w-fit cursor-pointer items-center gap-2 rounded-lg border-2 border-slate-400 px-4 py-2.5 font-semibold text-slate-50 hover:border-slate-200 hover:bg-slate-800 peer-focus-visible:outline-3 peer-focus-visible:outline-offset-2 peer-focus-visible:outline-amber-300 peer-disabled:cursor-not-allowed peer-disabled:opacity-60"
      >
        <svg aria-hidden="true" viewBox="0 0 24 24" className="size-5 fill-current">
          <path d="M12 3v10.6A4 4 0 1 0 14 17V7h4V3h-6z" />
        </svg>
        Choose a song
      </label>
      <p id="song-hint" className="text-sm text-slate-300">
        {file ? (
          <>
            <span className="font-medium text-slate-50">{file.name}</span> · {fileSize(file.size)}
            {droppedWith > 1 && ` – one song at a time: the first of the ${droppedWith} files you dropped.`}
          </>
        ) : (
          `${formatNames(config.inputFormats)}, up to ${fileSize(config.maxUploadBytes)} – or drop the file anywhere on this page.`
        )}
      </p>
    </div>
  );
});

export default SongPicker;
