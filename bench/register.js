'use strict';

// Lets the bench (and its child processes) require the TypeScript sources directly:
//   node -r ./bench/register.js bench/arms/<arm>.ts
// `.ts` files are transpiled on load (no type checking: that is `npm run typecheck`'s job), `@app/*`
// resolves as in tsconfig.json, and reflect-metadata is present for Nest's decorators.
//
// Transpiled output is cached on disk by content hash. Besides faster starts, this keeps the
// TypeScript compiler (tens of MB) out of child processes whose memory is being measured: once the
// parent has transpiled a module graph, children only read the cache and never load `typescript`.

const { createHash } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Module = require('node:module');

const REPO = path.resolve(__dirname, '..');
const COMPILER_OPTIONS = {
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  module: 'commonjs',
  target: 'ES2022',
  esModuleInterop: true,
  allowSyntheticDefaultImports: true,
  resolveJsonModule: true,
};
const CACHE_DIR = path.join(os.tmpdir(), `kafka-core-bench-ts-${process.getuid?.() ?? 'user'}`);

let ts;
const stats = { transpiled: 0, cached: 0 };

function transpile(source, filename) {
  const key = createHash('sha1')
    .update(JSON.stringify(COMPILER_OPTIONS))
    .update('\0')
    .update(filename)
    .update('\0')
    .update(source)
    .digest('hex');
  const cached = path.join(CACHE_DIR, `${key}.js`);
  try {
    const code = fs.readFileSync(cached, 'utf8');
    stats.cached++;
    return code;
  } catch {
    // Not cached yet.
  }
  ts ??= require('typescript');
  const { outputText } = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: {
      ...COMPILER_OPTIONS,
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
    },
  });
  stats.transpiled++;
  try {
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    // Rename is atomic: concurrent processes never read a half-written file.
    const tmp = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, outputText);
    fs.renameSync(tmp, cached);
  } catch {
    // A cache that cannot be written only costs speed.
  }
  return outputText;
}

Module._extensions['.ts'] = function loadTs(module, filename) {
  module._compile(transpile(fs.readFileSync(filename, 'utf8'), filename), filename);
};

// `@app/<lib>` and `@app/<lib>/<path>` resolve as tsconfig.json's paths say.
require('tsconfig-paths').register({
  baseUrl: REPO,
  paths: JSON.parse(fs.readFileSync(path.join(REPO, 'tsconfig.json'), 'utf8')).compilerOptions.paths,
});
require('reflect-metadata');

module.exports = { REPO, stats, typescriptLoaded: () => ts !== undefined };
