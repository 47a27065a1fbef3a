/**
 * `POST /v1/metrics`: a prediction and a target in, Dice, IoU, precision, recall,
 * specificity, relative volume difference, volume similarity, Hausdorff (max, HD95), ASSD and
 * normalized surface Dice per sample and class out, with their averages.
 *
 * @module
 */
import { Hono } from "hono";
import type { NdArray } from "../../core/ndarray.ts";
import { unprocessable } from "../errors.ts";
import { jsonBody, narrowBigInt, typeName } from "../arrays.ts";
import { METRIC_NAMES } from "../../metrics/compute.ts";
import { checkWork, metricsCost, metricsShape, metricsWork } from "../budget.ts";
import {
  type AppEnv,
  arrayField,
  declaredRank,
  ElementBudget,
  readFields,
  type RouteContext,
  valueField,
} from "../context.ts";
import { type MetricsJobResult, reportSize } from "./metrics_job.ts";
import { spacingField } from "./loss.ts";
import { runTimed, timingHeader } from "./timing.ts";

/** The fields `POST /v1/metrics` takes. */
export const METRICS_FIELDS = ["prediction", "target", "options", "spacing"] as const;

/**
 * The metrics route as a sub-app. Fields: `prediction` (labels `(N, ...spatial)`, int32 by
 * default in JSON, or scores `(N, C, ...spatial)`, float32 by default), `target` (labels),
 * `options` (the library's `computeMetrics` options as JSON) and `spacing` (shorthand for
 * `options.spacing`). The answer is the library's report as JSON, with NaN and Infinity
 * spelled `"NaN"` and `"Infinity"`.
 *
 * @param ctx Shared settings.
 * @returns A Hono app with `POST /`.
 */
export function metricsRoutes(ctx: RouteContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/", async (c) => {
    const f = await readFields(c, METRICS_FIELDS);
    const budget = new ElementBudget(ctx.maxElements);
    const options = valueField(f, "options") ?? {};
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw unprocessable(
        `Expected options to be an object (computeMetrics options) but found ${typeName(options)}`,
      );
    }
    const opts = { ...options } as Record<string, unknown>;
    const spacing = spacingField(valueField(f, "spacing"));
    if (spacing !== undefined) {
      if (opts.spacing !== undefined) {
        throw unprocessable("Expected spacing in the spacing field or in options, not both");
      }
      opts.spacing = spacing;
    }
    const targetRank = declaredRank(f, "target");
    const predRank = declaredRank(f, "prediction");
    const target = arrayField(f, "target", "int32", budget);
    if (!target) throw unprocessable("Expected the field target (labels (N, ...spatial))");
    const prediction = arrayField(
      f,
      "prediction",
      predRank !== undefined && predRank === targetRank ? "int32" : "float32",
      budget,
    );
    if (!prediction) {
      throw unprocessable(
        "Expected the field prediction (labels (N, ...spatial) or scores (N, C, ...spatial))",
      );
    }
    const pred = narrowBigInt(prediction, "prediction") as NdArray;
    const tgt = narrowBigInt(target, "target");
    // the budget, before any work: classes (numClasses, the largest label, options.classes),
    // the label volumes, the per-(sample, class) tables and the surface scratch
    const shape = metricsShape(pred, tgt, opts, ctx);
    checkWork(metricsWork(shape), "this metrics request", ctx);
    const timed = await runTimed(c, ctx.executor, {
      kind: "metrics",
      prediction: pred,
      target: tgt,
      options: opts,
      cost: metricsCost(shape),
    });
    const t0 = performance.now();
    const r = timed.result as MetricsJobResult;
    // big reports arrive as JSON text written by the job (off this thread in a Worker); the
    // biggest as objects, streamed (every table holds numSamples x classes numbers)
    const json = r.json ?? jsonBody(r.report!, reportSize(r.report!));
    return c.body(json, 200, {
      "Content-Type": "application/json",
      "Server-Timing": timingHeader(c, timed, performance.now() - t0),
    });
  });
  return app;
}

type Json = Record<string, unknown>;

/**
 * The OpenAPI 3.1 pieces of `POST /v1/metrics`: its path item and its schemas, for
 * `openapi.ts` to merge into the service's document.
 *
 * @returns `{ paths, schemas }`.
 */
