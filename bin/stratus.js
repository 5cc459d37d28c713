#!/usr/bin/env node
// Launcher for `npx stratus`: registers tsx's ESM loader, then runs the TypeScript entry point.
import { register } from 'tsx/esm/api';

register();
await import('./stratus.ts');
