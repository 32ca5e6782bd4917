/**
 * Worker thread: loads the pack once (sha256-verified), warms up, then analyses one image per
 * message. Decoding and inference both happen here, never on the main event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { createEngine, FaceError } from './engine';
import { loadPack } from './pack';
import type { WorkerData, WorkerReply, WorkerRequest } from './protocol';

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('worker.ts must run in a worker thread');
  const data = workerData as WorkerData;
  sharp.concurrency(1); // one libvips thread per worker: the pool already uses every core
  try {
    const engine = await createEngine(loadPack({ pack: data.pack, modelCache: data.modelCache, withoutOptional: data.withoutOptional }), { threads: data.threads });
    port.postMessage({ type: 'ready', models: engine.models } satisfies WorkerReply);
    port.on('message', async (msg: WorkerRequest) => {
      try {
        const report = msg.task.kind === 'document' ? await engine.readDocument(msg.bytes, msg.task.request) : await engine.analyse(msg.bytes, msg.task.request);
        const transfer = 'embedding' in report && report.embedding ? [report.embedding.buffer as ArrayBuffer] : [];
        port.postMessage({ type: 'result', id: msg.id, report } satisfies WorkerReply, transfer);
      } catch (e) {
        const reason = e instanceof FaceError ? e.reason : undefined;
        port.postMessage({ type: 'failure', id: msg.id, reason, message: (e as Error).message } satisfies WorkerReply);
      }
    });
  } catch (e) {
    port.postMessage({ type: 'fatal', message: (e as Error).message } satisfies WorkerReply);
  }
}

void main();
