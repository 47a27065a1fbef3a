/**
 * `model.fit` with segloss's boundary loss on Node 20 (tfjs-core + tfjs-backend-cpu +
 * tfjs-layers): bundle and run with
 *
 *   esbuild examples/fit_node.ts --bundle --platform=node --format=esm --outfile=fit_node.mjs
 *   node fit_node.mjs
 *
 * Prints the loss per epoch and checks that it decreased and that the trained total equals
 * segloss's functional CPU losses on the same batch within 1e-5; exits 1 otherwise.
 *
 * @module
 */
import { runFitDemo } from "./fit_demo.ts";

const r = await runFitDemo();
const decreased = r.history[r.history.length - 1]! < r.history[0]!;
const diff = Math.abs(r.evaluate - r.functional);
console.log(JSON.stringify({ ...r, decreased, diff }));
if (!decreased || !(diff <= 1e-5)) {
  console.error(`model.fit check failed: decreased=${decreased}, |evaluate - functional|=${diff}`);
  (globalThis as { process?: { exitCode?: number } }).process!.exitCode = 1;
}
