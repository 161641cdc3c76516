// The time range controls shared by the agent's charts and the fleet overview: presets that
// follow now, what is shown, and the way back from a zoom.
import { RANGE_PRESETS, type RangePreset, type TimeWindow } from '../../store/agent-view-slice';
import { dateTime, shortDuration } from './format';

export function RangeBar({
  window: w,
  setPreset,
  resetZoom,
  fit,
  fittedFromS,
}: {
  window: TimeWindow;
  setPreset(p: RangePreset): void;
  resetZoom(): void;
  /** Offered where the range can fit a young agent's data. */
  fit?: { on: boolean; set(on: boolean): void };
  /** Where a fitted range starts (seconds), when it is fitted. */
  fittedFromS?: number | null;
}) {
  return (
    <div className="range-bar" role="toolbar" aria-label="Time range">
      <span className="range-title">Range</span>
      {(Object.keys(RANGE_PRESETS) as RangePreset[]).map((p) => (
        <button key={p} type="button" aria-pressed={!w.zoom && !w.fit && w.preset === p} onClick={() => setPreset(p)}>
          {RANGE_PRESETS[p].label}
        </button>
      ))}
      {fit && (
        <button type="button" aria-pressed={!w.zoom && w.fit} onClick={() => fit.set(true)} title="Fit the range to this agent's data when it is younger than the range">
          Fit to data
        </button>
      )}
      {w.zoom ? (
        <>
          <span className="range-zoom" data-testid="range-zoom">
            Zoomed: {dateTime(w.zoom.from * 1000)} – {dateTime(w.zoom.to * 1000)}
          </span>
          <button type="button" onClick={resetZoom}>
            Back to {w.fit ? 'the fitted range' : `last ${RANGE_PRESETS[w.preset].label}`}
          </button>
        </>
      ) : (
        <span className="muted small" data-testid="range-text">
          {fittedFromS
            ? `Live: since ${dateTime(fittedFromS * 1000).slice(11)} (the last ${shortDuration(Date.now() / 1000 - fittedFromS)}, where this agent's data starts). Drag across a chart to zoom.`
            : `Live: the last ${RANGE_PRESETS[w.preset].label}. Drag across a chart to zoom.`}
        </span>
      )}
    </div>
  );
}