export function metricsOpenApi(): { paths: Json; schemas: Json } {
  const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
  const err = (name: string): Json => ({ $ref: `#/components/responses/${name}` });
  const value: Json = {
    oneOf: [{ type: "number" }, { type: "string", enum: ["NaN", "Infinity", "-Infinity"] }],
  };
  const emptyValue: Json = {
    oneOf: [{ type: "number" }, { type: "string", enum: ["nan", "infinity", "diagonal"] }],
  };
  const metricName: Json = {
    type: "string",
    enum: [...METRIC_NAMES],
  };
  const options: Json = {
    type: "object",
    description: "computeMetrics options (see the library's docs)",
    properties: {
      metrics: { type: "array", items: metricName },
      spacing: ref("Spacing"),
      classes: { type: "array", items: { type: "integer", minimum: 0 } },
      includeBackground: { type: "boolean", default: false },
      numClasses: { type: "integer", minimum: 1 },
      threshold: { type: "number", default: 0.5 },
      tolerance: {
        oneOf: [{ type: "number", minimum: 0 }, {
          type: "array",
          items: { type: "number", minimum: 0 },
        }],
        description: "Surface Dice tolerance in physical units (required for nsd)",
      },
      hausdorffConvention: {
        type: "string",
        enum: ["monai", "medpy", "medpy-0.4"],
        default: "monai",
        description: "HD95: monai = per direction then the larger; medpy, medpy-0.4 = pooled",
      },
      assdConvention: {
        type: "string",
        enum: ["monai", "medpy", "medpy-0.4"],
        default: "monai",
        description: "ASSD: monai, medpy (>= 0.5) = pooled mean; medpy-0.4 = mean of the two " +
          "directed means",
      },
      border: {
        type: "string",
        enum: ["surface", "none"],
        default: "surface",
        description: "surface: foreground on the volume border is a surface (MONAI, medpy); " +
          "none: only background inside the volume makes a surface (crops)",
      },
      connectivity: {
        oneOf: [{ type: "string", enum: ["face", "full"] }, { type: "integer", minimum: 1 }],
        default: "face",
        description: "Surface neighbourhood: face (4/6), full (8/26) or medpy's 1..ndim",
      },
      empty: {
        type: "object",
        description: "Per metric: what both/prediction/target-empty cases get",
        additionalProperties: {
          type: "object",
          properties: { both: emptyValue, prediction: emptyValue, target: emptyValue },
        },
      },
      nan: { type: "string", enum: ["skip", "propagate"], default: "skip" },
    },
  };
  const schemas: Json = {
    MetricsRequest: {
      type: "object",
      required: ["prediction", "target"],
      additionalProperties: false,
      properties: {
        prediction: {
          ...ref("Array"),
          description: "Labels (N, ...spatial; int32 by default) or scores (N, C, ...spatial; " +
            "argmax, or > threshold when C = 1)",
        },
        target: { ...ref("Array"), description: "Labels (N, ...spatial), int32 by default" },
        options,
        spacing: ref("Spacing"),
      },
    },
    MetricsMultipart: {
      type: "object",
      required: ["prediction", "target"],
      properties: {
        prediction: { type: "string", contentMediaType: "application/x-npy" },
        target: { type: "string", contentMediaType: "application/x-npy" },
        options: { type: "string", contentMediaType: "application/json" },
        spacing: { type: "string", contentMediaType: "application/json" },
      },
    },
    MetricTable: {
      type: "object",
      required: ["metric", "classes", "values", "perClass", "perSample", "mean", "count"],
      properties: {
        metric: { type: "string" },
        classes: { type: "array", items: { type: "integer" } },
        values: {
          type: "array",
          items: { type: "array", items: value },
          description: "values[n][k]: sample n, class classes[k]",
        },
        perClass: { type: "array", items: value },
        perClassCount: { type: "array", items: { type: "integer" } },
        perClassSkipped: { type: "array", items: { type: "integer" } },
        perSample: { type: "array", items: value },
        perSampleCount: { type: "array", items: { type: "integer" } },
        perSampleSkipped: { type: "array", items: { type: "integer" } },
        mean: value,
        count: { type: "integer", description: "Entries that are not NaN" },
        skipped: { type: "integer", description: "NaN entries the averages skipped" },
      },
    },
    MetricsReport: {
      type: "object",
      required: ["classes", "numSamples", "spatialShape", "spacing", "conventions", "metrics"],
      properties: {
        classes: { type: "array", items: { type: "integer" } },
        numSamples: { type: "integer" },
        spatialShape: { type: "array", items: { type: "integer" } },
        spacing: { type: "array", items: { type: "number" } },
        conventions: { type: "object" },
        metrics: {
          type: "object",
          propertyNames: metricName,
          additionalProperties: ref("MetricTable"),
        },
      },
    },
  };
  const paths: Json = {
    "/v1/metrics": {
      post: {
        operationId: "metrics",
        summary: "Segmentation metrics: Dice, IoU, precision, recall, specificity, RAVD, " +
          "volume similarity, Hausdorff (max, HD95), ASSD, surface Dice",
        security: [{ bearer: [] }, {}],
        requestBody: {
          required: true,
          content: {
            "application/json": { schema: ref("MetricsRequest") },
            "multipart/form-data": { schema: ref("MetricsMultipart") },
          },
        },
        responses: {
          "200": {
            description: 'The report; NaN and Infinity are the strings "NaN", "Infinity", ' +
              '"-Infinity" (as in every JSON response)',
            content: { "application/json": { schema: ref("MetricsReport") } },
          },
          "400": err("BadRequest"),
          "401": err("Unauthorized"),
          "408": err("RequestTimeout"),
          "413": err("TooLarge"),
          "415": err("UnsupportedMediaType"),
          "422": err("Unprocessable"),
          "500": err("Internal"),
          "503": err("Unavailable"),
        },
      },
    },
  };
  return { paths, schemas };
}
