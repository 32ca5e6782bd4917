/** The shell: sign-in with an admin key, navigation, and the page for the current route. */
import { useState, useSyncExternalStore, type FormEvent } from 'react';
import { ApiError, asApiError, gql, session } from './api';
import { ConsoleTenantsDocument } from './generated/graphql';
import { CheckPage } from './pages/check';
import { ChecksPage } from './pages/checks';
import { PolicyPage } from './pages/policy';
import { ProvidersPage } from './pages/providers';
import { ReviewPage } from './pages/review';
import { TenantPage, TenantsPage } from './pages/tenants';
import { UsagePage } from './pages/usage';
import { Link, match, navigate, useRoute } from './router';
import { ErrorNote, PageTitle } from './ui';

const NAV = [
  { to: '/checks', label: 'Checks' },
  { to: '/review', label: 'Review queue' },
  { to: '/tenants', label: 'Tenants' },
  { to: '/policy', label: 'Policies' },
  { to: '/providers', label: 'Providers' },
  { to: '/usage', label: 'Usage' },
];

const onSession = (fn: () => void) => {
  window.addEventListener('verigate:session', fn);
  window.addEventListener('storage', fn);
  return () => {
    window.removeEventListener('verigate:session', fn);
    window.removeEventListener('storage', fn);
  };
};

export function App() {
  const key = useSyncExternalStore(onSession, session.key);
  const { path } = useRoute();
  if (!key) return <SignIn />;
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Verigate admin</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.to}>
                <Link to={n.to} aria-current={path === n.to || path.startsWith(`${n.to}/`) ? 'page' : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" className="link" onClick={() => session.signOut()}>
          Sign out
        </button>
      </header>
      <main id="main">
        <Page path={path} />
      </main>
    </>
  );
}

function Page({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (path === '/' || path === '/checks') return <ChecksPage />;
  if ((m = match('/checks/:id', path))) return <CheckPage key={m.id} id={m.id} />;
  if (path === '/review') return <ReviewPage />;
  if (path === '/tenants') return <TenantsPage />;
  if ((m = match('/tenants/:id', path))) return <TenantPage key={m.id} id={m.id} />;
  if (path === '/policy') return <PolicyPage />;
  if ((m = match('/policy/:tenantId', path))) return <PolicyPage key={m.tenantId} tenantId={m.tenantId} />;
  if (path === '/providers') return <ProvidersPage />;
  if (path === '/usage') return <UsagePage />;
  return (
    <>
      <PageTitle>Not found</PageTitle>
      <p>
        No page at this address. <Link to="/checks">Go to the checks</Link>.
      </p>
    </>
  );
}

/** The key is proved with an admin-only query before it is kept (in this tab's sessionStorage). */
function SignIn() {
  const [key, setKey] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await gql(ConsoleTenantsDocument, {}, key.trim());
      session.signIn(key.trim());
      if (window.location.pathname.replace(/\/+$/, '') === '/admin') navigate('/checks', { replace: true });
    } catch (err) {
      const e = asApiError(err);
      setError(e.code === 'FORBIDDEN' ? new ApiError('This is a tenant key: the console needs an admin key', e.code) : e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <main id="main" className="signin">
      <PageTitle>Verigate admin console</PageTitle>
      <form onSubmit={submit} aria-describedby="signin-help">
        <label htmlFor="admin-key">Admin API key</label>
        <input id="admin-key" type="password" autoComplete="off" required value={key} onChange={(e) => setKey(e.target.value)} />
        <p id="signin-help" className="muted">
          Kept in this browser tab only (sessionStorage), sent in the Authorization header — never in a cookie. Closing the tab signs you out.
        </p>
        <button type="submit" disabled={busy || key.trim().length === 0}>
          Sign in
        </button>
        <ErrorNote error={error} />
      </form>
    </main>
  );
}
