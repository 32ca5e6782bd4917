/**
 * How long a check no process will finish stays PENDING: the real sweeper (src/verification/sweeper.ts)
 * on its own timer, over PGlite (memory), with the server's defaults (VERIGATE_SWEEP_INTERVAL_MS 2 s,
 * VERIGATE_SWEEP_GRACE_MS 2 s). Three cases, 20 checks each:
 *   late     owned by this (live) process, deadlines spread over the next 2 s: ended ERROR/TIMEOUT
 *            how long after their deadline?
 *   dead     owned by a process never seen: ended ERROR/INTERRUPTED how long after they were written?
 *   crashed  owned by a process that was alive a moment ago and then stopped (a SIGKILL): ended how
 *            long after its last heartbeat, and how long before their own 60 s deadline?
 * Target (issue 16): no check PENDING 10 s after its deadline, with or without a restart.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/sweep.js
 */
import { randomUUID } from 'node:crypto';
import { createLogger } from '../src/observability/logger';
import { openDb } from '../src/store/db';
import { migrate } from '../src/store/migrations';
import { createStore } from '../src/store/repositories';
import { Sweeper } from '../src/verification/sweeper';
import { summarise, writeReport } from './report';

const N = 20;
const INTERVAL_MS = 2000;
const GRACE_MS = 2000;
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

async function main() {
  const db = await openDb({ dataDir: 'memory://' });
  await migrate(db);
  const store = createStore(db);
  const tenant = await store.tenants.create('sweep-bench');
  const me = randomUUID();
  const sweeper = new Sweeper(store, me, { intervalMs: INTERVAL_MS, graceMs: GRACE_MS }, createLogger('silent'));
  await sweeper.sweepOnce();
  sweeper.start();

  const write = (owner: string, deadlineMs: number) =>
    store.checks.createPending({ tenantId: tenant.id, kind: 'LIVENESS', imageDigests: {}, owner, defaultDeadlineMs: deadlineMs }).then((r) => r.check);
  /** waits until every check has ended; returns each one's completed_at */
  const ended = async (ids: string[]) => {
    for (;;) {
      const rows = await db.query<{ id: string; status: string; reasons: string[]; completed_at: Date | null; deadline_at: Date; created_at: Date }>(
        'SELECT id, status, reasons, completed_at, deadline_at, created_at FROM checks WHERE id = ANY($1::uuid[])',
        [ids],
      );
      if (rows.every((r) => r.status !== 'PENDING')) return rows;
      await sleep(50);
    }
  };

  const late = await Promise.all(Array.from({ length: N }, (_, i) => write(me, 100 + (i * 2000) / N)));
  const lateRows = await ended(late.map((c) => c.id));
  const lateDelay = summarise(lateRows.map((r) => r.completed_at!.getTime() - r.deadline_at.getTime()));

  const ghost = randomUUID();
  const dead = await Promise.all(Array.from({ length: N }, () => write(ghost, 60_000)));
  const deadRows = await ended(dead.map((c) => c.id));
  const deadDelay = summarise(deadRows.map((r) => r.completed_at!.getTime() - r.created_at.getTime()));

  const crashed = randomUUID();
  const lastSeen = new Date();
  await store.checks.heartbeat(crashed, lastSeen, lastSeen);
  const orphans = await Promise.all(Array.from({ length: N }, () => write(crashed, 60_000)));
  const orphanRows = await ended(orphans.map((c) => c.id));
  const afterCrash = summarise(orphanRows.map((r) => r.completed_at!.getTime() - lastSeen.getTime()));
  const beforeDeadline = summarise(orphanRows.map((r) => r.deadline_at.getTime() - r.completed_at!.getTime()));

  await sweeper.stop();
  await db.close();
  const reasons = (rows: Array<{ reasons: string[] }>) => [...new Set(rows.map((r) => r.reasons[0]))].join(',');
  console.log(`sweeper (interval ${INTERVAL_MS} ms, grace ${GRACE_MS} ms), ${N} checks per case`);
  console.log(`late    (live owner)    ended ${reasons(lateRows)} after their deadline: p50 ${lateDelay.p50} ms, max ${lateDelay.max} ms (target: < 10000)`);
  console.log(`dead    (owner unknown) ended ${reasons(deadRows)} after being written: p50 ${deadDelay.p50} ms, max ${deadDelay.max} ms`);
  console.log(`crashed (owner stopped) ended ${reasons(orphanRows)} after its last heartbeat: p50 ${afterCrash.p50} ms, max ${afterCrash.max} ms; before their own deadline by ≥ ${beforeDeadline.min} ms`);
  const path = writeReport('sweep', {
    benchmark: 'time a check no process will finish stays PENDING (real sweeper, PGlite memory)',
    settings: { checksPerCase: N, intervalMs: INTERVAL_MS, graceMs: GRACE_MS },
    lateAfterDeadlineMs: lateDelay,
    deadAfterWrittenMs: deadDelay,
    crashedAfterLastHeartbeatMs: afterCrash,
    crashedBeforeDeadlineMs: beforeDeadline,
    pass: lateDelay.max < 10_000 && beforeDeadline.min > 0,
  });
  console.log(`report: ${path}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
