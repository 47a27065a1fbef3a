/**
 * Load benchmark of the scoring service: starts `server/main.ts` as its own process (Deno:
 * `deno serve`; `--runtime bun`: `bun run`), then
 * 1. sends sequential requests and reads their `Server-Timing` headers: the server's
 *    per-request overhead (decode + worker hand-off + encode + routing = total − compute)
 *    against the library's own compute time for the same request;
 * 2. runs Debian's `wrk` (apt-get install wrk): 64 connections for 30 s of
 *    `POST /v1/loss` (dice + boundary, 1x2x256x256 float32 logits + uint8 labels as `.npy`
 *    multipart), and reports requests/s, p50/p99 latency, errors (non-2xx and socket errors);
 * 3. samples the server's RSS every 250 ms during the run (peak, and first vs last third).
 *
 * `--soak SECONDS` runs a soak instead: concurrent clients (`--connections`, default 16) send a
 * mix of valid requests (loss, distance, metrics; their answers checked) and hostile ones from
 * tests/hostile_test.ts's classes (over-limit classes, pathological .npy headers, big JSON,
 * broken bodies, thread options, bad tokens) for that long, and it reports req/s, p50/p99 of
 * the valid requests, errors (a wrong status, a wrong value or a socket error), and the
 * server's RSS at the start, its peak and at the end.
 *
 * ```sh
 * deno run -A bench/load.ts [--runtime deno|bun] [--compute auto|worker|inline|hybrid]
 *   [--parallel true] [--duration 30]
 *   [--connections 64] [--sequential 200]
 * deno run -A bench/load.ts --soak 120 [--runtime deno|bun] [--connections 16]
 * ```
 *
 * @module
 */
import { encodeNpy } from "../io/npy.ts";
import { buildMultipart } from "../tests/_multipart.ts";

const args = new Map<string, string>();
for (let i = 0; i < Deno.args.length; i += 2) {
  args.set(Deno.args[i]!.replace(/^--/, ""), Deno.args[i + 1]!);
}
const runtime = args.get("runtime") ?? "deno";
const duration = Number(args.get("duration") ?? 30);
const connections = Number(args.get("connections") ?? 64);
const sequential = Number(args.get("sequential") ?? 200);
const compute = args.get("compute") ?? "auto";
const parallel = args.get("parallel") === "true"; // deno serve --parallel: one isolate per core
const soak = args.has("soak") ? Number(args.get("soak")) : undefined;
const ROOT = new URL("..", import.meta.url).pathname;

// --- the request: dice + boundary on 1x2x256x256 logits, labels a disk -----------------------
function requestBody(gradient: boolean): { body: Uint8Array; contentType: string } {
  const S = 256;
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return (seed + 0.5) / 4294967296;
  };
  const logits = new Float32Array(2 * S * S);
  for (let i = 0; i < logits.length; i++) {
    logits[i] = Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
  }
  const labels = new Uint8Array(S * S);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      labels[y * S + x] = (y - 0.4 * S) ** 2 + (x - 0.55 * S) ** 2 < (0.2 * S) ** 2 ? 1 : 0;
    }
  }
  const config = {
    input: "logits",
    losses: [
      { name: "dice", options: { classes: [1] } },
      { name: "boundary", weight: 0.5, options: { classes: [1] } },
    ],
  };
  return buildMultipart([
    { name: "config", value: JSON.stringify(config) },
    { name: "gradient", value: JSON.stringify(gradient) },
    { name: "input", value: encodeNpy({ data: logits, shape: [1, 2, S, S] }) },
    { name: "target", value: encodeNpy({ data: labels, shape: [1, S, S] }) },
  ]);
}

/** The soak's server settings: a token (so bad tokens are tested), a short body deadline. */
function soakEnv(): Record<string, string> {
  return soak === undefined ? {} : {
    SEGLOSS_TOKEN: "soak-token",
    SEGLOSS_BODY_TIMEOUT_MS: "5000",
    SEGLOSS_MAX_JSON_BYTES: String(2 ** 20),
  };
}

// --- the server -------------------------------------------------------------------------------
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const port = freePort();
const url = `http://127.0.0.1:${port}`;
const bunBin = `${ROOT}node_modules/bun/bin/bun.exe`;
const cmd = runtime === "bun"
  ? new Deno.Command(bunBin, {
    args: ["run", "server/main.ts"],
    cwd: ROOT,
    env: { PORT: String(port), SEGLOSS_COMPUTE: compute, ...soakEnv() },
    stdout: "null",
    stderr: "inherit",
  })
  : new Deno.Command(Deno.execPath(), {
    args: [
      "serve",
      "-A",
      ...(parallel ? ["--parallel"] : []),
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "server/main.ts",
    ],
    cwd: ROOT,
    env: { SEGLOSS_COMPUTE: compute, ...soakEnv() },
    stdout: "null",
    stderr: "inherit",
  });
