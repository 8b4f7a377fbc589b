/**
 * Renders the plain manifests in k8s/ from the Helm chart's default values, so users without Helm
 * get the same objects and the two cannot drift (CI runs this with --check).
 *
 *   node --import tsx k8s/render.ts            # rewrite k8s/base
 *   node --import tsx k8s/render.ts --check    # exit 1 if it differs from a fresh render
 *
 * Helm's hooks have no place in a kustomize base: the migration Job becomes an ordinary object of
 * the base (so an overlay's image, namespace and settings reach it too) that reads the settings
 * ConfigMap like the CronJobs instead of carrying them inline; the test pod is left out, and the
 * labels saying Helm manages the objects are dropped.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHART = join(ROOT, 'helm', 'defi-sync');
const BASE = join(ROOT, 'k8s', 'base');
const RELEASE = 'defi-sync';
const KUBE_VERSION = '1.37.2';
const HEADER = '# Rendered from helm/defi-sync (default values) by k8s/render.ts: edit the chart, then `make k8s`.\n';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function helmBinary(): string {
  if (process.env.HELM) return process.env.HELM;
  const bin = execFileSync(join(ROOT, 'scripts', 'tools.sh'), ['helm'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return join(bin.trim(), 'helm');
}

/** Drops the Helm bookkeeping labels wherever object metadata appears (pod templates included). */
function stripHelmLabels(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(stripHelmLabels);
    return;
  }
  if (!isObj(node)) return;
  const meta = node.metadata;
  if (isObj(meta) && isObj(meta.labels)) {
    delete meta.labels['helm.sh/chart'];
    delete meta.labels['app.kubernetes.io/managed-by'];
  }
  for (const v of Object.values(node)) stripHelmLabels(v);
}

/**
 * The hook ran before the ConfigMap existed, so it had the settings inline; in the base the
 * ConfigMap is there, and reading it lets an overlay's configMapGenerator reach migrations.
 */
function migrationReadsConfigMap(job: Obj, configMap: Obj): void {
  const keys = new Set(Object.keys(isObj(configMap.data) ? configMap.data : {}));
  const name = (configMap.metadata as Obj).name;
  const pod = ((job.spec as Obj).template as Obj).spec as Obj;
  for (const c of pod.containers as Obj[]) {
    c.envFrom = [{ configMapRef: { name } }, ...((c.envFrom as Obj[] | undefined) ?? [])];
    c.env = ((c.env as Obj[] | undefined) ?? []).filter((e) => !keys.has(String(e.name)));
    if ((c.env as Obj[]).length === 0) delete c.env;
  }
}

export function render(): Map<string, string> {
  const out = execFileSync(
    helmBinary(),
    ['template', RELEASE, CHART, '--kube-version', KUBE_VERSION],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const files = new Map<string, string>();
  const resources: string[] = [];
  const objects = parseAllDocuments(out).map((d) => d.toJS() as Obj | null).filter((o): o is Obj => o !== null);
  const configMap = objects.find((o) => o.kind === 'ConfigMap');
  if (!configMap) throw new Error('the chart rendered no ConfigMap');
  let migration = false;
  for (const obj of objects) {
    const meta = obj.metadata as Obj;
    const annotations = isObj(meta.annotations) ? meta.annotations : {};
    const hook = annotations['helm.sh/hook'];
    stripHelmLabels(obj);
    if (typeof hook === 'string') {
      if (hook.split(',').includes('test')) continue;
      if (obj.kind === 'Job' && hook.includes('pre-install')) {
        for (const k of Object.keys(annotations)) if (k.startsWith('helm.sh/')) delete annotations[k];
        if (Object.keys(annotations).length === 0) delete meta.annotations;
        migrationReadsConfigMap(obj, configMap);
        migration = true;
      } else {
        throw new Error(`unexpected hook ${hook} on ${String(obj.kind)} ${String(meta.name)}`);
      }
    }
    const file = `${String(obj.kind).toLowerCase()}-${String(meta.name)}.yaml`;
    if (files.has(join(BASE, file))) throw new Error(`two objects render to ${file}`);
    files.set(join(BASE, file), HEADER + stringify(obj, { lineWidth: 0 }));
    resources.push(file);
  }
  if (!migration) throw new Error('the chart rendered no migration Job');
  files.set(
    join(BASE, 'kustomization.yaml'),
    HEADER + stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: resources.sort() }),
  );
  return files;
}

function onDisk(): Map<string, string> {
  const files = new Map<string, string>();
  if (existsSync(BASE)) for (const f of readdirSync(BASE)) files.set(join(BASE, f), readFileSync(join(BASE, f), 'utf8'));
  return files;
}

function main(): void {
  const fresh = render();
  if (process.argv.includes('--check')) {
    const current = onDisk();
    const stale = [...new Set([...fresh.keys(), ...current.keys()])]
      .filter((f) => fresh.get(f) !== current.get(f))
      .map((f) => f.slice(ROOT.length + 1));
    if (stale.length > 0) {
      console.error(`k8s/ is stale (differs from the chart): ${stale.join(', ')}\nRun \`make k8s\` and commit the result.`);
      process.exit(1);
    }
    console.log(`k8s/ is up to date with the chart (${fresh.size} files)`);
    return;
  }
  rmSync(BASE, { recursive: true, force: true });
  mkdirSync(BASE, { recursive: true });
  for (const [file, text] of fresh) writeFileSync(file, text);
  console.log(`wrote ${fresh.size} files under k8s/`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
