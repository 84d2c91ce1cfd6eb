#!/usr/bin/env node
import '../dist/logger/main.js';
