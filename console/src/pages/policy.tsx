/**
 * Policy editor: the tenant's policy as JSON, checked as you type (JSON) and by the server on save
 * (its schema issues shown inline), a diff against the stored version, what the policy can never do
 * here (warnings), history with rollback, and a replay of the change on stored checks first.
 */
import { useEffect, useMemo, useState } from 'react';
import { useMutation, useQuery } from '../api';
import { ConsolePolicyDocument, ConsoleReplayPolicyDocument, ConsoleRollbackPolicyDocument, ConsoleSetPolicyDocument } from '../generated/graphql';
import { DayRange, TenantSelect, useTenants } from '../fields';
import { Link, navigate } from '../router';
import { dayEnd, dayOf, dayStart, ErrorNote, fmtDate, Loading, PageTitle, StatusChip } from '../ui';

const pretty = (v: unknown) => JSON.stringify(v, null, 2);

export function PolicyPage({ tenantId }: { tenantId?: string }) {
  const tenants = useTenants();
  const tenant = tenants.data?.tenants.find((t) => t.id === tenantId);
  return (
    <>
      <PageTitle>Policy{tenant ? ` of ${tenant.name}` : ''}</PageTitle>
      <TenantSelect inline none="choose a tenant…" value={tenantId ?? ''} onChange={(id) => id && navigate(`/policy/${id}`)} />
      <ErrorNote error={tenants.error} />
      {tenantId ? <Editor tenantId={tenantId} /> : null}
    </>
  );
}

