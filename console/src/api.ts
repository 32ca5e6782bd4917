/**
 * The console's GraphQL client: typed documents (generated from console/operations by `npm run
 * codegen`) sent as strings to /graphql with the admin key in the Authorization header. The key
 * lives in this tab's sessionStorage only — never a cookie, so no other site can make the browser
 * send it — and is dropped when the server no longer accepts it.
 */
import { useCallback, useEffect, useState } from 'react';
import type { TypedDocumentString } from './generated/graphql';

const KEY = 'verigate.adminKey';

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  signIn(key: string): void {
    sessionStorage.setItem(KEY, key);
    window.dispatchEvent(new Event('verigate:session'));
  },
  signOut(): void {
    sessionStorage.removeItem(KEY);
    window.dispatchEvent(new Event('verigate:session'));
  },
};

export interface Issue {
  path: string;
  message: string;
}

/** A GraphQL error as the API states it: a stable code, and for a bad policy the schema's issues. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
  get issues(): Issue[] {
    return Array.isArray(this.extensions.issues) ? (this.extensions.issues as Issue[]) : [];
  }
}

export async function gql<R, V>(doc: TypedDocumentString<R, V>, variables?: V, key = session.key()): Promise<R> {
  let res: Response;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      credentials: 'omit',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query: doc.toString(), variables }),
    });
  } catch {
    throw new ApiError('The server cannot be reached', 'NETWORK');
  }
  const body = (await res.json().catch(() => null)) as { data?: R; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } | null;
  const first = body?.errors?.[0];
  if (first) {
    const code = String(first.extensions?.code ?? 'ERROR');
    if (code === 'UNAUTHENTICATED' && key === session.key()) session.signOut();
    throw new ApiError(first.message, code, first.extensions);
  }
  if (!body?.data) throw new ApiError(`The server answered HTTP ${res.status}`, 'HTTP');
  return body.data;
}

export interface Loaded<R> {
  data: R | null;
  error: ApiError | null;
  loading: boolean;
  reload(): void;
}

/** Runs a query when `variables` change (compared as JSON); `skip` holds it back. */
export function useQuery<R, V>(doc: TypedDocumentString<R, V>, variables: V, skip = false): Loaded<R> {
  const [state, setState] = useState<{ data: R | null; error: ApiError | null; loading: boolean }>({ data: null, error: null, loading: !skip });
  const [tick, setTick] = useState(0);
  const vars = JSON.stringify(variables ?? {});
  useEffect(() => {
    if (skip) return;
    let live = true;
    setState((s) => ({ ...s, loading: true, error: null }));
    gql(doc, JSON.parse(vars) as V).then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error: unknown) => live && setState({ data: null, error: asApiError(error), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [doc, vars, skip, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export const asApiError = (e: unknown): ApiError => (e instanceof ApiError ? e : new ApiError(e instanceof Error ? e.message : String(e), 'ERROR'));

/** A mutation's state: run it, see it running, its error, its last answer. */
export function useMutation<R, V>(doc: TypedDocumentString<R, V>) {
  const [state, setState] = useState<{ data: R | null; error: ApiError | null; running: boolean }>({ data: null, error: null, running: false });
  const run = useCallback(
    async (variables: V): Promise<R | null> => {
      setState({ data: null, error: null, running: true });
      try {
        const data = await gql(doc, variables);
        setState({ data, error: null, running: false });
        return data;
      } catch (e) {
        setState({ data: null, error: asApiError(e), running: false });
        return null;
      }
    },
    [doc],
  );
  const reset = useCallback(() => setState({ data: null, error: null, running: false }), []);
  return { ...state, run, reset };
}
