#!/usr/bin/env node
import '../dist/cli/sctl.js';