function Editor({ tenantId }: { tenantId: string }) {
  const q = useQuery(ConsolePolicyDocument, { tenantId });
  const save = useMutation(ConsoleSetPolicyDocument);
  const rollback = useMutation(ConsoleRollbackPolicyDocument);
  const [text, setText] = useState('');
  const current = q.data?.tenantPolicy;
  const currentText = current ? pretty(current.policy) : '';
  useEffect(() => setText(currentText), [currentText]);

  const parsed = useMemo((): { value?: Record<string, unknown>; error?: string } => {
    try {
      const v: unknown = JSON.parse(text);
      return v && typeof v === 'object' && !Array.isArray(v) ? { value: v as Record<string, unknown> } : { error: 'a policy is a JSON object' };
    } catch (e) {
      return { error: (e as Error).message };
    }
  }, [text]);
  const changed = parsed.value ? pretty(parsed.value) !== currentText : text !== currentText;
  const lastError = save.error ?? rollback.error;
  const saved = save.data?.setTenantPolicy ?? rollback.data?.rollbackTenantPolicy;

  async function onSave() {
    if (!parsed.value) return;
    rollback.reset();
    if (await save.run({ tenantId, policy: parsed.value })) q.reload();
  }
  async function onRollback(version: number) {
    save.reset();
    if (await rollback.run({ tenantId, version })) q.reload();
  }

  if (q.loading && !q.data) return <Loading what="the policy" />;
  if (q.error) return <ErrorNote error={q.error} />;
  if (!current) return null;
  const issues = save.error?.issues ?? [];
  const describedBy = ['policy-help', parsed.error ? 'policy-json-error' : '', issues.length ? 'policy-issues' : ''].filter(Boolean).join(' ');
  return (
    <>
      <section className="panel" aria-labelledby="edit-h">
        <h2 id="edit-h">
          {current.version === null || current.version === undefined ? 'Server default (no policy stored yet)' : `Version ${current.version}`}
          <span className="muted"> {current.author ? `by ${current.author}, ${fmtDate(current.createdAt)}` : ''}</span>
        </h2>
        <Warnings title="What this policy can never do on this server" warnings={current.warnings} />
        <label htmlFor="policy-json">Policy (JSON)</label>
        <textarea
          id="policy-json"
          className="code"
          spellCheck={false}
          rows={Math.min(30, Math.max(10, text.split('\n').length + 1))}
          value={text}
          aria-invalid={Boolean(parsed.error) || issues.length > 0}
          aria-describedby={describedBy}
          onChange={(e) => {
            setText(e.target.value);
            save.reset();
          }}
        />
        <p id="policy-help" className="muted">
          Fields: strategy, shadow, routes, require, onPremOnly, thresholds, quality, deadlineMs, review — see the README's Policies section.
        </p>
        {parsed.error ? (
          <p id="policy-json-error" className="error" role="alert">
            Not valid JSON: {parsed.error}
          </p>
        ) : null}
        {issues.length ? (
          <div id="policy-issues" className="error" role="alert">
            <strong>The server refused this policy:</strong>
            <ul>
              {issues.map((i, n) => (
                <li key={n}>
                  <code>{i.path || '(policy)'}</code>: {i.message}
                </li>
              ))}
            </ul>
          </div>
        ) : lastError ? (
          <ErrorNote error={lastError} />
        ) : null}
        <div className="actions">
          <button type="button" disabled={!parsed.value || !changed || save.running} onClick={onSave}>
            Save as new version
          </button>
          <button type="button" className="secondary" disabled={!changed} onClick={() => setText(currentText)}>
            Discard changes
          </button>
        </div>
        {saved && !lastError ? (
          <div role="status">
            <p>Saved as version {saved.version}: it applies to the next check.</p>
            <Warnings title="Warnings" warnings={saved.warnings} />
          </div>
        ) : null}
      </section>

      <section className="panel" aria-labelledby="diff-h">
        <h2 id="diff-h">Changes against the stored version</h2>
        {changed ? <Diff before={currentText} after={parsed.value ? pretty(parsed.value) : text} /> : <p className="muted">No changes.</p>}
      </section>

      {parsed.value ? <Replay tenantId={tenantId} policy={parsed.value} /> : null}

      <section className="panel" aria-labelledby="history-h">
        <h2 id="history-h">History</h2>
        {q.data!.policyHistory.length === 0 ? <p className="muted">No version stored yet.</p> : null}
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Author</th>
              <th scope="col">Stored</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {q.data!.policyHistory.map((p) => (
              <tr key={p.version}>
                <td>
                  {p.version}
                  {p.version === current.version ? ' (current)' : ''}
                </td>
                <td className="mono">{p.author}</td>
                <td>{fmtDate(p.createdAt)}</td>
                <td>
                  {p.version === current.version ? null : (
                    <>
                      <button type="button" className="secondary" onClick={() => setText(pretty(p.policy))}>
                        Load v{p.version} into the editor
                      </button>{' '}
                      <button type="button" disabled={rollback.running} onClick={() => onRollback(p.version!)}>
                        Roll back to v{p.version}
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}

function Warnings({ title, warnings }: { title: string; warnings: readonly string[] }) {
  if (warnings.length === 0) return null;
  return (
    <div className="warning">
      <strong>{title}:</strong>
      <ul>
        {warnings.map((w) => (
          <li key={w}>{w}</li>
        ))}
      </ul>
    </div>
  );
}

/** A line diff (longest common subsequence): policies are tens of lines. */
function Diff({ before, after }: { before: string; after: string }) {
  const lines = useMemo(() => diffLines(before.split('\n'), after.split('\n')), [before, after]);
  return (
    <pre className="diff" aria-label="Line diff: lines starting with + are added, with − removed">
      {lines.map(([op, line], i) => (
        <span key={i} className={op === '+' ? 'add' : op === '-' ? 'del' : undefined}>
          {op === '+' ? '+ ' : op === '-' ? '− ' : '  '}
          {line}
          {'\n'}
        </span>
      ))}
    </pre>
  );
}

export function diffLines(a: string[], b: string[]): Array<['+' | '-' | ' ', string]> {
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out: Array<['+' | '-' | ' ', string]> = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) out.push([' ', a[i++]]), j++;
    else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push(['-', a[i++]]);
    else out.push(['+', b[j++]]);
  }
  while (i < n) out.push(['-', a[i++]]);
  while (j < m) out.push(['+', b[j++]]);
  return out;
}

/** What the edited policy would have decided on the tenant's stored checks (no provider called, nothing written). */
function Replay({ tenantId, policy }: { tenantId: string; policy: Record<string, unknown> }) {
  const [from, setFrom] = useState(dayOf(new Date(Date.now() - 30 * 86_400_000)));
  const [to, setTo] = useState(dayOf(new Date()));
  const [asked, setAsked] = useState<{ policy: Record<string, unknown>; from: string; to: string } | null>(null);
  const r = useQuery(ConsoleReplayPolicyDocument, { tenantId, policy: asked?.policy ?? {}, from: dayStart(asked?.from ?? from) ?? '', to: dayEnd(asked?.to ?? to) ?? '' }, !asked);
  const replay = r.data?.replayPolicy;
  return (
    <section className="panel" aria-labelledby="replay-h">
      <h2 id="replay-h">Replay preview</h2>
      <p className="muted">Decides the tenant's stored checks again under the edited policy, from their stored evidence.</p>
      <div className="row">
        <DayRange from={from} to={to} onFrom={setFrom} onTo={setTo} />
        <button type="button" className="secondary" onClick={() => setAsked({ policy, from, to })}>
          Replay the edited policy
        </button>
      </div>
      <ErrorNote error={r.error}>
        {r.error?.issues.length ? (
          <ul>
            {r.error.issues.map((i, n) => (
              <li key={n}>
                <code>{i.path || '(policy)'}</code>: {i.message}
              </li>
            ))}
          </ul>
        ) : null}
      </ErrorNote>
      {asked && r.loading ? <Loading what="the replay" /> : null}
      {replay ? (
        <div role="status">
          <p>
            {replay.checks} decided checks: {replay.replayed} replayed, {replay.withoutEvidence} without evidence, <strong>{replay.changed} would change</strong>.
          </p>
          {replay.transitions.length ? (
            <table className="data">
              <caption>Old → new status</caption>
              <thead>
                <tr>
                  <th scope="col">From</th>
                  <th scope="col">To</th>
                  <th scope="col">Checks</th>
                </tr>
              </thead>
              <tbody>
                {replay.transitions.map((t) => (
                  <tr key={`${t.from}-${t.to}`}>
                    <td>
                      <StatusChip status={t.from} />
                    </td>
                    <td>
                      <StatusChip status={t.to} />
                    </td>
                    <td className="num">{t.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {replay.changedChecks.length ? (
            <ul>
              {replay.changedChecks.map((c) => (
                <li key={c.id}>
                  <Link to={`/checks/${c.id}`}>{c.id.slice(0, 8)}</Link> {c.from} → {c.to} {c.reasons.join(', ')}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
