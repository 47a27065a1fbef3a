/**
 * Builds the package the way JSR's npm layer serves it to Node and Bun users (`npx jsr add`,
 * `bunx jsr add`): every published `.ts` file (deno.json `publish.include` minus `exclude`) is
 * transpiled on its own to `.js` (esbuild's transform: no bundling, types erased), relative
 * import/export specifiers are rewritten from `.ts` to `.js`, and string literals are left
 * alone, exactly as JSR does. Bare specifiers (`hono`, `hono/...`) stay bare and resolve from
 * `node_modules` (the tree gets a `node_modules` link to this checkout's).
 *
 * ```sh
 * deno run -A scripts/build_npm.ts /tmp/segloss-npm
 * bun scripts/build_npm.ts /tmp/segloss-npm
 * ```
 *
 * @module
 */
import { transform } from "esbuild";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** A publish glob (`core/**\/*.ts`, `mod.ts`) as a regular expression over `/` paths. */
function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === "*" && glob[i + 1] === "*") {
      re += glob[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += glob[i + 2] === "/" ? 2 : 1;
    } else if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else re += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(relative(ROOT, p).split(sep).join("/"));
  }
}

/** The published files (paths relative to the repository root, `/`-separated). */
export function publishedFiles(): string[] {
  const config = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
  const include = (config.publish?.include as string[]).map(globToRegExp);
  const exclude = ((config.publish?.exclude ?? []) as string[]).map(globToRegExp);
  const all: string[] = [];
  walk(ROOT, all);
  return all.filter((f) => include.some((r) => r.test(f)) && !exclude.some((r) => r.test(f)))
    .sort();
}

/**
 * Rewrites the relative `.ts` specifiers of static imports/exports and of `import("...")`
 * with a literal argument to `.js`; other string literals stay as written (as JSR does).
 */
export function rewriteSpecifiers(code: string): string {
  return code.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.\.?\/[^"'\n]+?)\.ts\2/g,
    (_m, head: string, q: string, path: string) => `${head}${q}${path}.js${q}`,
  );
}

/** The package.json of the tree: the deno.json exports with `.js` targets. */
function packageJson(): Record<string, unknown> {
  const config = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
  const exports: Record<string, string> = {};
  for (const [k, v] of Object.entries(config.exports as Record<string, string>)) {
    exports[k] = v.replace(/\.ts$/, ".js");
  }
  const dev = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  return {
    name: "@jsr/segloss__segloss",
    version: config.version,
    type: "module",
    exports,
    dependencies: dev.dependencies,
  };
}

/**
 * Writes the transpiled tree into `outDir` (emptied first).
 *
 * @param outDir The output folder.
 * @returns The transpiled files, relative to `outDir`.
 */
export async function buildNpm(outDir: string): Promise<string[]> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const file of publishedFiles()) {
    const src = join(ROOT, file);
    if (!file.endsWith(".ts")) {
      mkdirSync(dirname(join(outDir, file)), { recursive: true });
      writeFileSync(join(outDir, file), readFileSync(src));
      continue;
    }
    const result = await transform(readFileSync(src, "utf8"), {
      loader: "ts",
      format: "esm",
      target: "es2022",
      sourcefile: file,
    });
    const js = file.replace(/\.ts$/, ".js");
    mkdirSync(dirname(join(outDir, js)), { recursive: true });
    writeFileSync(join(outDir, js), rewriteSpecifiers(result.code));
    written.push(js);
  }
  writeFileSync(join(outDir, "package.json"), JSON.stringify(packageJson(), null, 2));
  if (!existsSync(join(outDir, "node_modules"))) {
    symlinkSync(join(ROOT, "node_modules"), join(outDir, "node_modules"), "dir");
  }
  return written;
}

const g = globalThis as { Deno?: { args: string[] }; process?: { argv: string[] } };
const isMain = (import.meta as { main?: boolean }).main ??
  (g.process?.argv[1] !== undefined && fileURLToPath(import.meta.url) === g.process.argv[1]);
if (isMain) {
  const args = g.Deno?.args ?? g.process?.argv.slice(2) ?? [];
  const out = args[0];
  if (!out) {
    console.error("usage: build_npm.ts <outDir>");
  } else {
    const files = await buildNpm(out);
    console.log(`${files.length} files transpiled into ${out}`);
    const { stop } = await import("esbuild");
    await stop();
  }
}
