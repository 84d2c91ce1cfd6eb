#!/usr/bin/env node
import '../dist/devmaster/main.js';
