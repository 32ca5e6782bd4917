/**
 * The gateway benchmark's HTTP client, in a process of its own (bench/gateway.ts forks it): a real
 * client is not inside the server's process, so its request upload, fetch machinery and JSON
 * parsing must not run on the server's event loop or add to its heap. Every `time` message runs
 * one request and answers with how long it took here, from `fetch()` to the parsed answer
 * (upload, server, download, parse); the IPC round trip is outside the timing.
 */
export interface ClientRequest {
  /** a name for the request, defined once with `define`, timed any number of times with `time` */
  name: string;
  url: string;
  headers: Record<string, string>;
  /** JSON text, or the bytes of a multipart body (the IPC channel uses structured clone) */
  body: string | Uint8Array;
  /** dotted path into the JSON answer that must equal `equals` (the answer is checked every time) */
  expect: { path: string; equals: string };
}

export type ClientMessage =
  | { type: 'define'; request: ClientRequest }
  | { type: 'time'; name: string }
  /** `count` requests, `concurrency` of them in flight at a time */
  | { type: 'burst'; name: string; count: number; concurrency: number };
export type ClientReply =
  | { type: 'defined' }
  | { type: 'timed'; ms: number }
  /** each request's time, the burst's wall time, and this client's own CPU time over it (what the client costs the machine) */
  | { type: 'burst'; ms: number[]; wallMs: number; clientCpuMs: number }
  | { type: 'failed'; message: string };

const requests = new Map<string, ClientRequest>();

async function timeOne(r: ClientRequest): Promise<number> {
  const t = performance.now();
  const res = await fetch(r.url, { method: 'POST', headers: r.headers, body: r.body });
  const json: unknown = await res.json();
  const elapsed = performance.now() - t;
  const got = r.expect.path.split('.').reduce<any>((v, k) => v?.[k], json);
  if (got !== r.expect.equals) throw new Error(`unexpected answer to ${r.name}: ${JSON.stringify(json).slice(0, 500)}`);
  return elapsed;
}

const reply = (m: ClientReply) => process.send!(m);

async function burst(r: ClientRequest, count: number, concurrency: number): Promise<ClientReply> {
  const times: number[] = [];
  let started = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < count) {
        started++;
        times.push(await timeOne(r));
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { type: 'burst', ms: times, wallMs: performance.now() - t0, clientCpuMs: (cpu.user + cpu.system) / 1000 };
}

process.on('message', (m: ClientMessage) => {
  if (m.type === 'define') {
    requests.set(m.request.name, m.request);
    reply({ type: 'defined' });
    return;
  }
  const r = requests.get(m.name);
  if (!r) return reply({ type: 'failed', message: `no request named ${m.name}` });
  if (m.type === 'burst') {
    burst(r, m.count, m.concurrency).then(reply, (e: Error) => reply({ type: 'failed', message: e.message }));
    return;
  }
  timeOne(r).then(
    (ms) => reply({ type: 'timed', ms }),
    (e: Error) => reply({ type: 'failed', message: e.message }),
  );
});
// the parent closes the IPC channel when it is done
process.on('disconnect', () => process.exit(0));
