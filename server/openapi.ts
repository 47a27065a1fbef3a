/**
 * The OpenAPI 3.1 document of the scoring service, served at `GET /openapi.json`.
 *
 * @module
 */
import { SERVER_VERSION } from "./version.ts";
import { metricsOpenApi } from "./routes/metrics.ts";

type Json = Record<string, unknown>;

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const errRef = (name: string): Json => ({ $ref: `#/components/responses/${name}` });

const ERRORS = {
  "400": errRef("BadRequest"),
  "401": errRef("Unauthorized"),
  "408": errRef("RequestTimeout"),
  "413": errRef("TooLarge"),
  "415": errRef("UnsupportedMediaType"),
  "422": errRef("Unprocessable"),
  "500": errRef("Internal"),
  "503": errRef("Unavailable"),
};

/**
 * The one encoding of non-finite numbers in JSON responses: NaN, Infinity and -Infinity are
 * the strings "NaN", "Infinity" and "-Infinity".
 */
const NUMBER_OUT: Json = {
  oneOf: [{ type: "number" }, { type: "string", enum: ["NaN", "Infinity", "-Infinity"] }],
  description: 'A number; non-finite values are the strings "NaN", "Infinity", "-Infinity"',
};

const NPY_FILE: Json = {
  type: "string",
  contentMediaType: "application/x-npy",
  description: "A NumPy .npy file (np.save): little-endian, C order; bool, int8-64, uint8-64, " +
    "float16/32/64",
};

/** A multipart text part that holds JSON (a fresh object each time). */
function jsonPart(): Json {
  return { type: "string", contentMediaType: "application/json" };
}

function errorResponse(description: string): Json {
  return { description, content: { "application/json": { schema: ref("Error") } } };
}

/**
 * The OpenAPI 3.1 document of every route, as a plain object.
 *
 * @returns A fresh copy of the document.
 *
 * @example Basic usage
 * ```ts
 * import { openApiDocument } from "@segloss/segloss/server";
 * import assert from "node:assert/strict";
 *
 * const doc = openApiDocument();
 * assert.equal(doc.openapi, "3.1.0");
 * assert.ok("/v1/loss" in (doc.paths as Record<string, unknown>));
 * ```
 */
