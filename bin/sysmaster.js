#!/usr/bin/env node
import '../dist/cli/sysmaster.js';
