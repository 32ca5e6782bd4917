/** One check, its decision explained: who answered what, each number against its threshold, every attempt. Never an image. */
import { useQuery } from '../api';
import { ConsoleCheckDocument, type ConsoleCheckQuery } from '../generated/graphql';
import { Link } from '../router';
import { ErrorNote, fmtDate, fmtFmr, fmtMs, fmtNum, fmtPct, Loading, PageTitle, QUALITY_FINDINGS, REASON_TEXT, ReasonChips, StatusChip } from '../ui';
import { ReviewForm } from './review';

type Check = NonNullable<ConsoleCheckQuery['check']>;

export function CheckPage({ id }: { id: string }) {
  const q = useQuery(ConsoleCheckDocument, { id });
  const c = q.data?.check;
  return (
    <>
      <p className="crumbs">
        <Link to="/checks">← Checks</Link>
      </p>
      <PageTitle>Check {id.slice(0, 8)}</PageTitle>
      <ErrorNote error={q.error} />
      {q.loading && !q.data ? <Loading what="the check" /> : null}
      {q.data && !c ? <p role="alert">No check with this id.</p> : null}
      {c ? <CheckDetail c={c} onReviewed={q.reload} /> : null}
    </>
  );
}

function CheckDetail({ c, onReviewed }: { c: Check; onReviewed(): void }) {
  const findings = c.reasons.filter((r) => QUALITY_FINDINGS.includes(r));
  return (
    <>
      <section aria-labelledby="summary" className="panel">
        <h2 id="summary">Outcome</h2>
        <dl className="facts">
          <dt>Status (automated)</dt>
          <dd>
            <StatusChip status={c.status} />
          </dd>
          <dt>Final status</dt>
          <dd>
            <StatusChip status={c.finalStatus} /> {c.review ? `reviewed: ${c.review.decision} at ${fmtDate(c.review.at)}` : 'not reviewed'}
          </dd>
          <dt>Reasons</dt>
          <dd>
            <ReasonChips reasons={c.reasons} />
          </dd>
          <dt>Tenant</dt>
          <dd>{c.tenant ? <Link to={`/tenants/${c.tenant.id}`}>{c.tenant.name}</Link> : c.tenantId}</dd>
          <dt>Kind</dt>
          <dd>{c.kind}</dd>
          <dt>Reference id</dt>
          <dd>{c.referenceId ?? '—'}</dd>
          <dt>Created</dt>
          <dd>{fmtDate(c.createdAt)}</dd>
          <dt>Completed</dt>
          <dd>
            {fmtDate(c.completedAt)}
            {c.completedAt ? ` (${fmtMs(Date.parse(c.completedAt) - Date.parse(c.createdAt))})` : ''}
          </dd>
          <dt>Full id</dt>
          <dd className="mono">{c.id}</dd>
        </dl>
        {c.review ? (
          <p className="note">
            <strong>Reviewer's note:</strong> {c.review.note} <span className="muted">(key {c.review.reviewerKeyId.slice(0, 8)})</span>
          </p>
        ) : null}
      </section>

      <section aria-labelledby="explained" className="panel">
        <h2 id="explained">Decision explained</h2>
        <ul className="explain">
          {c.faceMatch ? (
            <li>
              <strong>Face match</strong> by <b>{c.faceMatch.provider}</b>: FMR {fmtFmr(c.faceMatch.fmr)} {c.faceMatch.fmr <= c.faceMatch.threshold ? '≤' : '>'} accept threshold{' '}
              {fmtFmr(c.faceMatch.threshold)} → {c.faceMatch.matched ? 'matched' : 'not accepted as a match'}. Score {fmtNum(c.faceMatch.score)}, match level {c.faceMatch.matchLevel}/10. FMR from
              the <span className="mono">{c.faceMatch.calibrationTable ?? 'unrecorded'}</span> table ({c.faceMatch.fmrSource === 'MEASURED' ? 'measured on labelled pairs' : 'documented default, not a measurement'}
              {c.faceMatch.fmrExtrapolated ? '; extrapolated beyond what it measured' : ''}).
            </li>
          ) : (
            <li>
              <strong>Face match</strong>: no number (not asked, or no provider answered).
            </li>
          )}
          {c.liveness ? (
            <li>
              <strong>Liveness</strong> by <b>{c.liveness.provider}</b>: score {fmtNum(c.liveness.score)} {c.liveness.score >= c.liveness.threshold ? '≥' : '<'} threshold {fmtNum(c.liveness.threshold, 2)} →{' '}
              {c.liveness.live ? 'live' : 'not live'}. APCER at this score {c.liveness.apcer === null || c.liveness.apcer === undefined ? 'unknown (no liveness table)' : fmtPct(c.liveness.apcer)}
              {c.liveness.maxApcer !== null && c.liveness.maxApcer !== undefined ? `; the policy accepts APCER ≤ ${fmtPct(c.liveness.maxApcer)}` : ''}.
            </li>
          ) : (
            <li>
              <strong>Liveness</strong>: no score (not asked, or the face could not be judged).
            </li>
          )}
          <li>
            <strong>Quality findings</strong>: {findings.length ? findings.map((f) => `${f} (${REASON_TEXT[f]})`).join('; ') : 'none'}.
          </li>
          {c.reasons
            .filter((r) => !QUALITY_FINDINGS.includes(r))
            .map((r) => (
              <li key={r}>
                <strong>{r}</strong>: {REASON_TEXT[r] ?? 'see the reason codes in the README'}.
              </li>
            ))}
        </ul>
      </section>

      <section aria-labelledby="attempts" className="panel">
        <h2 id="attempts">Provider calls</h2>
        <table className="data">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Provider</th>
              <th scope="col">Role</th>
              <th scope="col">Asked for</th>
              <th scope="col">Outcome</th>
              <th scope="col">Latency</th>
              <th scope="col">Error</th>
              <th scope="col">Raw numbers</th>
            </tr>
          </thead>
          <tbody>
            {c.attempts.map((a, i) => (
              <tr key={i}>
                <td>{i + 1}</td>
                <td>{a.provider}</td>
                <td>{a.role}</td>
                <td>{a.answers.join(', ') || '—'}</td>
                <td>
                  <span className={`chip outcome-${a.outcome.toLowerCase()}`}>{a.outcome}</span>
                </td>
                <td className="num">{fmtMs(a.latencyMs)}</td>
                <td>{a.errorCode ?? '—'}</td>
                <td>
                  <pre className="raw">{JSON.stringify(a.raw)}</pre>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section aria-labelledby="digests" className="panel">
        <h2 id="digests">Images (SHA-256 only: images are never stored)</h2>
        <dl className="facts mono">
          {Object.entries(c.imageDigests)
            .filter(([k, v]) => k !== '__typename' && v)
            .map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
        </dl>
      </section>

      {!c.review && c.status !== 'PENDING' ? (
        <section aria-labelledby="review" className="panel">
          <h2 id="review">Review</h2>
          {c.status !== 'INCONCLUSIVE' ? <p className="muted">Only INCONCLUSIVE checks can be reviewed, unless the tenant's policy sets review.anyStatus.</p> : null}
          <ReviewForm id={c.id} onDone={onReviewed} />
        </section>
      ) : null}
    </>
  );
}
