#!/usr/bin/env -S node --max-semi-space-size=2
// A small young generation: the manager is long-lived and allocates little, and V8 otherwise keeps ~30 MB of
// semi-space it rarely needs (core RSS about 75 MB instead of 106 MB with 300 units).
import "../dist/cli/sysmaster.js";
