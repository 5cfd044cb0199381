#!/usr/bin/env node
// The iotfw command. The CLI is TypeScript compiled to dist/ (`npm run build:host`; prepare and
// pretest run it); this file only starts it and passes its exit code on.
import { main } from "../dist/host/cli/main.js";

process.exitCode = await main(process.argv);
