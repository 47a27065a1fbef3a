// The page side of tests/forms/browser_test.ts: loaded next to the esbuild bundle (mod.js,
// with edt_worker.js beside it) in headless Chromium; `runAll(cases)` computes what the test
// compares with the in-process result and the numpy/scipy fixture.
// the bundle beside this file (a computed URL: `deno check tests/` must not resolve it here)
const {
  capabilities,
  createEdtWorkerPool,
  createScorer,
  edt,
  edtParallel,
  signedDistance,
} = await import(new URL("./mod.js", import.meta.url).href);

async function score(c, extra) {
  const scorer = await createScorer({ ...c.config, ...extra });
  try {
    const r = await scorer.evaluate({
      input: { data: new Float32Array(c.input.data), shape: c.input.shape },
      target: { data: new Uint8Array(c.target.data), shape: c.target.shape },
      gradient: true,
    });
    return {
      total: r.total,
      terms: r.terms,
      gradient: Array.from(r.gradient.data),
      info: scorer.info(),
    };
  } finally {
    scorer.dispose();
  }
}

export async function runAll(cases) {
  const out = { crossOriginIsolated: globalThis.crossOriginIsolated === true };
  out.capabilities = await capabilities();
  const e = cases.edt;
  const mask = { data: new Uint8Array(e.mask.data), shape: e.mask.shape };
  out.edt = Array.from(edt(mask, { spacing: e.spacing }).data);
  const s = cases.distance;
  const sd = await signedDistance(
    { data: new Uint8Array(s.labels.data), shape: s.labels.shape },
    { numClasses: s.numClasses, spacing: s.spacing },
  );
  out.signed = Array.from(sd.data);
  out.cpu = await score(cases.small2d, { backend: "cpu" });
  try {
    edt(mask, { spacing: [1, -1] });
    out.error = "no error";
  } catch (err) {
    out.error = `${err.name}: ${err.message}`;
  }
  try {
    const pool = createEdtWorkerPool({ workers: 2 });
    out.parallel = {
      threaded: pool.threaded,
      data: Array.from((await pool.edt(mask, { spacing: e.spacing })).data),
    };
    pool.close();
    out.parallel.oneShot = Array.from(
      (await edtParallel(mask, { spacing: e.spacing, workers: 2 })).data,
    );
  } catch (err) {
    out.parallel = { error: String(err?.stack ?? err) };
  }
  if (out.capabilities.webgpu.available) {
    try {
      out.webgpu = await score(cases.small2d, { backend: "webgpu", distance: "jfa" });
    } catch (err) {
      out.webgpu = { error: String(err?.stack ?? err) };
    }
  }
  return out;
}
