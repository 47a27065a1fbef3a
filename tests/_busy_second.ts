// Blocks the thread that imports it for one second (tests/server_slow_start_worker.ts).
const until = performance.now() + 1000;
while (performance.now() < until) {
  // a synchronous load, as module compilation is
}
