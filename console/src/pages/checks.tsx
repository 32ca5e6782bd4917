/** Checks explorer: filters, cursor paging (newest first), status and reason chips. */
import { useState, type FormEvent } from 'react';
import { useQuery } from '../api';
import { ConsoleChecksDocument, type CheckFilterInput, type CheckStatus, type ProviderName } from '../generated/graphql';
import { DayRange, TenantSelect } from '../fields';
import { Link } from '../router';
import { dayEnd, dayStart, ErrorNote, fmtDate, fmtFmr, Loading, PageTitle, PROVIDERS, ReasonChips, STATUSES, StatusChip } from '../ui';

const PAGE = 20;

interface Filters {
  status: string;
  provider: string;
  tenantId: string;
  referenceId: string;
  from: string;
  to: string;
}
const EMPTY: Filters = { status: '', provider: '', tenantId: '', referenceId: '', from: '', to: '' };

function toInput(f: Filters): CheckFilterInput {
  return {
    status: (f.status || undefined) as CheckStatus | undefined,
    provider: (f.provider || undefined) as ProviderName | undefined,
    tenantId: f.tenantId || undefined,
    referenceId: f.referenceId.trim() || undefined,
    from: dayStart(f.from),
    to: dayEnd(f.to),
  };
}

export function ChecksPage() {
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  // cursors of the pages before this one (the first page has none)
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const after = cursors[cursors.length - 1];
  const checks = useQuery(ConsoleChecksDocument, { filter: toInput(applied), first: PAGE, after });
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setDraft({ ...draft, [k]: e.target.value });

  function apply(e: FormEvent) {
    e.preventDefault();
    setApplied(draft);
    setCursors([undefined]);
  }
  const page = checks.data?.checks;

  return (
    <>
      <PageTitle>Checks</PageTitle>
      <form className="filters" onSubmit={apply} aria-label="Filter checks">
        <label>
          Status
          <select value={draft.status} onChange={set('status')}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Provider
          <select value={draft.provider} onChange={set('provider')}>
            <option value="">any</option>
            {PROVIDERS.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <TenantSelect value={draft.tenantId} onChange={(tenantId) => setDraft({ ...draft, tenantId })} none="any" />
        <label>
          Reference id
          <input value={draft.referenceId} onChange={set('referenceId')} maxLength={256} />
        </label>
        <DayRange from={draft.from} to={draft.to} onFrom={(from) => setDraft({ ...draft, from })} onTo={(to) => setDraft({ ...draft, to })} />
        <div className="actions">
          <button type="submit">Apply filters</button>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setDraft(EMPTY);
              setApplied(EMPTY);
              setCursors([undefined]);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <ErrorNote error={checks.error} />
      {checks.loading && !page ? <Loading what="checks" /> : null}
      {page ? (
        <>
          <table className="data">
            <caption className="visually-hidden">Checks, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Tenant</th>
                <th scope="col">Reference</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Reasons</th>
                <th scope="col">Provider</th>
                <th scope="col">FMR</th>
                <th scope="col">Check</th>
              </tr>
            </thead>
            <tbody>
              {page.edges.length === 0 ? (
                <tr>
                  <td colSpan={9} className="muted">
                    No checks match these filters.
                  </td>
                </tr>
              ) : (
                page.edges.map(({ node: c }) => (
                  <tr key={c.id}>
                    <td>{fmtDate(c.createdAt)}</td>
                    <td>{c.tenant?.name ?? c.tenantId}</td>
                    <td>{c.referenceId ?? <span className="muted">—</span>}</td>
                    <td>{c.kind}</td>
                    <td>
                      <StatusChip status={c.status} />
                      {c.review ? <StatusChip status={c.finalStatus} label="reviewed:" /> : null}
                    </td>
                    <td>
                      <ReasonChips reasons={c.reasons} />
                    </td>
                    <td>{c.provider ?? '—'}</td>
                    <td className="num">{fmtFmr(c.faceMatch?.fmr)}</td>
                    <td>
                      <Link to={`/checks/${c.id}`} aria-label={`Open check ${c.id}`}>
                        {c.id.slice(0, 8)}
                      </Link>
                    </td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
          <div className="pager">
            <button type="button" className="secondary" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous page
            </button>
            <span role="status">Page {cursors.length}</span>
            <button type="button" className="secondary" disabled={!page.pageInfo.hasNextPage} onClick={() => setCursors([...cursors, page.pageInfo.endCursor ?? undefined])}>
              Next page
            </button>
          </div>
        </>
      ) : null}
    </>
  );
}
