import { forwardRef } from "react";

/** What went wrong, what to do about it, and a way to try again without reloading. */
const ErrorPanel = forwardRef(function ErrorPanel({ error, onTryAgain }, headingRef) {
  // A ConversionError carries both parts; anything else is a bug, still told plainly.
  const message = error?.message || "Something unexpected went wrong.";
  const action = error?.action || "Press Try again. If it keeps happening, reload the page.";
  return (
    <section role="alert" aria-labelledby="error-title" className="flex flex-col gap-3 rounded-lg border-2 border-rose-400 bg-rose-950/60 p-4">
      <h2 id="error-title" ref={headingRef} tabIndex={-1} className="text-lg font-semibold text-rose-100 focus:outline-none">
        That did not work
      </h2>
      <p className="text-slate-50">{message}</p>
      <p className="text-slate-200">{action}</p>
      <button
        type="button"
        onClick={onTryAgain}
        className="w-fit rounded-lg bg-slate-50 px-5 py-2.5 font-semibold text-slate-950 hover:bg-white focus-visible:outline-3 focus-visible:outline-offset-2 focus-visible:outline-amber-300"
      >
        Try again
      </button>
    </section>
  );
});

export default ErrorPanel;
