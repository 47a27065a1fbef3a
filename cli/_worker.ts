/**
 * Private to cli/: the Worker that evaluates cases of `segloss metrics` (one at a time).
 *
 * @module
 */
import { type CasePair, CliError } from "./_volume.ts";
import { evaluateCase, type MetricsJob } from "./_case.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<{ id: number; pair: CasePair; job: MetricsJob }>) => void) | null;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = async (e) => {
  const { id, pair, job } = e.data;
  const result = await evaluateCase(pair, job).catch((err: unknown) => ({
    id: pair.id,
    prediction: pair.pred,
    reference: pair.ref,
    error: new CliError(String((err as Error)?.message ?? err)).message,
    ms: 0,
  }));
  scope.postMessage({ id, result });
};
