/** The benchmarks' side of bench/http-client.ts: the HTTP client in a process of its own. */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { ClientMessage, ClientReply, ClientRequest } from './http-client';

export type BenchClient = Awaited<ReturnType<typeof startClient>>;

/** Starts the client process; one message (a request, or a burst of them) at a time. */
export async function startClient() {
  const child = fork(join(__dirname, 'http-client.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  const ask = (m: ClientMessage) =>
    new Promise<ClientReply>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`benchmark client exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (r: ClientReply) => {
        child.off('exit', onExit);
        resolve(r);
      });
      child.send(m);
    });
  return {
    async define(request: ClientRequest): Promise<void> {
      await ask({ type: 'define', request });
    },
    /** one request, timed in the client from fetch() to the parsed answer */
    async time(name: string): Promise<number> {
      const r = await ask({ type: 'time', name });
      if (r.type === 'failed') throw new Error(r.message);
      if (r.type !== 'timed') throw new Error(`unexpected client reply ${r.type}`);
      return r.ms;
    },
    /** `count` requests with `concurrency` in flight: each one's time, the wall time, and the client's CPU */
    async burst(name: string, count: number, concurrency: number): Promise<Extract<ClientReply, { type: 'burst' }>> {
      const r = await ask({ type: 'burst', name, count, concurrency });
      if (r.type === 'failed') throw new Error(r.message);
      if (r.type !== 'burst') throw new Error(`unexpected client reply ${r.type}`);
      return r;
    },
    close: () => child.disconnect(),
  };
}

/** A verifyIdentity request (`query`, variables `i.selfie`, `i.document`, and `more` of `i`) with the images as file parts, encoded by the platform's FormData. */
export async function multipartVerify(query: string, selfie: Uint8Array, document: Uint8Array, more: Record<string, unknown> = {}): Promise<{ bytes: Uint8Array; contentType: string }> {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query, variables: { i: { selfie: null, document: null, ...more } } }));
  form.set('map', JSON.stringify({ s: ['variables.i.selfie'], d: ['variables.i.document'] }));
  form.set('s', new Blob([selfie], { type: 'image/jpeg' }), 'selfie.jpg');
  form.set('d', new Blob([document], { type: 'image/jpeg' }), 'document.jpg');
  const encoded = new Response(form);
  return { bytes: new Uint8Array(await encoded.arrayBuffer()), contentType: encoded.headers.get('content-type')! };
}
