/**
 * onnxruntime session options per model of the default pack: graph optimisation level × intra-op
 * threads, each model as the engine loads it (verified, then graph.ts's rewrites), on its input
 * size, in this thread. Medians of `--runs` runs (after 20 warm-up), wall and CPU: with 2 threads
 * a run may take less wall time and more CPU (the engine runs one worker per core, so CPU is what
 * bounds its throughput).
 *
 *   npm run build && node dist/bench/ort-options.js [--runs 200]
 *
 * Writes bench/reports/ort-options.json.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadPack, readVerified } from '../providers/local/pack';
import { prepareModel } from '../providers/local/graph';
import { machine, summarise, writeReport } from './report';

const LEVELS = ['basic', 'extended', 'all'] as const;
const THREADS = [1, 2];

async function main() {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '200' } } });
  const runs = Number(values.runs);
  const pack = loadPack({});
  const m = pack.manifest.models;
  const specs = [m.detector, m.landmarks, m.embedder, ...m.liveness];
  const hw = machine();
  const load0 = Number(loadavg()[0].toFixed(2));
  console.log(`onnxruntime options per model — ${hw.cpu} × ${hw.cores}, Node ${hw.node}, load average ${load0}; medians of ${runs} runs`);
  console.log('  model                                   level     threads   wall ms   CPU ms');
  const rows = [];
  for (const spec of specs) {
    const bytes = prepareModel(readVerified(pack, spec)).bytes;
    const channels = spec.input.colour === 'GREY' ? 1 : 3;
    const dims = [1, channels, spec.input.height, spec.input.width];
    const data = Float32Array.from({ length: dims.reduce((a, b) => a * b) }, (_, i) => Math.sin(i) * 0.5);
    for (const level of LEVELS) {
      for (const threads of THREADS) {
        const session = await ort.InferenceSession.create(bytes, {
          executionProviders: ['cpu'],
          graphOptimizationLevel: level,
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          extra: { session: { intra_op: { allow_spinning: '0' } } },
        });
        const feeds = { [spec.input.name]: new ort.Tensor('float32', data, dims) };
        for (let i = 0; i < 20; i++) await session.run(feeds);
        const wall: number[] = [];
        const cpu: number[] = [];
        for (let i = 0; i < runs; i++) {
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          await session.run(feeds);
          wall.push(performance.now() - t0);
          const c = process.cpuUsage(c0);
          cpu.push((c.user + c.system) / 1000);
        }
        await session.release();
        const row = { model: spec.file, level, threads, wallMs: summarise(wall).p50, cpuMs: summarise(cpu).p50 };
        rows.push(row);
        console.log(`  ${spec.file.padEnd(40)} ${level.padEnd(9)} ${String(threads).padStart(7)} ${row.wallMs.toFixed(2).padStart(9)} ${row.cpuMs.toFixed(2).padStart(8)}`);
      }
    }
  }
  const load1 = Number(loadavg()[0].toFixed(2));
  console.log(`load average ${load0} → ${load1}`);
  console.log(`report: ${writeReport('ort-options', { benchmark: 'onnxruntime options per model', runs, loadAverage: { before: load0, after: load1 }, rows })}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
