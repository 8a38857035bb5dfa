import { useEffect, useState } from "react";

function carriesFiles(event) {
  return Array.from(event.dataTransfer?.types ?? []).includes("Files");
}

/**
 * Lets a person drop a song anywhere on the page; while a file is dragged over the window a
 * full-page hint shows where it will go. Dropping is ignored while `disabled`. Of several files
 * dropped the first is chosen: onDrop(file, how many were dropped).
 */
export default function DropOverlay({ onDrop, disabled }) {
  const [dragging, setDragging] = useState(false);

  useEffect(() => {
    // dragenter/dragleave fire for every child element crossed: count them to know when the
    // pointer really left the window.
    let depth = 0;
    const enter = (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth += 1;
      setDragging(!disabled);
    };
    const over = (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault(); // without this the browser opens the file instead of dropping it here
      event.dataTransfer.dropEffect = disabled ? "none" : "copy";
    };
    const leave = () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const drop = (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth = 0;
      setDragging(false);
      const files = event.dataTransfer.files ?? [];
      if (files.length && !disabled) onDrop(files[0], files.length);
    };
    window.addEventListener("dragenter", enter);
    window.addEventListener("dragover", over);
    window.addEventListener("dragleave", leave);
    window.addEventListener("drop", drop);
    return () => {
      window.removeEventListener("dragenter", enter);
      window.removeEventListener("dragover", over);
      window.removeEventListener("dragleave", leave);
      window.removeEventListener("drop", drop);
    };
  }, [onDrop, disabled]);

  if (!dragging) return null;
  return (
    <div className="pointer-events-none fixed inset-0 z-10 flex items-center justify-center bg-slate-950/85 p-6">
      <p className="rounded-2xl border-4 border-dashed border-violet-300 px-8 py-12 text-center text-2xl font-semibold text-slate-50">
        Drop the song to choose it
      </p>
    </div>
  );
}
