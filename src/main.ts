#!/usr/bin/env node
/** `node dist/src/main.js <command>` = `verigate <command>` (src/cli.ts; no command prints the usage). */
import { runCli } from './cli';

runCli(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  },
);
