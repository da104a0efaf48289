#!/usr/bin/env node
// Committed entry point so npm can link `roomq` at install time, before the build creates dist/.
import '../dist/main.js';
