/** Providers as this replica sees them, and how two providers agreed on a tenant's checks (shadow and consensus runs). */
import type { ChartConfiguration } from 'chart.js';
import { useMemo, useState } from 'react';
import { useQuery } from '../api';
import { ConsoleAgreementDocument, ConsoleProvidersDocument, type ConsoleAgreementQuery } from '../generated/graphql';
import { ChartView, PALETTE } from '../chart';
import { DayRange, TenantSelect } from '../fields';
import { dayEnd, dayOf, dayStart, ErrorNote, fmtMs, fmtNum, fmtPct, Loading, PageTitle } from '../ui';

export function ProvidersPage() {
  const q = useQuery(ConsoleProvidersDocument, {});
  return (
    <>
      <PageTitle>Providers</PageTitle>
      <ErrorNote error={q.error} />
      {q.loading && !q.data ? <Loading what="providers" /> : null}
      {q.data ? (
        <table className="data">
          <caption>Circuit, error rate and latency on this replica; the calibration table that maps match scores</caption>
          <thead>
            <tr>
              <th scope="col">Provider</th>
              <th scope="col">Capabilities</th>
              <th scope="col">Circuit</th>
              <th scope="col">Calls (recent)</th>
              <th scope="col">Error rate</th>
              <th scope="col">p50</th>
              <th scope="col">p95</th>
              <th scope="col">Calibration table</th>
            </tr>
          </thead>
          <tbody>
            {q.data.providers.map((p) => (
              <tr key={p.name}>
                <th scope="row">{p.name}</th>
                <td>{p.configured ? p.capabilities.join(', ') : <span className="muted">not configured</span>}</td>
                <td>
                  {p.configured ? <span className={`chip circuit-${p.circuit.toLowerCase()}`}>{p.circuit}</span> : '—'}
                  {p.consecutiveFailures ? ` (${p.consecutiveFailures} failures in a row)` : ''}
                </td>
                <td className="num">{p.calls}</td>
                <td className="num">{fmtPct(p.errorRate)}</td>
                <td className="num">{fmtMs(p.p50Ms)}</td>
                <td className="num">{fmtMs(p.p95Ms)}</td>
                <td>
                  {p.matchCalibration ? (
                    <>
                      <span className="mono">{p.matchCalibration.id}</span> — {p.matchCalibration.origin}, {p.matchCalibration.source}, {p.matchCalibration.impostorPairs} impostor pairs
                      {p.matchCalibration.whenQualityFindings ? (
                        <>
                          ; with quality findings <span className="mono">{p.matchCalibration.whenQualityFindings}</span>
                        </>
                      ) : null}
                    </>
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <Agreement />
    </>
  );
}

function Agreement() {
  const [tenantId, setTenantId] = useState('');
  const [from, setFrom] = useState(dayOf(new Date(Date.now() - 30 * 86_400_000)));
  const [to, setTo] = useState(dayOf(new Date()));
  const q = useQuery(ConsoleAgreementDocument, { tenantId, from: dayStart(from) ?? '', to: dayEnd(to) ?? '' }, !tenantId || !from || !to);
  const rows = q.data?.providerAgreement ?? [];
  return (
    <section className="panel" aria-labelledby="agree-h">
      <h2 id="agree-h">Agreement report</h2>
      <div className="row">
        <TenantSelect value={tenantId} onChange={setTenantId} none="choose a tenant…" />
        <DayRange from={from} to={to} onFrom={setFrom} onTo={setTo} />
      </div>
      <ErrorNote error={q.error} />
      {tenantId && q.data && rows.length === 0 ? <p>No check was answered by two providers in this range (add a shadow or a consensus to the policy).</p> : null}
      {rows.length ? (
        <>
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Check</th>
                <th scope="col">Providers</th>
                <th scope="col">Checks both answered</th>
                <th scope="col">Same decision</th>
                <th scope="col">Score correlation</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.check}-${r.providerA}-${r.providerB}`}>
                  <td>{r.check}</td>
                  <td>
                    {r.providerA} vs {r.providerB}
                  </td>
                  <td className="num">{r.checks}</td>
                  <td className="num">{fmtPct(r.agreement)}</td>
                  <td className="num">{fmtNum(r.scoreCorrelation)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows
            .filter((r) => r.scores.length)
            .map((r) => (
              <Scatter key={`${r.providerA}-${r.providerB}`} row={r} />
            ))}
        </>
      ) : null}
    </section>
  );
}

function Scatter({ row }: { row: ConsoleAgreementQuery['providerAgreement'][number] }) {
  const config = useMemo((): ChartConfiguration => {
    const points = (agree: boolean) => row.scores.filter((s) => s.agree === agree).map((s) => ({ x: s.a, y: s.b }));
    return {
      type: 'scatter',
      data: {
        datasets: [
          { label: 'same decision', data: points(true), backgroundColor: PALETTE.local, pointRadius: 4 },
          { label: 'different decision', data: points(false), backgroundColor: PALETTE.REJECTED, pointRadius: 5, pointStyle: 'triangle' },
        ],
      },
      options: {
        maintainAspectRatio: false,
        scales: {
          x: { min: 0, max: 1, title: { display: true, text: `${row.providerA}: unified match score` } },
          y: { min: 0, max: 1, title: { display: true, text: `${row.providerB}: unified match score` } },
        },
      },
    };
  }, [row]);
  const disagree = row.scores.filter((s) => !s.agree).length;
  return (
    <figure>
      <ChartView
        config={config}
        label={`Scatter plot of ${row.scores.length} checks: ${row.providerA}'s unified match score against ${row.providerB}'s; ${disagree} decided differently; correlation ${fmtNum(row.scoreCorrelation)}`}
      />
      <figcaption>
        Unified match scores, {row.providerA} (x) against {row.providerB} (y), one point per check.
      </figcaption>
    </figure>
  );
}
