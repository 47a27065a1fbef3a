// The layers point one way: reads the import graph of every library module with
// `deno info --json` and fails if a lower layer imports a higher one (ARCHITECTURE.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * The layers, lowest first, by top-level folder: a module may import its own layer and the
 * ones below, never one above. `gpu` is listed for a GPU device module kept in its own
 * folder (today it is core/gpu.ts).
 */
const LAYERS: readonly (readonly string[])[] = [
  ["core", "gpu", "deno.json"], // arrays, interfaces, registry, errors, the GPU device (+ version)
  ["transforms", "io"], // distance transforms and their kernels; array codecs
  ["loss"], // formulas over sufficient statistics, their options, the config of a combination
  ["backends"], // cpu (+ its kernels, the functional losses), webgpu, tfjs
  ["plugins"], // the built-in plugin sets (names -> factories)
  ["scorer", "metrics"], // createScorer composes registry, backends and losses; metrics
  ["mod.ts"], // the package's root surface: the CLI and the server may import it
  ["cli"],
  ["server"],
];

/** The published entry points that only re-export (`mod.ts` files in deno.json's exports). */
function reexportEntries(): Set<string> {
  const exports = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).exports as Record<
    string,
    string
  >;
  return new Set(
    Object.values(exports).map((p) => p.replace(/^\.\//, "")).filter((p) => p.endsWith("mod.ts")),
  );
}

/** The layer index of a repository-relative path; undefined for a path outside the layers. */
function layerOf(path: string): number | undefined {
  const top = path.split("/")[0]!;
  const i = LAYERS.findIndex((l) => l.includes(top));
  return i < 0 ? undefined : i;
}

/** One import: from a module to a module, both repository-relative. */
interface Edge {
  from: string;
  to: string;
}

/** The edges that break the layering (entries may re-export anything). */
function violations(edges: readonly Edge[], entries: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const { from, to } of edges) {
    if (entries.has(from)) continue;
    const lf = layerOf(from);
    if (lf === undefined) continue; // tests, bench, examples, scripts: not part of the layers
    const lt = layerOf(to);
    if (lt === undefined) {
      out.push(`${from} (${LAYERS[lf]!.join("/")}) imports ${to}, which is outside the layers`);
    } else if (lt > lf) {
      out.push(
        `${from} (layer ${lf}: ${LAYERS[lf]!.join("/")}) imports ${to} (layer ${lt}: ${
          LAYERS[lt]!.join("/")
        })`,
      );
    }
  }
  return out;
}

/** Every .ts module of the layered folders, tests excluded. */
function libraryFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) files.push(rel);
    }
  };
  for (const dir of LAYERS.flat()) {
    if (!dir.includes(".") && existsSync(join(ROOT, dir))) walk(dir);
  }
  return files;
}

function denoBinary(): string {
  const d = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (d) return d.execPath();
  const local = join(ROOT, "node_modules", ".bin", "deno");
  return existsSync(local) ? local : "deno";
}

/** The local import edges (static, dynamic and type-only) of every library module. */
function importGraph(): Edge[] {
  const dir = mkdtempSync(join(tmpdir(), "segloss-layers-"));
  try {
    const entry = join(dir, "all.ts");
    const files = libraryFiles();
    writeFileSync(
      entry,
      files.map((f) => `import ${JSON.stringify(pathToFileURL(join(ROOT, f)).href)};`).join("\n"),
    );
    const json = execFileSync(
      denoBinary(),
      ["info", "--json", "--config", join(ROOT, "deno.json"), entry],
      {
        cwd: ROOT,
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
        env: { ...process.env, NO_COLOR: "1" },
      },
    );
    const graph = JSON.parse(json) as {
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
      }[];
    };
    const rootUrl = pathToFileURL(ROOT).href.replace(/\/?$/, "/");
    // npm packages (node_modules/) are not layers; which folders may use them is checked elsewhere
    const rel = (s: string) =>
      s.startsWith(rootUrl) && !s.startsWith(`${rootUrl}node_modules/`)
        ? s.slice(rootUrl.length)
        : undefined;
    const edges: Edge[] = [];
    for (const m of graph.modules) {
      const from = rel(m.specifier);
      if (!from) continue;
      for (const d of m.dependencies ?? []) {
        for (const r of [d.code, d.type]) {
          const to = r && rel(r.specifier);
          if (to) edges.push({ from, to });
        }
      }
    }
    return edges;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("layers: the checker flags an upward import and passes downward ones", () => {
  const entries = new Set(["mod.ts"]);
  assert.deepEqual(
    violations([
      { from: "loss/dice.ts", to: "core/types.ts" },
      { from: "scorer/scorer.ts", to: "plugins/builtin.ts" },
      { from: "mod.ts", to: "server/app.ts" },
    ], entries),
    [],
  );
  const bad = violations([
    { from: "loss/dice.ts", to: "plugins/builtin.ts" },
    { from: "transforms/jfa.ts", to: "backends/webgpu/device.ts" },
    { from: "core/types.ts", to: "tests/util.ts" },
  ], entries);
  assert.equal(bad.length, 3);
  assert.match(bad[0]!, /loss\/dice\.ts \(layer 2: loss\) imports plugins\/builtin\.ts \(layer 4/);
  assert.match(bad[1]!, /transforms\/jfa\.ts .* imports backends\/webgpu\/device\.ts/);
  assert.match(bad[2]!, /outside the layers/);
});

test("layers: no library module imports a higher layer (deno info --json)", () => {
  const edges = importGraph();
  // the graph was read: the scorer's imports of the loss layer are in it
  assert.ok(edges.some((e) => e.from === "scorer/scorer.ts" && e.to.startsWith("loss/")));
  assert.ok(edges.length > 100, `expected the whole graph but found ${edges.length} edges`);
  assert.deepEqual(violations(edges, reexportEntries()), []);
});
