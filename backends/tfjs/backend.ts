/**
 * The `tfjs` backend of `createScorer`: the per-(sample, class) statistics and the gradient
 * computed with tfjs-core ops on whichever tfjs backend is active (tfjs's `cpu`, `webgpu`,
 * `webgl`, `wasm`, ...).
 *
 * @module
 */
import { quote, SeglossRangeError, SeglossTypeError } from "../../core/errors.ts";
import * as tf from "@tensorflow/tfjs-core";
import type { FloatArray } from "../../core/ndarray.ts";
import type {
  Backend,
  BackendBatch,
  GradientCoefficients,
  PreparedBatch,
  Statistics,
  StatTerm,
} from "../../core/types.ts";
import type { BackendPlugin } from "../../core/registry.ts";
import { signedDistance } from "../../transforms/signed_distance.ts";
import { checkTfjsBackendBatch, distanceLabels, missingDistanceError } from "../common.ts";
import { type Canonical, canonicalInput, canonicalTarget, PROB_FLOOR } from "./_tensors.ts";
import { isWebgpuTfBackend, signedDistanceTfWebgpu } from "./webgpu.ts";

/**
 * Options of {@linkcode createTfjsBackend} (also `config.backendOptions` of `createScorer`).
 *
 * @example Basic usage
 * ```ts
 * import type { TfjsBackendOptions } from "@segloss/segloss/tfjs";
 * import assert from "node:assert/strict";
 *
 * const o: TfjsBackendOptions = { tfBackend: "cpu" };
 * assert.equal(o.tfBackend, "cpu");
 * ```
 */
export interface TfjsBackendOptions {
  /**
   * The registered tfjs backend to run on (`"cpu"`, `"webgpu"`, or a name from
   * `registerTfjsWebgpu`). When given, `tf.setBackend(tfBackend)` is called before each batch
   * (that is tfjs's global backend: you asked for it); by default the active one is used.
   */
  tfBackend?: string;
}

const TERMS: readonly StatTerm[] = ["pt", "p", "p2", "t", "t2", "tlogp", "pphi"];

/** Coefficients `(N·C)` as a `(N, C, 1)` tensor (float32). */
function coef(a: Float64Array | undefined, n: number, c: number): tf.Tensor | undefined {
  if (!a) return undefined;
  let any = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== 0) {
      any = true;
      break;
    }
  }
  return any ? tf.tensor3d(Float32Array.from(a), [n, c, 1]) : undefined;
}

/**
 * Creates the `tfjs` backend: `prepare` uploads a batch as tensors, `statistics` sums the
 * requested terms with tfjs ops (one tensor of all sums, one download of N·C numbers per
 * term), `gradient` computes dL/dinput from the coefficients with tfjs ops (through the
 * softmax for logits, `p·(h − Σ p·h − Σ e·t) + e·t`, no division). Signed distance maps,
 * when needed and not given, come from the batch's distance request (any DistanceTransform);
 * with a transform that implements `signedOnDevice` (`jfa`, `edt-gpu`) on tfjs-backend-webgpu the
 * maps are written on tfjs's own device and stay there (`signedDistanceTfWebgpu`).
 * A tfjs backend must be registered (import `@tensorflow/tfjs-backend-cpu`, or use
 * `registerTfjsWebgpu`).
 *
 * @param options See {@linkcode TfjsBackendOptions}.
 * @returns The backend.
 *
 * @example Basic usage
 * ```ts
 * import { createTfjsBackend } from "@segloss/segloss/tfjs";
 * import "@tensorflow/tfjs-backend-cpu";
 * import assert from "node:assert/strict";
 *
 * const backend = createTfjsBackend({ tfBackend: "cpu" });
 * const prepared = await backend.prepare({
 *   input: { data: new Float32Array([0.2, 0.8]), shape: [1, 2, 1] },
 *   inputKind: "probs",
 *   numClasses: 2,
 *   labels: new Int32Array([1]),
 * });
 * const stats = await prepared.statistics(new Set(["pt"]));
 * assert.ok(Math.abs(stats.sums.pt![1]! - 0.8) < 1e-6);
 * prepared.dispose();
 * backend.dispose();
 * ```
 */
