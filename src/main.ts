#!/usr/bin/env node
/** `node dist/src/main.js` = `verigate serve`. */
import { runCli } from './cli';

runCli(process.argv.slice(2).length ? process.argv.slice(2) : ['serve']).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  },
);
