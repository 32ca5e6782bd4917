// A jest reporter that ends the run with one line per reason tests were skipped, naming what to
// set: "64 skipped" alone never said that the PostgreSQL half of the store tests needs a server.
// A suite skips itself by putting "(skipped: <reason>)" in its describe title (test/support/stores.ts).
const REASON = /\(skipped: ([^)]+)\)/;
const HOW = {
  'TEST_DATABASE_URL not set':
    'set TEST_DATABASE_URL to a PostgreSQL database to run them, e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/verigate_test npm test (.ci/run does)',
};

class SkipReporter {
  onRunComplete(_contexts, results) {
    const byReason = new Map();
    for (const file of results.testResults) {
      for (const t of file.testResults) {
        if (t.status !== 'pending' && t.status !== 'skipped') continue;
        const reason = t.ancestorTitles.map((title) => REASON.exec(title)?.[1]).find(Boolean) ?? 'skipped in the test code (it.skip / describe.skip) or by -t';
        byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
      }
    }
    for (const [reason, n] of byReason) {
      process.stderr.write(`${n} tests skipped: ${reason}${HOW[reason] ? ` — ${HOW[reason]}` : ''}\n`);
    }
  }
}

module.exports = SkipReporter;