export function createTfjsBackend(options: TfjsBackendOptions = {}): Backend {
  if (typeof options !== "object" || options === null) {
    throw new SeglossTypeError(
      `Expected tfjs backend options to be an object but found ${quote(options)}`,
    );
  }
  for (const k of Object.keys(options)) {
    if (k !== "tfBackend") {
      throw new SeglossTypeError(
        `Expected tfjs backend options keys among tfBackend but found ${quote(k)}`,
      );
    }
  }
  const want = options.tfBackend;
  if (want !== undefined && typeof want !== "string") {
    throw new SeglossTypeError(
      `Expected tfBackend to be a string but found ${quote(want)}`,
    );
  }
  const live = new Set<PreparedBatch>();
  async function ready(): Promise<void> {
    if (want !== undefined) {
      if (tf.getBackend() !== want) {
        const ok = await tf.setBackend(want);
        if (!ok || tf.getBackend() !== want) {
          throw new Error(
            `Expected the tfjs backend ${quote(want)} to initialize but it did not ` +
              `(registered: ${tf.engine().backendNames().join(", ") || "none"})`,
          );
        }
      }
    } else {
      if (tf.engine().backendNames().length === 0) {
        throw new Error(
          'No tfjs backend is registered: import "@tensorflow/tfjs-backend-cpu" (or another ' +
            "tfjs backend) before using the tfjs backend",
        );
      }
      await tf.ready();
    }
  }
  return {
    name: "tfjs",
    async prepare(batch: BackendBatch): Promise<PreparedBatch> {
      const { n, c, vol } = checkTfjsBackendBatch(batch);
      await ready();
      const floatData = batch.input.data instanceof Float32Array
        ? batch.input.data
        : Float32Array.from(batch.input.data);
      const float64 = batch.input.data instanceof Float64Array;
      const x = tf.tensor3d(floatData, [n, c, vol]);
      // tfjs's cpu kernels are ~15x slower on broadcasting ops than on same-shape ones:
      // there, expand the small operand first (on GPU backends broadcasting is free)
      const shape3: [number, number, number] = [n, c, vol];
      const onCpu = tf.getBackend() === "cpu";
      const full = (v: tf.Tensor) => (onCpu ? tf.broadcastTo(v, shape3) : v);
      let ci!: Canonical;
      tf.tidy(() => {
        if (batch.inputKind === "logits") {
          const e = tf.exp(tf.sub(x, full(tf.max(x, 1, true))));
          const p = tf.div(e, full(tf.sum(e, 1, true)));
          ci = { ...canonicalInput(x, "probs", "channels-first"), p };
        } else {
          ci = canonicalInput(x, "probs", "channels-first");
        }
        return ci.p;
      });
      let logp: tf.Tensor | undefined;
      const getLogp = () =>
        logp ??= tf.tidy(() => {
          if (batch.inputKind === "logits") {
            const zs = tf.sub(x, full(tf.max(x, 1, true)));
            return tf.sub(zs, full(tf.log(tf.sum(tf.exp(zs), 1, true))));
          }
          return tf.log(tf.maximum(ci.p, PROB_FLOOR));
        });
      let t: tf.Tensor | undefined;
      if (batch.labels) {
        t = canonicalTarget(
          tf.tensor2d(batch.labels, [n, vol], "int32"),
          { ...ci, inShape: [n, c, vol] },
          batch.ignoreIndex,
          "batch.labels",
        );
      } else if (batch.onehot) {
        const oh = batch.onehot instanceof Float32Array
          ? batch.onehot
          : Float32Array.from(batch.onehot);
        t = tf.tensor3d(oh, [n, c, vol]);
      }
      let phi: tf.Tensor | undefined;
      if (batch.distance) phi = tf.tensor3d(batch.distance.data, [n, c, vol]);
      let phiReady: Promise<tf.Tensor> | undefined;
      const ensurePhi = (): Promise<tf.Tensor> => {
        if (phi) return Promise.resolve(phi);
        const missing = missingDistanceError(batch);
        if (missing) return Promise.reject(missing);
        const req = batch.distanceRequest!;
        const labels = {
          data: distanceLabels(batch, n, c, vol),
          shape: [n, ...batch.input.shape.slice(2)],
        };
        if (typeof req.transform.signedOnDevice === "function" && isWebgpuTfBackend()) {
          // a transform with the on-device capability (jfa, edt-gpu, a third party's) writes
          // the maps on the tfjs backend's own device: they never leave the GPU
          phiReady ??= signedDistanceTfWebgpu(labels, {
            numClasses: c,
            spacing: req.spacing,
            convention: req.convention,
            transform: req.transform,
          }).then((d) => {
            phi = tf.reshape(d, [n, c, vol]);
            d.dispose();
            return phi;
          });
        } else {
          phiReady ??= signedDistance(labels, {
            numClasses: c,
            spacing: req.spacing,
            convention: req.convention,
            transform: req.transform,
          }).then((d) => (phi = tf.tensor3d(d.data, [n, c, vol])));
        }
        return phiReady;
      };
      let disposed = false;
      const prepared: PreparedBatch = {
        async statistics(terms: ReadonlySet<StatTerm>): Promise<Statistics> {
          if (disposed) {
            throw new SeglossTypeError("Expected a live prepared batch but it was disposed");
          }
          for (const term of terms) {
            if (!TERMS.includes(term)) {
              throw new SeglossRangeError(
                `Expected statistic terms among ${TERMS.join(", ")} but found ${quote(term)}`,
              );
            }
          }
          if (terms.has("pphi")) await ensurePhi();
          const order = [...terms];
          const stacked = tf.tidy(() => {
            const p = ci.p;
            const zeros = () => tf.zeros([n, c]);
            const parts = order.map((term) => {
              switch (term) {
                case "pt":
                  return t ? tf.sum(tf.mul(p, t), 2) : zeros();
                case "p":
                  return tf.sum(p, 2);
                case "p2":
                  return tf.sum(tf.mul(p, p), 2);
                case "t":
                  return t ? tf.sum(t, 2) : zeros();
                case "t2":
                  return t ? tf.sum(tf.mul(t, t), 2) : zeros();
                case "tlogp":
                  return t ? tf.sum(tf.mul(t, getLogp()), 2) : zeros();
                case "pphi":
                  return tf.sum(tf.mul(p, phi!), 2);
              }
            });
            return parts.length > 0 ? tf.stack(parts) : tf.zeros([0]);
          });
          const data = await stacked.data<"float32">();
          stacked.dispose();
          const sums: Partial<Record<StatTerm, Float64Array>> = {};
          order.forEach((term, i) => {
            sums[term] = Float64Array.from(data.subarray(i * n * c, (i + 1) * n * c));
          });
          return { numSamples: n, numClasses: c, voxels: vol, sums };
        },
        async gradient(g: GradientCoefficients): Promise<FloatArray> {
          if (disposed) {
            throw new SeglossTypeError("Expected a live prepared batch but it was disposed");
          }
          const NC = n * c;
          for (const [key, arr] of Object.entries(g)) {
            if (arr !== undefined && (!(arr instanceof Float64Array) || arr.length !== NC)) {
              throw new SeglossTypeError(
                `Expected gradient coefficient ${key} to be a Float64Array of length ${NC}`,
              );
            }
          }
          if (g.phi?.some((v) => v !== 0)) await ensurePhi();
          const out = tf.tidy(() => {
            const p = ci.p;
            const a = coef(g.t, n, c), b = coef(g.one, n, c), cp = coef(g.p, n, c);
            const d = coef(g.phi, n, c), e = coef(g.tOverP, n, c);
            let h: tf.Tensor | undefined;
            const plus = (v: tf.Tensor) => (h = h ? tf.add(h, v) : v);
            if (a && t) plus(tf.mul(full(a), t));
            if (b) plus(full(b));
            if (cp) plus(tf.mul(full(cp), p));
            if (d) plus(tf.mul(full(d), phi!));
            h ??= tf.zeros(shape3);
            if (batch.inputKind === "logits") {
              let s = tf.sum(tf.mul(p, h), 1, true);
              const et = e && t ? tf.mul(full(e), t) : undefined;
              if (et) s = tf.add(s, tf.sum(et, 1, true));
              let r = tf.mul(p, tf.sub(h, full(s)));
              if (et) r = tf.add(r, et);
              return r;
            }
            if (e && t) h = tf.add(h, tf.div(tf.mul(full(e), t), tf.maximum(p, PROB_FLOOR)));
            return h;
          });
          const data = await out.data<"float32">();
          out.dispose();
          return float64 ? Float64Array.from(data) : data;
        },
        dispose() {
          if (disposed) return;
          disposed = true;
          live.delete(prepared);
          x.dispose();
          ci.p.dispose();
          logp?.dispose();
          t?.dispose();
          phi?.dispose();
          if (!phi && phiReady) phiReady.then((p) => p.dispose(), () => {});
        },
      };
      live.add(prepared);
      return prepared;
    },
    dispose() {
      for (const p of [...live]) p.dispose();
    },
  };
}

