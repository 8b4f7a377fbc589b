/**
 * Renders the chart with the pinned helm (scripts/tools.sh builds it into the cache on a clean
 * machine, a few minutes once) and parses the output.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHART = join(ROOT, 'helm', 'defi-sync');
export const RELEASE = 'defi-sync';
export const NAMESPACE = 'defi';
/** Newest supported Kubernetes; scripts/chart-check.sh also renders for the oldest. */
export const KUBE_VERSION = '1.37.2';

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; [k: string]: any }; [k: string]: any };

let helmPath: string | undefined;
export function helm(): string {
  if (process.env.HELM) return process.env.HELM;
  helmPath ??= join(
    execFileSync(join(ROOT, 'scripts', 'tools.sh'), ['helm'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!,
    'helm',
  );
  return helmPath;
}

export interface RenderOptions {
  /** Values, written to a file and passed with -f after the files. */
  values?: Record<string, unknown>;
  files?: string[];
  /** --set expressions (typed as Helm types them: integers stay integers). */
  set?: string[];
  chart?: string;
}

function args(opts: RenderOptions, dir: string): string[] {
  const a = ['template', RELEASE, opts.chart ?? CHART, '--namespace', NAMESPACE, '--kube-version', KUBE_VERSION];
  for (const f of opts.files ?? []) a.push('-f', f);
  if (opts.values) {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, stringify(opts.values));
    a.push('-f', file);
  }
  for (const s of opts.set ?? []) a.push('--set', s);
  return a;
}

/** Runs helm template; returns its result without throwing. */
export function template(opts: RenderOptions = {}): { status: number; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'defi-sync-chart-'));
  try {
    const r = spawnSync(helm(), args(opts, dir), { encoding: 'utf8' });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function render(opts: RenderOptions = {}): K8sObject[] {
  const r = template(opts);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

export const ofKind = (objs: K8sObject[], kind: string): K8sObject[] => objs.filter((o) => o.kind === kind);

export function one(objs: K8sObject[], kind: string, name: string): K8sObject {
  const found = objs.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
}

export const isHook = (o: K8sObject): boolean => Boolean(o.metadata.annotations?.['helm.sh/hook']);

export const cronPod = (cj: K8sObject): any => cj.spec.jobTemplate.spec.template.spec;

export function chartValues(): { jobs: Record<string, { schedule: string; priority: string }> } & Record<string, unknown> {
  return parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
}

/**
 * NOTES.txt as `helm install` would print it. helm template leaves NOTES out and install needs
 * a cluster, so a copy of the chart carries it as a named template inside a ConfigMap.
 */
export function renderNotes(opts: RenderOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'defi-sync-notes-'));
  try {
    const chart = join(dir, 'defi-sync');
    cpSync(CHART, chart, { recursive: true });
    const notes = readFileSync(join(chart, 'templates', 'NOTES.txt'), 'utf8');
    rmSync(join(chart, 'templates', 'NOTES.txt'));
    writeFileSync(join(chart, 'templates', '_notes.tpl'), `{{- define "notes-under-test" -}}\n${notes}\n{{- end -}}\n`);
    writeFileSync(
      join(chart, 'templates', 'notes-under-test.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-under-test\ndata:\n  notes: {{ include "notes-under-test" . | toJson }}\n',
    );
    const objs = render({ ...opts, chart });
    return one(objs, 'ConfigMap', 'notes-under-test').data.notes as string;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `kustomize build` of a folder: kubectl's when installed, else the pinned build of scripts/tools.sh. */
export function kustomize(dir: string): K8sObject[] {
  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  const [bin, args] = kubectl.status === 0
    ? ['kubectl', ['kustomize', dir]]
    : [join(execFileSync(join(ROOT, 'scripts', 'tools.sh'), ['kustomize'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!, 'kustomize'), ['build', dir]];
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed: ${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** Every pod spec of a rendering: CronJob templates, Jobs and bare Pods. */
export function podSpecs(objs: K8sObject[]): [string, any][] {
  return objs.flatMap((o): [string, any][] => {
    if (o.kind === 'CronJob') return [[`CronJob ${o.metadata.name}`, cronPod(o)]];
    if (o.kind === 'Job') return [[`Job ${o.metadata.name ?? o.metadata.generateName}`, o.spec.template.spec]];
    if (o.kind === 'Pod') return [[`Pod ${o.metadata.name}`, o.spec]];
    return [];
  });
}

export const envOf = (container: { env?: { name: string }[] }, name: string): any => container.env?.find((e) => e.name === name);
