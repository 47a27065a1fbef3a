// A Worker that takes a second to load (as a cold start does under `deno test`, which type
// checks a Worker's modules when it starts): the busy wait runs while this module's imports
// evaluate, before server_spin_worker.ts installs its handler and says it is ready.
import "./_busy_second.ts";
import "./server_spin_worker.ts";