/**
 * The `tfjs` backend plugin: add it to a registry to use `backend: "tfjs"` in `createScorer`
 * (`config.backendOptions` are {@linkcode TfjsBackendOptions}). Priority -1: `"auto"` never
 * prefers it over `cpu` (it is a bridge for tfjs users, not the fastest path).
 *
 * @example Basic usage
 * ```ts
 * import { builtinPlugins, createRegistry, createScorer } from "@segloss/segloss";
 * import { tfjsPlugin } from "@segloss/segloss/tfjs";
 * import "@tensorflow/tfjs-backend-cpu";
 * import assert from "node:assert/strict";
 *
 * const registry = createRegistry([...builtinPlugins, tfjsPlugin]);
 * const scorer = await createScorer(
 *   { backend: "tfjs", input: "probs", losses: [{ name: "dice" }] },
 *   { registry },
 * );
 * const r = await scorer.evaluate({
 *   input: { data: new Float32Array([1, 0, 0, 1]), shape: [1, 2, 2] },
 *   target: { data: new Uint8Array([0, 1]), shape: [1, 2] },
 * });
 * assert.ok(r.total < 1e-5);
 * scorer.dispose();
 * ```
 */
export const tfjsPlugin: BackendPlugin<"tfjs"> = {
  kind: "backend",
  name: "tfjs",
  description: "TensorFlow.js ops (tfjs cpu, webgpu, ...): statistics and gradient as tensors",
  priority: -1,
  isAvailable: () => true,
  create: (options) => createTfjsBackend((options ?? {}) as TfjsBackendOptions),
};