const server = cmd.spawn();
for (let i = 0;; i++) {
  try {
    if ((await fetch(`${url}/healthz`)).ok) break;
  } catch {
    if (i > 300) throw new Error("server did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
}

function rssMiB(): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${server.pid}/status`);
    return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
  } catch {
    return NaN;
  }
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

// --- 1. sequential: overhead vs compute --------------------------------------------------------
interface Phase {
  decode: number;
  queue: number;
  compute: number;
  encode: number;
  total: number;
  client: number;
}

async function measure(gradient: boolean): Promise<Record<string, number | string>> {
  const { body, contentType } = requestBody(gradient);
  const headers = { "Content-Type": contentType, Accept: "application/x-npy, application/json" };
  const phases: Phase[] = [];
  const where = new Set<string>();
  for (let i = 0; i < sequential + 20; i++) {
    const t0 = performance.now();
    const res = await fetch(`${url}/v1/loss`, {
      method: "POST",
      headers,
      body: body as Uint8Array<ArrayBuffer>,
    });
    await res.arrayBuffer();
    const client = performance.now() - t0;
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    if (i < 20) continue; // warm-up (scorer cache, JIT, both Workers)
    const timing = Object.fromEntries(
      res.headers.get("server-timing")!.split(",").map((p) => {
        const [k, v] = p.trim().split(";dur=");
        return [k!.split(";")[0]!, Number(v)];
      }),
    );
    phases.push({ ...timing, client } as Phase);
    where.add(/desc="(\w+)"/.exec(res.headers.get("server-timing")!)?.[1] ?? "?");
  }
  const med = (k: keyof Phase) => quantile(phases.map((p) => p[k]), 0.5);
  const overhead = quantile(phases.map((p) => p.total - p.compute), 0.5);
  const clientOverhead = quantile(phases.map((p) => p.client - p.compute), 0.5);
  return {
    where: [...where].join("+"),
    bodyBytes: body.length,
    decode: med("decode"),
    queue: med("queue"),
    compute: med("compute"),
    encode: med("encode"),
    total: med("total"),
    client: med("client"),
    overhead,
    ratio: overhead / med("compute"),
    clientOverhead,
    clientRatio: clientOverhead / med("compute"),
  };
}

if (soak !== undefined) {
  await runSoak(soak);
  Deno.exit(Deno.exitCode ?? 0);
}

const rssIdle = rssMiB();
const loadBefore = Deno.loadavg().map((x) => x.toFixed(2)).join(", ");
const seqNoGrad = await measure(false);
const seqGrad = await measure(true);

// --- 2. wrk under load, RSS sampled ------------------------------------------------------------
const { body, contentType } = requestBody(false);
const dir = await Deno.makeTempDir();
await Deno.writeFile(`${dir}/body.bin`, body);
await Deno.writeTextFile(
  `${dir}/post.lua`,
  `local f = assert(io.open("${dir}/body.bin", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "${contentType}"
`,
);
const samples: { t: number; rss: number }[] = [];
const t0 = performance.now();
const sampler = setInterval(
  () => samples.push({ t: (performance.now() - t0) / 1000, rss: rssMiB() }),
  250,
);
const wrk = await new Deno.Command("wrk", {
  args: [
    "-t2",
    `-c${connections}`,
    `-d${duration}s`,
    "--timeout",
    "30s",
    "--latency",
    "-s",
    `${dir}/post.lua`,
    `${url}/v1/loss`,
  ],
  stdout: "piped",
  stderr: "piped",
}).output();
clearInterval(sampler);
const out = new TextDecoder().decode(wrk.stdout);
const rssAfter = rssMiB();
server.kill("SIGTERM");
const killer = setTimeout(() => server.kill("SIGKILL"), 10_000);
await server.status;
clearTimeout(killer);
await Deno.remove(dir, { recursive: true });

const num = (re: RegExp) => {
  const m = re.exec(out);
  return m ? m[1]! : "0";
};
const toMs = (s: string) => {
  const m = /([\d.]+)(us|ms|s)/.exec(s);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === "us" ? 1e-3 : m[2] === "s" ? 1e3 : 1);
};
const requests = Number(num(/(\d+) requests in/));
const rps = Number(num(/Requests\/sec:\s+([\d.]+)/));
const p50 = toMs(num(/^\s+50%\s+(\S+)/m));
const p99 = toMs(num(/^\s+99%\s+(\S+)/m));
const non2xx = Number(num(/Non-2xx or 3xx responses: (\d+)/));
const sockErr = /Socket errors: (.*)/.exec(out)?.[1] ?? "none";
const third = samples.length / 3;
const maxOf = (xs: { rss: number }[]) => Math.max(...xs.map((s) => s.rss));
const rssFirst = maxOf(samples.slice(0, Math.floor(third)));
const rssLast = maxOf(samples.slice(Math.floor(2 * third)));
const rssPeak = maxOf(samples);

const f = (x: number, d = 2) => x.toFixed(d);
const load = Deno.loadavg().map((x) => x.toFixed(2)).join(", ");
console.log(
  `## Load benchmark (${runtime}${
    parallel ? " --parallel" : ""
  }, compute ${compute}, ${navigator.hardwareConcurrency} cores, ` +
    `load average before the run ${loadBefore})\n`,
);
console.log(`(load average after the run: ${load})\n`);
console.log(`Sequential (${sequential} requests after 20 warm-up; medians, ms; Server-Timing):\n`);
console.log(
  "| request | body | decode | queue+hand-off | compute (library) | encode | server total | client round trip | overhead/compute (server) | (client) |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const [name, r] of [["no gradient", seqNoGrad], ["gradient as .npy", seqGrad]] as const) {
  const s = r as Record<string, number>;
  console.log(
    `| ${name} (${r.where}) | ${f(s.bodyBytes! / 1024, 0)} KiB | ${f(s.decode!)} | ${
      f(s.queue!)
    } | ${f(s.compute!)} | ${f(s.encode!)} | ${f(s.total!)} | ${f(s.client!)} | ${
      f(100 * s.ratio!, 1)
    }% | ${f(100 * s.clientRatio!, 1)}% |`,
  );
}
console.log(`\nwrk: ${connections} connections, ${duration} s, 2 threads:\n`);
console.log(
  "| requests | req/s | p50 | p99 | non-2xx | socket errors | RSS idle | RSS peak | RSS max first third | RSS max last third | RSS after |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
console.log(
  `| ${requests} | ${f(rps, 1)} | ${f(p50, 1)} ms | ${f(p99, 1)} ms | ${non2xx} | ${sockErr} | ${
    f(rssIdle, 0)
  } MiB | ${f(rssPeak, 0)} MiB | ${f(rssFirst, 0)} MiB | ${f(rssLast, 0)} MiB | ${
    f(rssAfter, 0)
  } MiB |`,
);
console.log("\n<details><summary>wrk output</summary>\n\n```\n" + out.trim() + "\n```\n</details>");
if (non2xx > 0 || sockErr !== "none") {
  console.error("errors during the load run");
  Deno.exitCode = 1;
}

// --- soak: valid and hostile requests mixed, for a long time ------------------------------------
interface SoakCase {
  name: string;
  init: RequestInit;
  path: string;
  status: number;
  check?: (body: unknown) => boolean;
}

function soakCases(): SoakCase[] {
  const auth = { Authorization: "Bearer soak-token" };
  const json = { ...auth, "Content-Type": "application/json" };
  const mp = requestBody(false);
  const npyHeader = (text: string) => {
    const h = new TextEncoder().encode(text);
    const out = new Uint8Array(10 + h.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(out.buffer).setUint16(8, h.length, true);
    out.set(h, 10);
    return out;
  };
  const badNpy = buildMultipart([
    { name: "config", value: '{"losses":[{"name":"dice"}]}' },
    {
      name: "input",
      value: npyHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (${"9".repeat(32)} `),
    },
  ]);
  const tiny = { shape: [1, 2], data: [0, 1] };
  const post = (body: BodyInit, headers: Record<string, string> = json): RequestInit => ({
    method: "POST",
    headers,
    body,
  });
  return [
    {
      name: "valid loss (.npy multipart 256x256)",
      path: "/v1/loss",
      init: post(mp.body as BodyInit, { ...auth, "Content-Type": mp.contentType }),
      status: 200,
      check: (b) => Number.isFinite((b as { total: number }).total),
    },
    {
      name: "valid distance",
      path: "/v1/distance",
      init: post(JSON.stringify({ mask: { shape: [4], data: [0, 1, 1, 1] } })),
      status: 200,
      check: (b) => JSON.stringify((b as { data: number[] }).data) === "[0,1,2,3]",
    },
    {
      name: "valid metrics",
      path: "/v1/metrics",
      init: post(JSON.stringify({
        prediction: { shape: [1, 4], data: [0, 1, 1, 0] },
        target: { shape: [1, 4], data: [0, 0, 1, 1] },
        options: { metrics: ["dice"] },
      })),
      status: 200,
      check: (b) => (b as { metrics: { dice: { mean: number } } }).metrics.dice.mean === 0.5,
    },
    {
      name: "numClasses 1e8",
      path: "/v1/metrics",
      init: post(JSON.stringify({ prediction: tiny, target: tiny, options: { numClasses: 1e8 } })),
      status: 413,
    },
    {
      name: "label 2^31-1",
      path: "/v1/distance",
      init: post(JSON.stringify({ labels: { shape: [1, 2], data: [0, 2147483647] } })),
      status: 413,
    },
    {
      name: "32-digit .npy shape",
      path: "/v1/loss",
      init: post(badNpy.body as BodyInit, { ...auth, "Content-Type": badNpy.contentType }),
      status: 400,
    },
    {
      name: "2 MiB JSON",
      path: "/v1/loss",
      init: post(" ".repeat(2 * 2 ** 20) + "{}"),
      status: 413,
    },
    {
      name: "distanceOptions.workers 512",
      path: "/v1/loss",
      init: post(JSON.stringify({
        config: { losses: [{ name: "boundary" }], distanceOptions: { workers: 512 } },
        input: { shape: [1, 2, 2], data: [0, 0, 0, 0] },
        target: { shape: [1, 2], data: [0, 1] },
      })),
      status: 422,
    },
    {
      name: "Bearer  wrong",
      path: "/v1/plugins",
      init: { headers: { Authorization: "Bearer  wrong" } },
      status: 401,
    },
    {
      name: "5 MiB loss name",
      path: "/v1/loss",
      init: post(JSON.stringify({ config: { losses: [{ name: "x".repeat(2 ** 19) }] } })),
      status: 422,
    },
  ];
}

