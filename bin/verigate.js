#!/usr/bin/env node
// The CLI runs from the compiled build (npm run build); see README.
require('../dist/src/main.js');
