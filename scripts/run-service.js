#!/usr/bin/env node
// Runs one compiled service from dist/: `node scripts/run-service.js <service>`.
// The apps import libraries through tsconfig path aliases (@app/*); compiled output keeps the same
// tree under dist/, so the aliases are registered against dist/ instead of the sources.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const tsconfigPaths = require('tsconfig-paths');

const SERVICES = ['monolith', 'logging-service', 'analytics-service', 'notification-service'];
const service = process.argv[2] || process.env.SERVICE;
if (!SERVICES.includes(service)) {
  console.error(`usage: node scripts/run-service.js <${SERVICES.join('|')}>`);
  process.exit(2);
}
const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const main = path.join(dist, 'apps', service, 'src', 'main.js');
if (!fs.existsSync(main)) {
  console.error(`${path.relative(root, main)} is missing: build first with "npm run build".`);
  process.exit(1);
}
// `@app/<lib>` is `libs/<lib>/src`, as in tsconfig.json (which the runtime image does not ship).
tsconfigPaths.register({ baseUrl: dist, paths: { '@app/*': ['libs/*/src'] } });
require(main);
