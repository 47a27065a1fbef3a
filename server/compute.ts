/**
 * The work a request asks for, as plain data that crosses a Worker boundary, and the function
 * that runs it with the library. Scorers are cached per config (they are stateless between
 * `evaluate` calls).
 *
 * @module
 */
import type { NdArray } from "../core/ndarray.ts";
import type { Registry } from "../core/registry.ts";
import type { SignedDistanceConvention } from "../core/types.ts";
import { createScorer, defaultRegistry, signedDistance } from "../mod.ts";
import { type MetricsJob, type MetricsJobResult, runMetricsJob } from "./routes/metrics_job.ts";

/** A `POST /v1/loss` job. */
export interface LossJob {
  /** Discriminant. */
  kind: "loss";
  /** The scorer config, as the client sent it (validated by the library). */
  config: Record<string, unknown>;
  /** Scores `(N, C, ...spatial)`. */
  input: NdArray;
  /** Labels `(N, ...spatial)` or one-hot `(N, C, ...spatial)`. */
  target: NdArray;
  /** Precomputed signed distance maps `(N, C, ...spatial)`. */
  distance?: NdArray;
  /** Voxel spacing per spatial axis. */
  spacing?: number[];
  /** Epoch for the schedule. */
  epoch?: number;
  /** Whether to compute dTotal/dinput. */
  gradient: boolean;
}

/** A `POST /v1/distance` job. */
export interface DistanceJob {
  /** Discriminant. */
  kind: "distance";
  /** `"signed"`: signed maps of labels; `"edt"`: unsigned EDT of a mask. */
  mode: "signed" | "edt";
  /** Labels `(N, ...spatial)` or the mask. */
  array: NdArray;
  /** C (signed mode). */
  numClasses?: number;
  /** Voxel spacing per spatial axis. */
  spacing?: number[];
  /** Sign convention (signed mode). */
  convention?: SignedDistanceConvention;
  /** Trailing spatial axes (edt mode). */
  spatialDims?: number;
  /** The distance plugin name. */
  transform: string;
}

/** Any job. */
export type Job = LossJob | DistanceJob | MetricsJob;

/** What a loss job returns. */
export interface LossResult {
  /** Discriminant. */
  kind: "loss";
  /** The weighted total. */
  total: number;
  /** Each loss's unweighted value. */
  terms: Record<string, number>;
  /** The weight applied to each loss (after the schedule). */
  weights: Record<string, number>;
  /** dTotal/dinput, the input's shape. */
  gradient?: NdArray;
}

/** What a distance job returns. */
export interface DistanceResult {
  /** Discriminant. */
  kind: "distance";
  /** The map(s), float32. */
  result: NdArray;
}

/** Any result. */
export type JobResult = LossResult | DistanceResult | MetricsJobResult;

/** A result with the library's own compute time. */
export interface TimedResult {
  /** The result. */
  result: JobResult;
  /** Milliseconds spent in the library call. */
  computeMs: number;
  /** Where it ran (set by the executor). */
  where?: "inline" | "worker";
}

interface ScorerLike {
  evaluate(args: Record<string, unknown>): Promise<{
    total: number;
    terms: Record<string, number>;
    weights?: Record<string, number>;
    gradient?: NdArray;
  }>;
  dispose(): void;
}

const MAX_CACHED = 16;

/** Runs jobs against one registry, caching a scorer per distinct config. */
export class JobRunner {
  #registry: Registry | undefined;
  #defaultBackend: string;
  #scorers = new Map<string, Promise<ScorerLike>>();

  /**
   * @param registry The plugin registry (default: the library's default registry).
   * @param defaultBackend The backend for configs that name none.
   */
  constructor(registry: Registry | undefined, defaultBackend: string) {
    this.#registry = registry;
    this.#defaultBackend = defaultBackend;
  }

  #scorer(config: Record<string, unknown>): Promise<ScorerLike> {
    const full = { backend: this.#defaultBackend, ...config };
    const key = JSON.stringify(full);
    let s = this.#scorers.get(key);
    if (s) {
      this.#scorers.delete(key); // move to the back (LRU)
      this.#scorers.set(key, s);
      return s;
    }
    s = Promise.resolve().then(() =>
      createScorer(
        full as unknown as Parameters<typeof createScorer>[0],
        this.#registry ? { registry: this.#registry } : undefined,
      ) as unknown as Promise<ScorerLike>
    );
    this.#scorers.set(key, s);
    s.catch(() => this.#scorers.delete(key));
    if (this.#scorers.size > MAX_CACHED) {
      const [oldKey, old] = this.#scorers.entries().next().value!;
      this.#scorers.delete(oldKey);
      old.then((sc) => sc.dispose(), () => {});
    }
    return s;
  }

  /**
   * Runs a job.
   *
   * @param job The job.
   * @returns The result and the library's compute time.
   */
  async run(job: Job): Promise<TimedResult> {
    if (job.kind === "metrics") return runMetricsJob(job);
    if (job.kind === "loss") {
      const scorer = await this.#scorer(job.config);
      const t0 = performance.now();
      const args: Record<string, unknown> = {
        input: job.input,
        target: job.target,
        gradient: job.gradient,
      };
      if (job.distance) args.distance = job.distance;
      if (job.spacing) args.spacing = job.spacing;
      if (job.epoch !== undefined) args.epoch = job.epoch;
      const r = await scorer.evaluate(args);
      const computeMs = performance.now() - t0;
      const result: LossResult = {
        kind: "loss",
        total: r.total,
        terms: { ...r.terms },
        weights: { ...(r.weights ?? {}) },
      };
      if (job.gradient && r.gradient) {
        // a copy: the result's buffer is transferred out of a Worker, and a scorer may reuse its own
        result.gradient = { data: r.gradient.data.slice(), shape: [...r.gradient.shape] };
      }
      return { result, computeMs };
    }
    const registry = this.#registry ?? (defaultRegistry as unknown as Registry);
    const plugin = registry.get("distance", job.transform);
    const t0 = performance.now();
    const transform = await plugin.create();
    try {
      let out: NdArray;
      if (job.mode === "signed") {
        out = await signedDistance(job.array, {
          numClasses: job.numClasses!,
          spacing: job.spacing,
          convention: job.convention,
          transform,
        });
      } else {
        out = await transform.edt(job.array, {
          spacing: job.spacing,
          spatialDims: job.spatialDims,
        });
      }
      return { result: { kind: "distance", result: out }, computeMs: performance.now() - t0 };
    } finally {
      transform.dispose?.();
    }
  }

  /** Disposes every cached scorer. */
  dispose(): void {
    for (const s of this.#scorers.values()) s.then((sc) => sc.dispose(), () => {});
    this.#scorers.clear();
  }
}

/** The transferable buffers of a job or result (so postMessage moves instead of copying). */
export function transferables(x: Job | JobResult): ArrayBuffer[] {
  const arrays: (NdArray | undefined)[] = x.kind === "loss"
    ? "input" in x ? [x.input, x.target, x.distance] : [(x as LossResult).gradient]
    : "array" in x
    ? [x.array]
    : [(x as DistanceResult).result];
  const out = new Set<ArrayBuffer>();
  for (const a of arrays) {
    if (a && a.data.buffer instanceof ArrayBuffer) out.add(a.data.buffer);
  }
  return [...out];
}
