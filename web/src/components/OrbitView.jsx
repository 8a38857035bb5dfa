import { useEffect, useState } from "react";
import { NOMINAL_TEMPO_BPM, VIEW_TILT_DEG, describeOrbit, drawnPeriodS, pointList, sourceOffsetsDeg, sourceRoute, turnsShown } from "../orbit.js";

const ORBIT_RADIUS = 78;
const SOURCE_RADIUS = 9;
// a source straight overhead is drawn this much bigger (and one below the ears smaller)
const HEIGHT_SCALE = 0.45;

/** True while the system asks for reduced motion (it may change while the page is open). */
function usePrefersReducedMotion() {
  const query = "(prefers-reduced-motion: reduce)";
  const [reduce, setReduce] = useState(() => globalThis.matchMedia?.(query).matches ?? false);
  useEffect(() => {
    const media = globalThis.matchMedia?.(query);
    if (!media) return undefined;
    const update = () => setReduce(media.matches);
    media.addEventListener("change", update);
    return () => media.removeEventListener("change", update);
  }, []);
  return reduce;
}

/**
 * One channel's source: its route drawn faintly, and a dot that moves along it (SMIL
 * animateMotion through the route's points, equal time per step, so it keeps the path's own pace),
 * growing as it rises. With reduced motion the dot rests at the start.
 */
function Source({ name, route, periodS, turns, moving, className }) {
  const radii = route.map(({ elevationRad }) => (SOURCE_RADIUS * (1 + HEIGHT_SCALE * Math.sin(elevationRad))).toFixed(2));
  const duration = `${periodS * turns}s`;
  return (
    <g data-source={name}>
      <polyline points={pointList(route)} className={`fill-none ${className.route}`} strokeWidth="1.5" />
      <circle cx={moving ? 0 : route[0].x} cy={moving ? 0 : route[0].y} r={radii[0]} className={className.dot}>
        {moving && (
          <>
            <animateMotion dur={duration} repeatCount="indefinite" calcMode="linear" values={pointList(route, ";")} />
            <animate attributeName="r" dur={duration} repeatCount="indefinite" calcMode="linear" values={radii.join(";")} />
          </>
        )}
      </circle>
    </g>
  );
}

/**
 * Top view of the listener's head with the two channels' sources on the chosen path: at its
 * speed (drawnPeriodS), in its direction, widthDeg apart. `motion` is the preset's parameters with
 * the person's choices applied: {name, path, direction, widthDeg, elevationWobbleDeg, periodS,
 * sync, beatsPerTurn}.
 */
export default function OrbitView({ motion }) {
  const reduceMotion = usePrefersReducedMotion();
  if (!motion) return null;
  const { left, right } = sourceOffsetsDeg(motion.widthDeg);
  const periodS = drawnPeriodS(motion);
  const turns = turnsShown(motion.path);
  const description = describeOrbit(motion);
  return (
    <figure className="flex flex-col items-center gap-3 rounded-xl bg-slate-950/60 p-4 ring-1 ring-slate-800 md:self-start">
      <svg
        viewBox="-110 -110 220 220"
        className="w-full max-w-48 md:max-w-64"
        aria-hidden="true"
        // what the drawing shows, for the browser tests: the path, seconds per turn, the view
        data-path={motion.path}
        data-period-s={periodS}
        data-radius={ORBIT_RADIUS}
        data-view-tilt-deg={VIEW_TILT_DEG}
        // a new path or speed restarts the animation from the front
        key={`${motion.path}-${motion.direction}-${motion.widthDeg}-${periodS}-${reduceMotion}`}
      >
        {/* the horizontal circle at ear height, as the view sees it */}
        <ellipse
          rx={ORBIT_RADIUS}
          ry={ORBIT_RADIUS * Math.sin(VIEW_TILT_DEG * (Math.PI / 180))}
          className="fill-none stroke-slate-700"
          strokeWidth="1"
          strokeDasharray="3 6"
        />
        {/* the head, nose up, ears at the sides */}
        <ellipse cx="-30" cy="0" rx="6" ry="11" className="fill-slate-300" />
        <ellipse cx="30" cy="0" rx="6" ry="11" className="fill-slate-300" />
        <path d="M -8 -30 L 0 -42 L 8 -30 Z" className="fill-slate-300" />
        <circle r="31" className="fill-slate-300" />
        <text y="5" textAnchor="middle" className="fill-slate-900 text-[13px] font-semibold">you</text>
        {[
          ["left", left, { route: "stroke-sky-300/40", dot: "fill-sky-300" }],
          ["right", right, { route: "stroke-fuchsia-300/40", dot: "fill-fuchsia-300" }],
        ].map(([name, offsetDeg, className]) => (
          <Source
            key={name}
            name={name}
            route={sourceRoute(motion, offsetDeg, ORBIT_RADIUS)}
            periodS={periodS}
            turns={turns}
            moving={!reduceMotion}
            className={className}
          />
        ))}
      </svg>
      <figcaption className="text-center text-sm text-slate-300">
        <span className="mb-2 block font-semibold text-slate-50">
          <span className="capitalize">{motion.name}</span> orbit
        </span>
        <span className="mr-4 inline-flex items-center gap-1.5">
          <span aria-hidden="true" className="inline-block size-3 rounded-full bg-sky-300" /> left channel
        </span>
        <span className="inline-flex items-center gap-1.5">
          <span aria-hidden="true" className="inline-block size-3 rounded-full bg-fuchsia-300" /> right channel
        </span>
        <span className="mt-2 block">{description}</span>
        {motion.sync === "beats" && (
          <span className="mt-1 block">Drawn at {NOMINAL_TEMPO_BPM} beats a minute; your song sets the real pace.</span>
        )}
      </figcaption>
    </figure>
  );
}