async function runSoak(seconds: number): Promise<void> {
  const cases = soakCases();
  const conns = Number(args.get("connections") ?? 16);
  const stats = new Map<
    string,
    { sent: number; errors: number; ms: number[]; statuses: Set<number> }
  >();
  for (const c of cases) stats.set(c.name, { sent: 0, errors: 0, ms: [], statuses: new Set() });
  const rssStart = rssMiB();
  let rssPeak = rssStart;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB())), 250);
  const end = performance.now() + seconds * 1000;
  const errors: string[] = [];
  let i = 0;
  const loop = async () => {
    while (performance.now() < end) {
      // two valid requests (loss, distance, metrics in turn) in three, then a hostile one
      const k = i++;
      const c = k % 3 === 2
        ? cases[3 + (Math.floor(k / 3) % (cases.length - 3))]!
        : cases[(k - Math.floor(k / 3)) % 3]!;
      const s = stats.get(c.name)!;
      const t0 = performance.now();
      try {
        const res = await fetch(`${url}${c.path}`, c.init);
        const text = await res.text();
        s.sent++;
        s.ms.push(performance.now() - t0);
        s.statuses.add(res.status);
        let ok = res.status === c.status;
        if (ok && c.check) ok = c.check(JSON.parse(text));
        if (!ok) {
          s.errors++;
          if (errors.length < 5) errors.push(`${c.name}: ${res.status} ${text.slice(0, 200)}`);
        }
      } catch (e) {
        s.sent++;
        s.errors++;
        if (errors.length < 5) errors.push(`${c.name}: ${e}`);
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conns }, loop));
  const elapsed = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  await new Promise((r) => setTimeout(r, 2000)); // let the server settle before the end RSS
  const rssEnd = rssMiB();
  server.kill("SIGTERM");
  await server.status;
  const total = [...stats.values()].reduce((a, s) => a + s.sent, 0);
  const errs = [...stats.values()].reduce((a, s) => a + s.errors, 0);
  const f = (x: number, d = 1) => x.toFixed(d);
  console.log(
    `## Soak (${runtime}, compute ${compute}, ${conns} clients, ${seconds} s, ` +
      `${navigator.hardwareConcurrency} cores, load average ${
        Deno.loadavg().map((x) => x.toFixed(2)).join(", ")
      })\n`,
  );
  console.log(
    `${total} requests, ${f(total / elapsed)} req/s, ${errs} errors; server RSS start ${
      f(rssStart, 0)
    } MiB, peak ${f(rssPeak, 0)} MiB, end ${f(rssEnd, 0)} MiB\n`,
  );
  console.log("| request | sent | statuses | p50 ms | p99 ms | errors |");
  console.log("|---|---|---|---|---|---|");
  for (const c of cases) {
    const s = stats.get(c.name)!;
    const p = (q: number) => (s.ms.length ? f(quantile(s.ms, q)) : "-");
    console.log(
      `| ${c.name} | ${s.sent} | ${[...s.statuses].join(", ")} | ${p(0.5)} | ${
        p(0.99)
      } | ${s.errors} |`,
    );
  }
  for (const e of errors) console.error(e);
  if (errs > 0) Deno.exitCode = 1;
}
