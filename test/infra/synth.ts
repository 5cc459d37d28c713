/**
 * Builds the Stratus app for the infra tests with the feature flags of
 * cdk.json, so the tests check what `cdk synth` produces. Each test file
 * synthesizes once (bundling is the slow part).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { RepoRoot } from '../../infra/constructs/stratus-function.ts';
import { StratusStack, type StratusStackProps } from '../../infra/stratus-stack.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The `context` of cdk.json. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(RepoRoot, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

/**
 * A new app holding one StratusStack. With `bundle: false` the functions
 * are not bundled (their assets are placeholders), which is enough for
 * checks that only read the template.
 */
export function newStratusApp(opts: { bundle: boolean; props?: StratusStackProps }): { app: App; stack: StratusStack } {
  const context: Record<string, unknown> = { ...cdkJsonContext() };
  if (!opts.bundle) context['aws:cdk:bundling-stacks'] = [];
  const outdir = mkdtempSync(join(tmpdir(), 'stratus-cdk-'));
  // The cloud assembly (bundles included) is only read in this process: gone when it exits.
  process.once('exit', () => rmSync(outdir, { recursive: true, force: true }));
  const app = new App({ context, outdir });
  const stack = new StratusStack(app, 'Stratus', opts.props);
  return { app, stack };
}
