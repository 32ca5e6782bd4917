/** Tenants: create; per tenant its provider, API keys (secret shown once), limits, retention, and erasing a subject. */
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '../api';
import {
  ConsoleCreateApiKeyDocument,
  ConsoleCreateTenantDocument,
  ConsoleEraseSubjectDocument,
  ConsoleProviderNamesDocument,
  ConsoleRevokeApiKeyDocument,
  ConsoleSetTenantLimitsDocument,
  ConsoleSetTenantProviderDocument,
  ConsoleTenantDocument,
  ConsoleTenantsDocument,
  type ConsoleTenantQuery,
  type ProviderName,
  type TenantLimitsInput,
} from '../generated/graphql';
import { Link, navigate } from '../router';
import { ErrorNote, fmtDate, Loading, PageTitle } from '../ui';

function useConfiguredProviders(): ProviderName[] {
  const q = useQuery(ConsoleProviderNamesDocument, {});
  return q.data?.providers.filter((p) => p.configured).map((p) => p.name) ?? [];
}

export function TenantsPage() {
  const tenants = useQuery(ConsoleTenantsDocument, {});
  const providers = useConfiguredProviders();
  const create = useMutation(ConsoleCreateTenantDocument);
  const [name, setName] = useState('');
  const [provider, setProvider] = useState('');
  async function submit(e: FormEvent) {
    e.preventDefault();
    const made = await create.run({ name: name.trim(), provider: (provider || undefined) as ProviderName | undefined });
    if (made) navigate(`/tenants/${made.createTenant.id}`);
  }
  return (
    <>
      <PageTitle>Tenants</PageTitle>
      <form className="panel row" onSubmit={submit} aria-labelledby="new-tenant">
        <h2 id="new-tenant">New tenant</h2>
        <label>
          Name
          <input required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Provider
          <select value={provider} onChange={(e) => setProvider(e.target.value)}>
            <option value="">server default</option>
            {providers.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={create.running || !name.trim()}>
          Create tenant
        </button>
        <ErrorNote error={create.error} />
      </form>
      <ErrorNote error={tenants.error} />
      {tenants.loading && !tenants.data ? <Loading what="tenants" /> : null}
      {tenants.data ? (
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Provider</th>
              <th scope="col">Created</th>
              <th scope="col">Policy</th>
            </tr>
          </thead>
          <tbody>
            {tenants.data.tenants.map((t) => (
              <tr key={t.id}>
                <td>
                  <Link to={`/tenants/${t.id}`}>{t.name}</Link>
                </td>
                <td>{t.provider ?? 'several (policy)'}</td>
                <td>{fmtDate(t.createdAt)}</td>
                <td>
                  <Link to={`/policy/${t.id}`} aria-label={`Edit policy of ${t.name}`}>
                    Edit policy
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}

export function TenantPage({ id }: { id: string }) {
  const q = useQuery(ConsoleTenantDocument, { id });
  const t = q.data?.tenant;
  return (
    <>
      <p className="crumbs">
        <Link to="/tenants">← Tenants</Link>
      </p>
      <PageTitle>Tenant {t?.name ?? ''}</PageTitle>
      <ErrorNote error={q.error} />
      {q.loading && !q.data ? <Loading what="the tenant" /> : null}
      {q.data && !t ? <p role="alert">No tenant with this id.</p> : null}
      {t && q.data ? (
        <>
          <p>
            <Link to={`/policy/${t.id}`}>Edit this tenant's policy</Link> · <span className="mono">{t.id}</span>
          </p>
          <ProviderSwitch tenantId={t.id} current={t.provider ?? null} onSaved={q.reload} />
          <Keys tenantId={t.id} keys={q.data.apiKeys} onChange={q.reload} />
          <Limits tenantId={t.id} limits={q.data.tenantLimits} onSaved={q.reload} />
          <Erase tenantId={t.id} />
        </>
      ) : null}
    </>
  );
}

function ProviderSwitch({ tenantId, current, onSaved }: { tenantId: string; current: ProviderName | null; onSaved(): void }) {
  const providers = useConfiguredProviders();
  const [choice, setChoice] = useState<string>(current ?? '');
  const save = useMutation(ConsoleSetTenantProviderDocument);
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await save.run({ tenantId, provider: (choice || null) as ProviderName | null })) onSaved();
  }
  return (
    <form className="panel row" onSubmit={submit} aria-labelledby="provider-h">
      <h2 id="provider-h">Provider</h2>
      <p className="muted">Now: {current ?? 'several (see the policy)'}. Switching writes a new policy version; thresholds and other settings are kept.</p>
      <label>
        Route checks to
        <select value={choice} onChange={(e) => setChoice(e.target.value)}>
          <option value="">server default</option>
          {providers.map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={save.running}>
        Switch provider
      </button>
      {save.data ? <p role="status">Provider set to {save.data.setTenantProvider.provider}.</p> : null}
      <ErrorNote error={save.error} />
    </form>
  );
}

function Keys({ tenantId, keys, onChange }: { tenantId: string; keys: ConsoleTenantQuery['apiKeys']; onChange(): void }) {
  const [label, setLabel] = useState('');
  const create = useMutation(ConsoleCreateApiKeyDocument);
  const revoke = useMutation(ConsoleRevokeApiKeyDocument);
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await create.run({ tenantId, label: label.trim() || undefined })) {
      setLabel('');
      onChange();
    }
  }
  return (
    <section className="panel" aria-labelledby="keys-h">
      <h2 id="keys-h">API keys</h2>
      <form className="row" onSubmit={submit}>
        <label>
          Label
          <input maxLength={200} value={label} onChange={(e) => setLabel(e.target.value)} />
        </label>
        <button type="submit" disabled={create.running}>
          Create key
        </button>
      </form>
      <ErrorNote error={create.error} />
      {create.data ? (
        <div className="secret" role="status">
          <p>
            <strong>Copy this key now: it is shown once.</strong> Only its hash is stored.
          </p>
          <label>
            New key
            <input readOnly value={create.data.createApiKey.secret} className="mono" onFocus={(e) => e.target.select()} />
          </label>
          <button type="button" className="secondary" onClick={create.reset}>
            I have copied it
          </button>
        </div>
      ) : null}
      <table className="data">
        <thead>
          <tr>
            <th scope="col">Prefix</th>
            <th scope="col">Label</th>
            <th scope="col">Created</th>
            <th scope="col">State</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.id}>
              <td className="mono">{k.prefix}…</td>
              <td>{k.label ?? '—'}</td>
              <td>{fmtDate(k.createdAt)}</td>
              <td>{k.revokedAt ? `revoked ${fmtDate(k.revokedAt)}` : 'active'}</td>
              <td>
                {k.revokedAt ? null : (
                  <button type="button" className="danger" disabled={revoke.running} aria-label={`Revoke key ${k.prefix}${k.label ? ` (${k.label})` : ''}`} onClick={async () => (await revoke.run({ id: k.id })) && onChange()}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorNote error={revoke.error} />
    </section>
  );
}

const LIMIT_FIELDS = [
  ['ratePerMinute', 'Requests: tokens per minute'],
  ['burst', 'Requests: burst'],
  ['keyRatePerMinute', 'Per key: tokens per minute'],
  ['keyBurst', 'Per key: burst'],
  ['checksPerDay', 'Checks per UTC day'],
  ['retentionDays', 'Retention (days)'],
] as const;

function Limits({ tenantId, limits, onSaved }: { tenantId: string; limits: ConsoleTenantQuery['tenantLimits']; onSaved(): void }) {
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(LIMIT_FIELDS.map(([k]) => [k, limits[k] === null || limits[k] === undefined ? '' : String(limits[k])])));
  const save = useMutation(ConsoleSetTenantLimitsDocument);
  async function submit(e: FormEvent) {
    e.preventDefault();
    const input = Object.fromEntries(LIMIT_FIELDS.map(([k]) => [k, values[k] === '' ? null : Number(values[k])])) as TenantLimitsInput;
    if (await save.run({ tenantId, limits: input })) onSaved();
  }
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="limits-h">
      <h2 id="limits-h">Limits and retention</h2>
      <p className="muted">Empty: the server default (shown as the placeholder: what is in force now).</p>
      <div className="grid">
        {LIMIT_FIELDS.map(([k, label]) => (
          <label key={k}>
            {label}
            <input
              type="number"
              min={1}
              inputMode="numeric"
              value={values[k]}
              placeholder={limits.effective[k] === null || limits.effective[k] === undefined ? 'unlimited' : String(limits.effective[k])}
              onChange={(e) => setValues({ ...values, [k]: e.target.value })}
            />
          </label>
        ))}
      </div>
      <button type="submit" disabled={save.running}>
        Save limits
      </button>
      {save.data ? <p role="status">Limits saved; every replica applies them within its limits cache time.</p> : null}
      <ErrorNote error={save.error} />
    </form>
  );
}

/** Erasing deletes every check of one subject: the reference id must be typed twice. */
function Erase({ tenantId }: { tenantId: string }) {
  const [ref, setRef] = useState('');
  const [confirm, setConfirm] = useState('');
  const erase = useMutation(ConsoleEraseSubjectDocument);
  const ready = ref.trim() !== '' && confirm === ref;
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (ready && (await erase.run({ tenantId, referenceId: ref.trim() }))) {
      setRef('');
      setConfirm('');
    }
  }
  return (
    <form className="panel danger-zone" onSubmit={submit} aria-labelledby="erase-h">
      <h2 id="erase-h">Erase a subject</h2>
      <p className="muted">Deletes every check and attempt with this reference id. The audit log keeps only its SHA-256. This cannot be undone.</p>
      <div className="row">
        <label>
          Reference id
          <input maxLength={256} value={ref} onChange={(e) => setRef(e.target.value)} autoComplete="off" />
        </label>
        <label>
          Type it again to confirm
          <input maxLength={256} value={confirm} onChange={(e) => setConfirm(e.target.value)} autoComplete="off" />
        </label>
        <button type="submit" className="danger" disabled={!ready || erase.running}>
          Erase subject
        </button>
      </div>
      {erase.data ? (
        <p role="status">
          Erased {erase.data.eraseSubject.checks} checks and {erase.data.eraseSubject.attempts} attempts.
        </p>
      ) : null}
      <ErrorNote error={erase.error} />
    </form>
  );
}
