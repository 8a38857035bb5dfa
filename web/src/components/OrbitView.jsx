import { describeOrbit, pointOnOrbit, sourceAzimuthsDeg } from "../orbit.js";

const ORBIT_RADIUS = 78;
const SOURCE_RADIUS = 9;

/** An arrow head on the orbit at `azimuthDeg`, pointing along the direction of travel. */
function DirectionArrow({ azimuthDeg, clockwise }) {
  const { x, y } = pointOnOrbit(azimuthDeg, ORBIT_RADIUS);
  const heading = azimuthDeg + (clockwise ? 90 : -90);
  return (
    <path
      d="M -7 -5 L 7 0 L -7 5 Z"
      transform={`translate(${x} ${y}) rotate(${heading - 90})`}
      className="fill-slate-400"
    />
  );
}

/**
 * Top view of the listener's head with the preset's two sources circling it: one turn every
 * periodS, in the preset's direction, widthDeg apart. The spin is a CSS animation, so
 * prefers-reduced-motion stops it (motion-reduce:) and leaves the arrows to tell the direction.
 */
export default function OrbitView({ preset }) {
  if (!preset) return null;
  const clockwise = preset.direction !== "counterclockwise";
  const { left, right } = sourceAzimuthsDeg(preset.widthDeg);
  const leftPoint = pointOnOrbit(left, ORBIT_RADIUS);
  const rightPoint = pointOnOrbit(right, ORBIT_RADIUS);
  const description = describeOrbit(preset);
  return (
    <figure className="flex flex-col items-center gap-3 rounded-xl bg-slate-950/60 p-4 ring-1 ring-slate-800 md:self-start">
      <svg viewBox="-110 -110 220 220" className="w-full max-w-48 md:max-w-64" aria-hidden="true">
        <circle r={ORBIT_RADIUS} className="fill-none stroke-slate-600" strokeWidth="2" strokeDasharray="4 6" />
        {[45, 135, 225, 315].map((azimuthDeg) => (
          <DirectionArrow key={azimuthDeg} azimuthDeg={azimuthDeg} clockwise={clockwise} />
        ))}
        {/* the head, nose up, ears at the sides */}
        <ellipse cx="-30" cy="0" rx="6" ry="11" className="fill-slate-300" />
        <ellipse cx="30" cy="0" rx="6" ry="11" className="fill-slate-300" />
        <path d="M -8 -30 L 0 -42 L 8 -30 Z" className="fill-slate-300" />
        <circle r="31" className="fill-slate-300" />
        <text y="5" textAnchor="middle" className="fill-slate-900 text-[13px] font-semibold">you</text>
        <g
          className="origin-[0_0] animate-orbit transform-view motion-reduce:animate-none"
          style={{
            animationDuration: `${preset.periodS}s`,
            animationDirection: clockwise ? "normal" : "reverse",
          }}
        >
          <circle cx={leftPoint.x} cy={leftPoint.y} r={SOURCE_RADIUS} className="fill-sky-300" />
          <circle cx={rightPoint.x} cy={rightPoint.y} r={SOURCE_RADIUS} className="fill-fuchsia-300" />
        </g>
      </svg>
      <figcaption className="text-center text-sm text-slate-300">
        <span className="mb-2 block font-semibold text-slate-50">
          <span className="capitalize">{preset.name}</span> orbit
        </span>
        <span className="mr-4 inline-flex items-center gap-1.5">
          <span aria-hidden="true" className="inline-block size-3 rounded-full bg-sky-300" /> left channel
        </span>
        <span className="inline-flex items-center gap-1.5">
          <span aria-hidden="true" className="inline-block size-3 rounded-full bg-fuchsia-300" /> right channel
        </span>
        <span className="mt-2 block">{description}</span>
      </figcaption>
    </figure>
  );
}
