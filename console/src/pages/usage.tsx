/** Usage: checks per day (or hour) per tenant by status and provider, latency percentiles, estimated cost. */
import type { ChartConfiguration } from 'chart.js';
import { useMemo, useState } from 'react';
import { useQuery } from '../api';
import { ConsoleUsageDocument, type ConsoleUsageQuery, type UsageBucket } from '../generated/graphql';
import { ChartView, PALETTE } from '../chart';
import { DayRange, TenantSelect, useTenants } from '../fields';
import { dayEnd, dayOf, dayStart, ErrorNote, fmtCost, fmtMs, Loading, PageTitle, PROVIDERS, STATUSES } from '../ui';

type Usage = ConsoleUsageQuery['usage'];

export function UsagePage() {
  const tenants = useTenants();
  const [tenantId, setTenantId] = useState('');
  const [bucket, setBucket] = useState<UsageBucket>('DAY');
  const [from, setFrom] = useState(dayOf(new Date(Date.now() - 13 * 86_400_000)));
  const [to, setTo] = useState(dayOf(new Date()));
  const q = useQuery(ConsoleUsageDocument, { tenantId: tenantId || undefined, bucket, from: dayStart(from) ?? '', to: dayEnd(to) ?? '' }, !from || !to);
  const names = new Map(tenants.data?.tenants.map((t) => [t.id, t.name]));
  const usage = q.data?.usage;
  return (
    <>
      <PageTitle>Usage</PageTitle>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Usage range">
        <TenantSelect value={tenantId} onChange={setTenantId} none="all" />
        <DayRange from={from} to={to} onFrom={setFrom} onTo={setTo} />
        <label>
          Per
          <select value={bucket} onChange={(e) => setBucket(e.target.value as UsageBucket)}>
            <option value="DAY">day</option>
            <option value="HOUR">hour</option>
          </select>
        </label>
      </form>
      <ErrorNote error={q.error} />
      {q.loading && !usage ? <Loading what="usage" /> : null}
      {usage ? <Report usage={usage} name={(id) => names.get(id) ?? id.slice(0, 8)} /> : null}
    </>
  );
}

/** Bars stacked per bucket, one series per label that has any count (coloured by PALETTE). */
function stackedBars(labels: string[], yTitle: string, series: Array<{ label: string; data: number[] }>): ChartConfiguration {
  return {
    type: 'bar',
    data: { labels, datasets: series.filter((d) => d.data.some((n) => n > 0)).map((d) => ({ ...d, backgroundColor: PALETTE[d.label] })) },
    options: { maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: yTitle } } } },
  };
}

const bucketLabel = (iso: string, bucket: UsageBucket) => (bucket === 'DAY' ? iso.slice(0, 10) : `${iso.slice(0, 13).replace('T', ' ')}h`);

function Report({ usage, name }: { usage: Usage; name(id: string): string }) {
  const labels = useMemo(() => [...new Set(usage.rows.map((r) => bucketLabel(r.start, usage.bucket)))], [usage]);
  const sum = (pick: (r: Usage['rows'][number]) => number) =>
    labels.map((l) => usage.rows.filter((r) => bucketLabel(r.start, usage.bucket) === l).reduce((s, r) => s + pick(r), 0));
  const byStatus = useMemo(
    () => stackedBars(labels, 'checks', STATUSES.map((s) => ({ label: s, data: sum((r) => r.byStatus.find((b) => b.status === s)?.count ?? 0) }))),
    [usage, labels],
  );
  const byProvider = useMemo(
    () => stackedBars(labels, 'provider calls', PROVIDERS.map((p) => ({ label: p, data: sum((r) => r.providers.find((u) => u.provider === p)?.calls ?? 0) }))),
    [usage, labels],
  );
  const total = usage.totals.reduce((s, r) => s + r.checks, 0);
  if (total === 0) return <p>No checks in this range.</p>;
  return (
    <>
      <div className="charts">
        <figure>
          <ChartView config={byStatus} label={`Bar chart: ${total} checks per ${usage.bucket.toLowerCase()} by status, all shown tenants stacked; the numbers are in the table below`} />
          <figcaption>Checks per {usage.bucket.toLowerCase()} by status</figcaption>
        </figure>
        <figure>
          <ChartView config={byProvider} label={`Bar chart: provider calls per ${usage.bucket.toLowerCase()} by provider; the numbers are in the table below`} />
          <figcaption>Provider calls per {usage.bucket.toLowerCase()} (shadow and fallback calls included)</figcaption>
        </figure>
      </div>
      <table className="data">
        <caption>Per tenant over the range</caption>
        <thead>
          <tr>
            <th scope="col">Tenant</th>
            <th scope="col">Checks</th>
            <th scope="col">By status</th>
            <th scope="col">Reviewed</th>
            <th scope="col">p50</th>
            <th scope="col">p95</th>
            <th scope="col">Calls by provider</th>
            <th scope="col">Estimated cost</th>
          </tr>
        </thead>
        <tbody>
          {usage.totals.map((r) => (
            <tr key={r.tenantId}>
              <th scope="row">{name(r.tenantId)}</th>
              <td className="num">{r.checks}</td>
              <td>{r.byStatus.map((s) => `${s.status} ${s.count}`).join(', ')}</td>
              <td className="num">{r.reviewed}</td>
              <td className="num">{fmtMs(r.p50Ms)}</td>
              <td className="num">{fmtMs(r.p95Ms)}</td>
              <td>{r.providers.map((p) => `${p.provider} ${p.calls}${p.failedCalls ? ` (${p.failedCalls} failed)` : ''}, p50 ${fmtMs(p.p50Ms)}`).join('; ')}</td>
              <td className="num">{fmtCost(r.estimatedCost)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table className="data">
        <caption>Per {usage.bucket.toLowerCase()} and tenant</caption>
        <thead>
          <tr>
            <th scope="col">{usage.bucket === 'DAY' ? 'Day' : 'Hour'} (UTC)</th>
            <th scope="col">Tenant</th>
            <th scope="col">Checks</th>
            <th scope="col">By status</th>
            <th scope="col">p50</th>
            <th scope="col">p95</th>
            <th scope="col">Estimated cost</th>
          </tr>
        </thead>
        <tbody>
          {usage.rows.map((r) => (
            <tr key={`${r.start}-${r.tenantId}`}>
              <td>{bucketLabel(r.start, usage.bucket)}</td>
              <td>{name(r.tenantId)}</td>
              <td className="num">{r.checks}</td>
              <td>{r.byStatus.map((s) => `${s.status} ${s.count}`).join(', ')}</td>
              <td className="num">{fmtMs(r.p50Ms)}</td>
              <td className="num">{fmtMs(r.p95Ms)}</td>
              <td className="num">{fmtCost(r.estimatedCost)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">Prices per call: {usage.prices.map((p) => `${p.provider} ${p.pricePerCall ?? 'not set'}`).join(', ')} (VERIGATE_PRICE_PER_CALL).</p>
    </>
  );
}
