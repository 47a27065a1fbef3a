/**
 * `segloss metrics` on a folder of 20 3-D cases (160×160×96, four classes, two of them small
 * structures; bench/cli_data.py) against the classical route, a Python loop with nibabel +
 * scipy (bench/cli_ref.py), in the same run: wall time of the whole command (process start
 * included), time to the first case's result, and the ratio. The values of both routes are
 * compared (counts exactly, HD95/ASSD to 1e-4 mm).
 *
 * Run: deno run -A bench/cli.ts [--cases 20] [--runtimes deno,bun,node] [--jobs N]
 * Needs Debian's /usr/bin/python3 with python3-nibabel and python3-scipy.
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { bundleCliForNode } from "../tests/util.ts";

const args = process.argv.slice(2);
function arg(name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
}
const cases = Number(arg("cases", "20"));
const runtimes = arg("runtimes", "deno,bun,node").split(",");
const jobs = arg("jobs", "");
const root = fileURLToPath(new URL("..", import.meta.url));
const out = join(root, "bench", "out", "cli");
const data = join(out, `data_${cases}`);
const py = "/usr/bin/python3";
const bin = join(root, "node_modules", ".bin");

if (!existsSync(join(data, "gt")) || readdirSync(join(data, "gt")).length !== cases) {
  console.error(`writing ${cases} cases to ${data} ...`);
  const r = spawnSync(py, [join(root, "bench", "cli_data.py"), data, String(cases)], {
    stdio: "inherit",
  });
  if (r.status !== 0) throw new Error("bench/cli_data.py failed");
}

interface Timed {
  seconds: number;
  first: number;
  stdout: string;
}

/** Runs a command; `first` is when a stdout line first matches `firstLine`. */
function timed(cmd: string, argv: string[], firstLine: RegExp): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = NaN;
    let stdout = "";
    let stderr = "";
    const child = spawn(cmd, argv, { env: { ...process.env, NO_COLOR: "1" } });
    child.stdout.on("data", (d: Uint8Array) => {
      stdout += new TextDecoder().decode(d);
      if (Number.isNaN(first) && firstLine.test(stdout)) first = (performance.now() - t0) / 1000;
    });
    child.stderr.on("data", (d: Uint8Array) => (stderr += new TextDecoder().decode(d)));
    child.on("error", reject);
    child.on("close", (code: number) => {
      if (code !== 0) reject(new Error(`${cmd} ${argv.join(" ")} exited ${code}: ${stderr}`));
      else resolve({ seconds: (performance.now() - t0) / 1000, first, stdout });
    });
  });
}

mkdirSync(out, { recursive: true });
const rows: { route: string; seconds: number; first: number }[] = [];
const refJson = join(out, "ref.json");
console.error("python loop (nibabel + scipy) ...");
const ref = await timed(
  py,
  [join(root, "bench", "cli_ref.py"), join(data, "pred"), join(data, "gt"), refJson],
  /first case/,
);
rows.push({ route: "Python loop: nibabel + scipy", seconds: ref.seconds, first: ref.first });
type Values = Record<string, Record<string, Record<string, number>>>;
const refValues = JSON.parse(readFileSync(refJson, "utf8")).cases as Values;

// the CLI bundled for Node (no Workers on Node 20: inline)
let nodeBundle = "";
if (runtimes.includes("node")) {
  nodeBundle = join(out, "segloss-cli.mjs");
  await bundleCliForNode(nodeBundle);
}

let worst = 0;
for (const rt of runtimes) {
  const json = join(out, `segloss_${rt}.json`);
  const cliArgs = ["metrics", join(data, "pred"), join(data, "gt"), "--json", json];
  if (jobs) cliArgs.push("--jobs", jobs);
  const [cmd, argv] = rt === "deno"
    ? [join(bin, "deno"), ["run", "-A", join(root, "cli", "main.ts"), ...cliArgs]]
    : rt === "bun"
    ? [join(bin, "bun"), [join(root, "cli", "main.ts"), ...cliArgs]]
    : ["/usr/bin/node", [nodeBundle, ...cliArgs]];
  console.error(`segloss metrics on ${rt} ...`);
  const r = await timed(cmd, argv, /^case_000 /m);
  const s = JSON.parse(readFileSync(json, "utf8"));
  rows.push({
    route: `segloss metrics, ${rt} (${
      s.timing.workers ? `${s.timing.workers} Workers` : "inline"
    })`,
    seconds: r.seconds,
    first: r.first,
  });
  for (const c of s.metric_per_case) {
    for (const [cls, v] of Object.entries(c.metrics as Record<string, Record<string, number>>)) {
      const e = refValues[c.case]?.[cls];
      if (e === undefined) throw new Error(`${c.case} class ${cls}: missing in the reference`);
      for (const k of ["TP", "FP", "FN", "TN"]) {
        if (v[k] !== e[k]) throw new Error(`${c.case} class ${cls} ${k}: ${v[k]} vs ${e[k]}`);
      }
      for (const k of ["hd95", "assd", "hausdorff"]) {
        if (e[k] === undefined) continue;
        worst = Math.max(worst, Math.abs(v[k]! - e[k]!));
      }
    }
  }
}
if (worst > 1e-4) throw new Error(`HD95/ASSD differ from scipy by ${worst} mm`);

const cpus = navigator.hardwareConcurrency;
console.log(
  `\n${cases} cases of 160×160×96 (4 classes), ${cpus} CPUs; values agree with scipy (counts exact, distances within ${
    worst.toExponential(1)
  } mm)\n`,
);
console.log("| route | wall time (s) | first case (s) | speed-up vs Python |");
console.log("|---|---:|---:|---:|");
for (const r of rows) {
  console.log(
    `| ${r.route} | ${r.seconds.toFixed(2)} | ${r.first.toFixed(2)} | ${
      (ref.seconds / r.seconds).toFixed(1)
    }x |`,
  );
}
