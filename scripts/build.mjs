// The build: tsc's emit of tsconfig.build.json, with the direct form of the protocol code
// (src/kernel/direct-transform.ts) added to every module of src/ that has generators. tsc's
// command line takes no transformers, so this drives the compiler API the same way; errors are
// reported as tsc reports them and fail the build.
import ts from 'typescript';
import { tsImport } from 'tsx/esm/api';
import { dirname, relative, resolve, sep } from 'node:path';
import { writeFileSync } from 'node:fs';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const { directTransformer } = await tsImport('../src/kernel/direct-transform.ts', import.meta.url);

const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => report([d]) };
const parsed = ts.getParsedCommandLineOfConfigFile(resolve(root, 'tsconfig.build.json'), {}, host);
const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, projectReferences: parsed.projectReferences });
const srcDir = resolve(root, 'src') + sep;
const runtime = resolve(root, 'src/kernel/direct.ts');
const transformer = directTransformer({
  include: (f) => resolve(f).startsWith(srcDir) && resolve(f) !== runtime,
  runtime: (f) => {
    const rel = relative(dirname(resolve(f)), runtime).split(sep).join('/').replace(/\.ts$/, '.js');
    return rel.startsWith('.') ? rel : `./${rel}`;
  },
});
const emitted = program.emit(undefined, undefined, undefined, false, { before: [transformer] });
const diags = [...parsed.errors, ...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
report(diags);
if (diags.some((d) => d.category === ts.DiagnosticCategory.Error)) process.exit(1);
writeFileSync(resolve(root, 'dist/.built'), new Date().toISOString() + '\n');

function report(ds) {
  if (!ds.length) return;
  const fmtHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' };
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(ds, fmtHost));
  if (ds === undefined) process.exit(1);
}
