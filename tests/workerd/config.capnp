# workerd config for tests/workerd_test.ts: serves the bundled scoring service (server/main.ts,
# bundled to worker.js beside this file by the test) on loopback. The test overrides the
# address with `--socket-addr http=127.0.0.1:<port>`.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "segloss", worker = .seglossWorker)],
  sockets = [(name = "http", address = "127.0.0.1:8788", http = (), service = "segloss")],
);

const seglossWorker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-09-01",
  bindings = [
    (name = "SEGLOSS_TIMEOUT_MS", text = "20000"),
    (name = "SEGLOSS_MAX_JSON_BYTES", text = "1000000"),
    (name = "SEGLOSS_MAX_CLASSES", text = "256"),
  ],
);
