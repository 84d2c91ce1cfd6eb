#!/usr/bin/env -S node --max-semi-space-size=2
// PID 1 or a subreaper: small young generation, as for the core (init allocates almost nothing).
import { main } from "../dist/init/main.js";

await main(process.argv.slice(2));
