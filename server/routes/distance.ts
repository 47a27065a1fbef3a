/**
 * `POST /v1/distance`: labels in, signed distance maps out; or a mask in, its unsigned EDT out.
 *
 * @module
 */
import { Hono } from "hono";
import type { SignedDistanceConvention } from "../../core/types.ts";
import { unprocessable } from "../errors.ts";
import { jsonArrayBody, narrowBigInt, npyBody, typeName } from "../arrays.ts";
import { checkClasses, checkWork, maxValue, signedWork } from "../budget.ts";
import {
  type AppEnv,
  arrayField,
  checkAvailable,
  ElementBudget,
  hasField,
  readFields,
  type RouteContext,
  valueField,
  wantsNpy,
} from "../context.ts";
import type { DistanceResult } from "../compute.ts";
import { spacingField } from "./loss.ts";
import { runTimed, timingHeader } from "./timing.ts";

/** The fields `POST /v1/distance` takes. */
export const DISTANCE_FIELDS = [
  "labels",
  "mask",
  "numClasses",
  "spacing",
  "convention",
  "spatialDims",
  "transform",
] as const;

/**
 * The distance route as a sub-app.
 *
 * @param ctx Shared settings.
 * @returns A Hono app with `POST /`.
 */
export function distanceRoutes(ctx: RouteContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/", async (c) => {
    const f = await readFields(c, DISTANCE_FIELDS);
    const hasLabels = hasField(f, "labels");
    if (hasLabels === hasField(f, "mask")) {
      throw unprocessable(
        "Expected exactly one of the fields labels (signed distance maps) and mask (unsigned EDT)",
      );
    }
    const budget = new ElementBudget(ctx.maxElements);
    const name = hasLabels ? "labels" : "mask";
    const array = narrowBigInt(arrayField(f, name, hasLabels ? "int32" : "uint8", budget)!, name);
    const transform = valueField(f, "transform") ?? "edt";
    if (typeof transform !== "string") {
      throw unprocessable(
        `Expected transform to be a plugin name but found ${typeName(transform)}`,
      );
    }
    await checkAvailable(ctx, "distance", transform, "transform");
    const spacing = spacingField(valueField(f, "spacing"));
    const convention = valueField(f, "convention");
    if (convention !== undefined && typeof convention !== "string") {
      throw unprocessable(`Expected convention to be a string but found ${typeName(convention)}`);
    }
    let numClasses = valueField(f, "numClasses");
    const spatialDims = valueField(f, "spatialDims");
    if (hasLabels) {
      if (spatialDims !== undefined) {
        throw unprocessable("Unexpected field spatialDims with labels: labels are (N, ...spatial)");
      }
      let how = "numClasses";
      if (numClasses === undefined) {
        // default: the largest label + 1 (the library checks the labels themselves)
        numClasses = Math.max(1, maxValue(array) + 1);
        how = "the largest label + 1";
      }
      if (typeof numClasses !== "number" || !Number.isInteger(numClasses) || numClasses < 1) {
        throw unprocessable(
          `Expected numClasses to be an integer >= 1 but found ${typeName(numClasses)}`,
        );
      }
      // the budget, before any work: classes, the maps' elements, every allocation
      checkClasses(numClasses, how, ctx);
      budget.take(array.data.length * numClasses, "the signed distance maps");
      const voxels = array.data.length / (array.shape[0] ?? 1);
      checkWork(
        signedWork(array.data.length, numClasses, voxels),
        "this signed distance request",
        ctx,
      );
    } else {
      if (numClasses !== undefined || convention !== undefined) {
        throw unprocessable(
          "Unexpected fields numClasses/convention with mask: a mask has one EDT",
        );
      }
      if (spatialDims !== undefined && (typeof spatialDims !== "number")) {
        throw unprocessable(
          `Expected spatialDims to be an integer but found ${typeName(spatialDims)}`,
        );
      }
      checkWork(3 * array.data.length, "this EDT request", ctx);
    }
    const timed = await runTimed(c, ctx.executor, {
      kind: "distance",
      mode: hasLabels ? "signed" : "edt",
      array,
      numClasses: numClasses as number | undefined,
      spacing,
      convention: convention as SignedDistanceConvention | undefined,
      spatialDims: spatialDims as number | undefined,
      transform,
    });
    const out = (timed.result as DistanceResult).result;
    const t0 = performance.now();
    if (wantsNpy(c)) {
      const body = npyBody(out);
      return c.body(body as Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>, 200, {
        "Content-Type": "application/x-npy",
        "Server-Timing": timingHeader(c, timed, performance.now() - t0),
      });
    }
    const json = jsonArrayBody(out);
    return c.body(json, 200, {
      "Content-Type": "application/json",
      "Server-Timing": timingHeader(c, timed, performance.now() - t0),
    });
  });
  return app;
}
