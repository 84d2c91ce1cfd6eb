#!/usr/bin/env node
import '../dist/cli/devctl.js';
