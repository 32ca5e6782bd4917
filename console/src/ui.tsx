/** Small shared pieces: chips, errors, headings, formatting. */
import { useEffect, useRef, type ReactNode } from 'react';
import type { ApiError } from './api';
import { hasNavigated } from './router';
import type { CheckStatus, ReasonCode } from './generated/graphql';

export const STATUSES: CheckStatus[] = ['ACCEPTED', 'REJECTED', 'INCONCLUSIVE', 'ERROR', 'PENDING'];
export const PROVIDERS = ['local', 'facia', 'rekognition'] as const;

export function StatusChip({ status, label }: { status: string; label?: string }) {
  return <span className={`chip status-${status.toLowerCase()}`}>{label ? `${label} ` : ''}{status}</span>;
}

/** What each reason means, for the chips' titles and the decision explained. */
export const REASON_TEXT: Partial<Record<ReasonCode, string>> = {
  FACE_MISMATCH: 'the FMR is above the inconclusive threshold: different people',
  MATCH_INCONCLUSIVE: 'the FMR lies between the accept and the inconclusive thresholds',
  EVIDENCE_MISSING: 'a required check has no number from a provider that decides it',
  LIVENESS_FAILED: 'the liveness score is below the threshold',
  PROVIDER_DISAGREEMENT: 'consensus members decided differently',
  FACE_TOO_SMALL: 'quality: the face is small (eyes under 55 px apart)',
  BLURRY: 'quality: the aligned face is blurred',
  EXTREME_POSE: 'quality: the face is turned far from frontal',
  INSUFFICIENT_CONTEXT: 'quality: the frame cuts the face box',
  NO_FACE: 'no face was found',
  MULTIPLE_FACES: 'more than one face where one was expected',
  TIMEOUT: 'no provider answered before the deadline',
};
export const QUALITY_FINDINGS: ReasonCode[] = ['FACE_TOO_SMALL', 'BLURRY', 'EXTREME_POSE', 'INSUFFICIENT_CONTEXT'];

export function ReasonChips({ reasons }: { reasons: readonly string[] }) {
  if (reasons.length === 0) return <span className="muted">none</span>;
  return (
    <span className="chips">
      {reasons.map((r) => (
        <span key={r} className="chip reason" title={REASON_TEXT[r as ReasonCode]}>
          {r}
        </span>
      ))}
    </span>
  );
}

export function ErrorNote({ error, children }: { error: ApiError | null; children?: ReactNode }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <strong>{error.code}</strong>: {error.message}
      {children}
    </div>
  );
}

/** The page's heading: focused when the console moved to this page (as a page load would put the reader at its start). */
export function PageTitle({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (hasNavigated()) ref.current?.focus();
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

export const fmtDate = (iso: string | null | undefined) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) + 'Z' : '—');
export const fmtFmr = (x: number | null | undefined) => (x === null || x === undefined ? '—' : x.toExponential(2));
export const fmtMs = (x: number | null | undefined) => (x === null || x === undefined ? '—' : `${Math.round(x)} ms`);
export const fmtPct = (x: number | null | undefined) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)} %`);
export const fmtNum = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? '—' : x.toFixed(digits));
export const fmtCost = (x: number | null | undefined) => (x === null || x === undefined ? 'unknown (no price)' : x.toFixed(4));

/** `YYYY-MM-DD` of a date (UTC), for <input type="date">. */
export const dayOf = (d: Date) => d.toISOString().slice(0, 10);
/** The start of a `YYYY-MM-DD` day (UTC) as ISO, or undefined for an empty field. */
export const dayStart = (s: string) => (s ? new Date(`${s}T00:00:00Z`).toISOString() : undefined);
/** The end of a `YYYY-MM-DD` day (UTC): the next day's start, as ISO. */
export const dayEnd = (s: string) => (s ? new Date(new Date(`${s}T00:00:00Z`).getTime() + 86_400_000).toISOString() : undefined);
