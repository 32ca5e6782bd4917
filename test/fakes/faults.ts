/**
 * Injectable transport faults shared by the emulators. A test queues faults with
 * `emulator.inject(fault, { times, op })`; each matching request consumes one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Fault =
  /** wait, then answer normally */
  | { kind: 'latency'; ms: number }
  /** hold the request until the test releases it, then answer normally */
  | { kind: 'gate'; released: Promise<void> }
  /** answer with this status and body instead of the real handler (e.g. a 500 or 502 from a proxy) */
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** destroy the socket without answering (ECONNRESET / "other side closed" at the client) */
  | { kind: 'reset' }
  /** a success status with a truncated JSON body */
  | { kind: 'malformed'; status?: number }
  /** headers at once, then the (real) body one byte every `intervalMs` */
  | { kind: 'drip'; intervalMs: number }
  /** accept the request and never answer */
  | { kind: 'hang' };

interface Queued {
  fault: Fault;
  times: number;
  op?: string;
}

export class FaultQueue {
  private readonly queue: Queued[] = [];

  inject(fault: Fault, opts: { times?: number; op?: string } = {}): void {
    this.queue.push({ fault, times: opts.times ?? 1, op: opts.op });
  }

  clear(): void {
    this.queue.length = 0;
  }

  /** the next fault for `op`, consuming one use of it */
  take(op: string): Fault | undefined {
    const i = this.queue.findIndex((q) => !q.op || q.op === op);
    if (i < 0) return undefined;
    const q = this.queue[i];
    if (--q.times <= 0) this.queue.splice(i, 1);
    return q.fault;
  }
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** unref'd: a pending fault delay never keeps a test process alive after the emulator closed */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/**
 * Send `answer` (computed by the real handler) through `fault`, if any. Returns the status sent, or
 * undefined when nothing was sent (reset, hang).
 */
export async function deliver(
  req: IncomingMessage,
  res: ServerResponse,
  fault: Fault | undefined,
  compute: () => Promise<Answer>,
): Promise<number | undefined> {
  switch (fault?.kind) {
    case 'reset':
      req.socket.destroy();
      return undefined;
    case 'hang':
      return undefined;
    case 'status': {
      const body = fault.body ?? '';
      res.writeHead(fault.status, { 'content-length': Buffer.byteLength(body), ...fault.headers });
      res.end(body);
      return fault.status;
    }
    case 'malformed': {
      const answer = await compute();
      const status = fault.status ?? (answer.status < 300 ? answer.status : 200);
      const body = '{"truncated": {"value": 0.9';
      res.writeHead(status, { ...answer.headers, 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return status;
    }
    case 'latency':
      await sleep(fault.ms);
      break;
    case 'gate':
      await fault.released;
      break;
    case 'drip': {
      const answer = await compute();
      const bytes = Buffer.from(answer.body);
      res.writeHead(answer.status, { ...answer.headers, 'content-length': bytes.length });
      for (let i = 0; i < bytes.length && !res.destroyed; i++) {
        res.write(bytes.subarray(i, i + 1));
        await sleep(fault.intervalMs);
      }
      if (!res.destroyed) res.end();
      return answer.status;
    }
    case undefined:
      break;
  }
  if (res.destroyed) return undefined;
  const answer = await compute();
  res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  res.end(answer.body);
  return answer.status;
}

export async function readBody(req: IncomingMessage, limit = 40 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new Error('body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