export function openApiDocument(): Record<string, unknown> {
  const schemas: Record<string, Json> = {
    Array: {
      type: "object",
      description: "An n-d array: shape and flat, row-major (C order) data",
      required: ["shape", "data"],
      additionalProperties: false,
      properties: {
        shape: { type: "array", items: { type: "integer", minimum: 1 }, minItems: 1, maxItems: 8 },
        data: { type: "array", items: { type: "number" } },
        dtype: {
          type: "string",
          enum: ["float32", "float64", "int32", "uint8"],
          description: "Default: float32 for scores, one-hot targets and distance maps; int32 " +
            "for labels (a target whose rank is the input's minus one); uint8 for masks",
        },
      },
    },
    ArrayOut: {
      type: "object",
      required: ["shape", "dtype", "data"],
      properties: {
        shape: { type: "array", items: { type: "integer" } },
        dtype: { type: "string" },
        data: {
          type: "array",
          items: NUMBER_OUT,
          description: 'Non-finite values are the strings "NaN", "Infinity", "-Infinity" ' +
            "(.npy keeps them as floats)",
        },
      },
    },
    LossEntry: {
      type: "object",
      required: ["name"],
      properties: {
        name: {
          type: "string",
          examples: ["dice", "generalized-dice", "cross-entropy", "boundary"],
        },
        weight: { type: "number" },
        options: { type: "object" },
      },
    },
    ScorerConfig: {
      type: "object",
      description: "The library's createScorer config, as plain JSON",
      required: ["losses"],
      properties: {
        backend: { type: "string", examples: ["cpu", "webgpu", "auto"] },
        distance: { type: "string", examples: ["edt", "jfa", "edt-gpu"] },
        input: { type: "string", enum: ["logits", "probs"] },
        losses: { type: "array", items: ref("LossEntry"), minItems: 1 },
        schedule: { type: "object" },
      },
    },
    Spacing: {
      type: "array",
      items: { type: "number", exclusiveMinimum: 0 },
      description: "Voxel size per spatial axis (default all 1)",
    },
    LossRequest: {
      type: "object",
      required: ["config", "input", "target"],
      additionalProperties: false,
      properties: {
        config: ref("ScorerConfig"),
        input: { ...ref("Array"), description: "Scores (N, C, ...spatial), logits or probs" },
        target: {
          ...ref("Array"),
          description: "Labels (N, ...spatial) or a one-hot target (N, C, ...spatial)",
        },
        distance: { ...ref("Array"), description: "Precomputed signed maps (N, C, ...spatial)" },
        spacing: ref("Spacing"),
        epoch: { type: "number", description: "Epoch for the config's schedule" },
        gradient: { type: "boolean", default: false, description: "Return dTotal/dinput" },
      },
    },
    LossMultipart: {
      type: "object",
      description: "The LossRequest fields as parts: arrays as .npy file parts, the others as " +
        "JSON text parts",
      required: ["config", "input", "target"],
      properties: {
        config: jsonPart(),
        input: NPY_FILE,
        target: NPY_FILE,
        distance: NPY_FILE,
        spacing: jsonPart(),
        epoch: jsonPart(),
        gradient: jsonPart(),
      },
    },
    LossSummary: {
      type: "object",
      required: ["total", "terms", "weights"],
      properties: {
        total: NUMBER_OUT,
        terms: { type: "object", additionalProperties: NUMBER_OUT },
        weights: { type: "object", additionalProperties: NUMBER_OUT },
      },
    },
    LossResponse: {
      allOf: [ref("LossSummary"), {
        type: "object",
        properties: { gradient: { ...ref("ArrayOut"), description: "dTotal/dinput" } },
      }],
    },
    DistanceRequest: {
      type: "object",
      additionalProperties: false,
      description: "Exactly one of labels and mask",
      oneOf: [{ required: ["labels"] }, { required: ["mask"] }],
      properties: {
        labels: {
          ...ref("Array"),
          description: "Labels (N, ...spatial) → signed maps (N, C, ...)",
        },
        mask: { ...ref("Array"), description: "A mask → its unsigned EDT (same shape)" },
        numClasses: { type: "integer", minimum: 1, description: "Default: largest label + 1" },
        spacing: ref("Spacing"),
        convention: { type: "string", enum: ["kervadec", "signed", "inner-zero"] },
        spatialDims: { type: "integer", minimum: 1, maximum: 3 },
        transform: { type: "string", default: "edt", examples: ["edt", "jfa", "edt-gpu"] },
      },
    },
    DistanceMultipart: {
      type: "object",
      properties: {
        labels: NPY_FILE,
        mask: NPY_FILE,
        numClasses: jsonPart(),
        spacing: jsonPart(),
        convention: jsonPart(),
        spatialDims: jsonPart(),
        transform: jsonPart(),
      },
    },
    PluginInfo: {
      type: "object",
      required: ["name", "description", "available"],
      properties: {
        name: { type: "string" },
        description: { type: ["string", "null"] },
        available: { type: "boolean" },
      },
    },
    Plugins: {
      type: "object",
      required: ["losses", "distances", "backends"],
      properties: {
        losses: { type: "array", items: ref("PluginInfo") },
        distances: { type: "array", items: ref("PluginInfo") },
        backends: { type: "array", items: ref("PluginInfo") },
      },
    },
    Health: {
      type: "object",
      required: ["status", "version"],
      properties: {
        status: { type: "string", const: "ok" },
        version: { type: "string" },
        compute: { type: "string", enum: ["worker", "inline"] },
        backend: { type: "string" },
      },
    },
    Error: {
      type: "object",
      required: ["error"],
      properties: {
        error: {
          type: "object",
          required: ["status", "code", "message", "requestId"],
          properties: {
            status: { type: "integer" },
            code: {
              type: "string",
              enum: [
                "bad_request",
                "unauthorized",
                "not_found",
                "method_not_allowed",
                "request_timeout",
                "payload_too_large",
                "unsupported_media_type",
                "unprocessable",
                "timeout",
                "overloaded",
                "unavailable",
                "internal",
              ],
            },
            message: { type: "string", maxLength: 1100, description: "At most ~1000 characters" },
            requestId: { type: "string" },
            limit: {
              type: "object",
              description: "On 413s: the setting that refused the request",
              required: ["resource", "requested", "limit"],
              properties: {
                resource: {
                  type: "string",
                  examples: [
                    "maxBodyBytes",
                    "maxJsonBytes",
                    "maxElements",
                    "maxClasses",
                    "maxWorkElements",
                    "maxLosses",
                  ],
                },
                requested: { oneOf: [{ type: "number" }, { type: "string", const: "Infinity" }] },
                limit: { type: "number" },
              },
            },
          },
        },
      },
    },
  };
  const lossOk: Json = {
    description: "The loss. With Accept: application/x-npy and gradient: true, the body is the " +
      "gradient as .npy and the summary is in the X-Segloss-Result header (JSON)",
    headers: {
      "X-Segloss-Result": {
        description: "JSON LossSummary (only on .npy responses)",
        schema: { type: "string" },
      },
      "Server-Timing": {
        description: "decode, queue, compute, encode and total milliseconds",
        schema: { type: "string" },
      },
    },
    content: {
      "application/json": { schema: ref("LossResponse") },
      "application/x-npy": { schema: { type: "string", contentMediaType: "application/x-npy" } },
    },
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "segloss scoring service",
      version: SERVER_VERSION,
      description: "Segmentation losses (dice, generalized dice, cross entropy, the boundary " +
        "loss of Kervadec et al.) and signed distance maps over HTTP. Arrays travel as JSON " +
        "{shape, data} or as NumPy .npy parts of multipart/form-data bodies.",
      license: { name: "MIT", identifier: "MIT" },
    },
    paths: {
      ...metricsOpenApi().paths,
      "/v1/loss": {
        post: {
          operationId: "loss",
          summary: "Score a batch: weighted losses, optional gradient",
          security: [{ bearer: [] }, {}],
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: ref("LossRequest") },
              "multipart/form-data": { schema: ref("LossMultipart") },
            },
          },
          responses: { "200": lossOk, ...ERRORS },
        },
      },
      "/v1/distance": {
        post: {
          operationId: "distance",
          summary: "Signed distance maps of labels, or the unsigned EDT of a mask",
          security: [{ bearer: [] }, {}],
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: ref("DistanceRequest") },
              "multipart/form-data": { schema: ref("DistanceMultipart") },
            },
          },
          responses: {
            "200": {
              description: "The float32 maps (.npy with Accept: application/x-npy)",
              content: {
                "application/json": { schema: ref("ArrayOut") },
                "application/x-npy": {
                  schema: { type: "string", contentMediaType: "application/x-npy" },
                },
              },
            },
            ...ERRORS,
          },
        },
      },
      "/v1/plugins": {
        get: {
          operationId: "plugins",
          summary: "Registered losses, distance transforms and backends, with availability",
          security: [{ bearer: [] }, {}],
          responses: {
            "200": {
              description: "The plugins",
              content: { "application/json": { schema: ref("Plugins") } },
            },
            "401": errRef("Unauthorized"),
          },
        },
      },
      "/healthz": {
        get: {
          operationId: "health",
          summary: "Liveness (no token needed)",
          responses: {
            "200": {
              description: "Alive",
              content: { "application/json": { schema: ref("Health") } },
            },
          },
        },
      },
      "/openapi.json": {
        get: {
          operationId: "openapi",
          summary: "This document",
          responses: {
            "200": {
              description: "OpenAPI 3.1",
              content: { "application/json": { schema: { type: "object" } } },
            },
          },
        },
      },
    },
    components: {
      schemas: { ...schemas, ...metricsOpenApi().schemas },
      responses: {
        BadRequest: errorResponse(
          "Malformed body: bad JSON, broken .npy header, truncated data, bad multipart",
        ),
        Unauthorized: errorResponse("Missing or wrong bearer token (when the server has one)"),
        RequestTimeout: errorResponse(
          "The body did not arrive within the body time limit (SEGLOSS_BODY_TIMEOUT_MS); the " +
            "connection is closed",
        ),
        TooLarge: errorResponse(
          "Over a limit, checked before any work: body bytes (maxBodyBytes; maxJsonBytes for " +
            "JSON), array elements (maxElements), classes (maxClasses: numClasses, the largest " +
            "label + 1, channels), the elements the work would allocate (maxWorkElements) or " +
            "the entries of config.losses (maxLosses, 64); error.limit names it",
        ),
        UnsupportedMediaType: errorResponse(
          "Content-Type is neither application/json nor multipart/form-data",
        ),
        Unprocessable: errorResponse("Well-formed, but wrong shapes, dtypes, labels or config"),
        Internal: errorResponse("A server fault; the response carries the logged request id"),
        Unavailable: errorResponse(
          "The computation passed the time limit and was stopped (code timeout), the queue is " +
            "full (overloaded), or a plugin the request names cannot run here, e.g. jfa without " +
            "WebGPU (unavailable; GET /v1/plugins says which are available)",
        ),
      },
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "SEGLOSS_TOKEN, when configured" },
      },
    },
  };
}
