/**
 * Makes the project's TypeScript files load WITH decorator metadata under tsx.
 *
 * Nest resolves constructor dependencies from `design:paramtypes`, which TypeScript emits
 * (`emitDecoratorMetadata` in tsconfig.json) but tsx's compiler, esbuild, does not. Under plain tsx
 * the demo app's controllers and guards get no dependencies (NestFactory.create never settles).
 * This replaces tsx's CommonJS hook for the project's own `.ts` files (not node_modules) with
 * TypeScript's `transpileModule` and tsconfig.json's compiler options; everything else still goes
 * through tsx. Call it before any project module is loaded.
 */
import Module from 'node:module';
import { readFileSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import ts from 'typescript';

type Loader = (
  module: { _compile(code: string, filename: string): void },
  filename: string,
) => void;

const ROOT = resolve(__dirname, '..');

function compilerOptions(): ts.CompilerOptions {
  const file = resolve(ROOT, 'tsconfig.json');
  const { config, error } = ts.readConfigFile(file, (path) => ts.sys.readFile(path));
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const { options } = ts.convertCompilerOptionsFromJson(
    (config as { compilerOptions?: object }).compilerOptions ?? {},
    ROOT,
  );
  return {
    ...options,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    declaration: false,
    incremental: false,
    sourceMap: false,
    inlineSourceMap: true,
    inlineSources: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
  };
}

/** Installs the hook (idempotent). */
export function compileWithDecoratorMetadata(): void {
  const extensions = (Module as unknown as { _extensions: Record<string, Loader> })._extensions;
  const tsx = extensions['.ts'];
  if (typeof tsx !== 'function') throw new Error('Run the benchmark with tsx (npm run bench)');
  if ((tsx as { withMetadata?: true }).withMetadata) return;
  const options = compilerOptions();
  const loader: Loader & { withMetadata?: true } = (module, filename) => {
    if (!filename.startsWith(ROOT + sep) || filename.includes(`${sep}node_modules${sep}`)) {
      tsx(module, filename);
      return;
    }
    const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: options,
    });
    module._compile(outputText, filename);
  };
  loader.withMetadata = true;
  extensions['.ts'] = loader;
}
