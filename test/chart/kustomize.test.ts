/**
 * The kustomize base in k8s/ (rendered from the chart by k8s/render.ts) under an overlay: the
 * migration Job is part of the base, so an overlay's image, namespace and settings reach it like
 * they reach the CronJobs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { kustomize, podSpecs, ROOT, type K8sObject } from './helm.js';

const BASE = join(ROOT, 'k8s', 'base');

function images(objs: K8sObject[]): string[] {
  return podSpecs(objs).flatMap(([, pod]) => [...(pod.initContainers ?? []), ...pod.containers].map((c: { image: string }) => c.image));
}

function withOverlay<T>(kustomization: Record<string, unknown>, fn: (objs: K8sObject[]) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'defi-sync-overlay-'));
  try {
    writeFileSync(join(dir, 'kustomization.yaml'), stringify({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [relative(dir, BASE)], ...kustomization }));
    return fn(kustomize(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('an overlay that sets a new image, namespace and setting changes every pod, the migration Job included', () => {
  const base = kustomize(BASE);
  const migration = base.filter((o) => o.kind === 'Job');
  assert.equal(migration.length, 1, 'the migration Job is in the base');
  assert.deepEqual(migration[0]!.metadata.labels['app.kubernetes.io/component'], 'migrations');
  assert.ok(images(base).every((i) => i === 'defi-sync:0.1.0'), images(base).join(' '));

  withOverlay(
    {
      namespace: 'warehouse',
      images: [{ name: 'defi-sync', newName: 'registry.example.com/data/defi-sync', newTag: '9.9.9' }],
      configMapGenerator: [{ name: 'defi-sync-config', behavior: 'merge', literals: ['LOG_LEVEL=debug'] }],
    },
    (objs) => {
      const pods = podSpecs(objs);
      assert.equal(pods.length, 8, 'seven CronJobs and the migration Job');
      assert.deepEqual(new Set(images(objs)), new Set(['registry.example.com/data/defi-sync:9.9.9']));
      for (const o of objs) assert.equal(o.metadata.namespace, 'warehouse', `${o.kind} ${o.metadata.name}`);
      const configMaps = objs.filter((o) => o.kind === 'ConfigMap');
      assert.equal(configMaps.length, 1);
      assert.equal(configMaps[0]!.data.LOG_LEVEL, 'debug');
      // Every pod, migrations too, reads that ConfigMap (whatever name kustomize gave it).
      for (const [name, pod] of pods) {
        const refs = pod.containers[0].envFrom.filter((e: { configMapRef?: unknown }) => e.configMapRef);
        assert.deepEqual(refs, [{ configMapRef: { name: configMaps[0]!.metadata.name } }], name);
        assert.equal(pod.containers[0].env.some((e: { name: string }) => e.name === 'LOG_LEVEL'), false, `${name}: no inline setting overrides the ConfigMap`);
      }
    },
  );
});

test('the example overlay in k8s/ builds and retargets every image', () => {
  const objs = kustomize(join(ROOT, 'k8s', 'overlays', 'example'));
  assert.deepEqual(new Set(images(objs)), new Set(['registry.example.com/defi-sync:0.1.0']));
  // k8s/README.md applies `-l '!defi-sync/job'` first: the settings, the account and the
  // migration Job, without any CronJob.
  const first = objs.filter((o) => !(o.metadata.labels && 'defi-sync/job' in o.metadata.labels));
  assert.deepEqual(first.map((o) => o.kind).sort(), ['ConfigMap', 'Job', 'ServiceAccount']);
  assert.ok(objs.filter((o) => o.kind === 'CronJob').every((o) => !first.includes(o)));
});
