/**
 * What running on a real cluster asks of the chart: a managed database's Secret and CA file, a
 * SQL proxy sidecar, RPC URLs kept in the Secret, labels on everything, a NetworkPolicy and the
 * Grafana dashboard ConfigMap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CHART, envOf, ofKind, one, podSpecs, RELEASE, render, template } from './helm.js';

const ALL_ON = join(CHART, 'ci', 'all-on-values.yaml');


test('existingSecret with databaseUrlKey: every pod reads DATABASE_URL from that key of that Secret', () => {
  const objs = render({ values: { secret: { existingSecret: 'pg-app', databaseUrlKey: 'uri' } } });
  const pods = podSpecs(objs);
  assert.equal(pods.length, 7 + 2, 'seven CronJobs, the migration Job and the test pod');
  for (const [name, pod] of pods) {
    const c = pod.containers[0];
    assert.deepEqual(envOf(c, 'DATABASE_URL'), { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'pg-app', key: 'uri' } } }, name);
    assert.ok(c.envFrom.some((e: { secretRef?: { name: string } }) => e.secretRef?.name === 'pg-app'), name);
  }
  // The default key, and the chart-made Secret (which always uses DATABASE_URL).
  for (const [name, pod] of podSpecs(render())) {
    assert.deepEqual(envOf(pod.containers[0], 'DATABASE_URL').valueFrom.secretKeyRef, { name: RELEASE, key: 'DATABASE_URL' }, name);
  }
  const made = render({ values: { secret: { create: true, databaseUrlKey: 'uri', values: { DATABASE_URL: 'postgres://u:p@db/x' } } } });
  const migrate = one(made, 'Job', `${RELEASE}-migrate`).spec.template.spec.containers[0];
  assert.deepEqual(envOf(migrate, 'DATABASE_URL').valueFrom.secretKeyRef, { name: `${RELEASE}-migrations`, key: 'DATABASE_URL' });
});

test('RPC_URL_<CHAIN> goes in secret.values and appears nowhere but in the Secrets', () => {
  const url = 'https://eth.example.com/v2/rpc-key-1234';
  const r = template({ values: { secret: { create: true, values: { DATABASE_URL: 'postgres://u:p@db/x', RPC_URL_ETHEREUM: url } } } });
  assert.equal(r.status, 0, r.stderr);
  const objs = render({ values: { secret: { create: true, values: { DATABASE_URL: 'postgres://u:p@db/x', RPC_URL_ETHEREUM: url } } } });
  for (const s of ofKind(objs, 'Secret')) assert.equal(s.stringData.RPC_URL_ETHEREUM, url);
  for (const o of objs.filter((x) => x.kind !== 'Secret')) assert.ok(!JSON.stringify(o).includes('rpc-key-1234'), `${o.kind} ${o.metadata.name}`);
  // In plain env it would be in every CronJob: the schema refuses it there, from a Secret it is fine.
  for (const values of [
    { extraEnv: [{ name: 'RPC_URL_ETHEREUM', value: url }] },
    { jobDefaults: { env: [{ name: 'RPC_URL_BSC', value: url }] } },
    { jobs: { 'map-contracts': { env: [{ name: 'RPC_URL_BSC', value: url }] } } },
    { secret: { values: { RPC_URL_ethereum: url } } },
  ]) {
    const bad = template({ values });
    assert.notEqual(bad.status, 0, JSON.stringify(values));
    assert.match(bad.stderr, /schema/);
  }
  const fromSecret = template({ values: { extraEnv: [{ name: 'RPC_URL_BSC', valueFrom: { secretKeyRef: { name: 'rpc', key: 'bsc' } } }] } });
  assert.equal(fromSecret.status, 0, fromSecret.stderr);
});

const CA = { name: 'db-ca', secret: { secretName: 'db-ca' } };
const CA_MOUNT = { name: 'db-ca', mountPath: '/etc/db-ca', readOnly: true };
const PROXY = { name: 'sql-proxy', image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0', args: ['--port=5432', 'project:region:db'] };
const WAIT = { name: 'wait-for-db', image: 'busybox:1.37', command: ['sh', '-c', 'true'] };

test('extra volumes, mounts, init containers and native sidecars reach every pod, per job overriding the defaults', () => {
  const objs = render({
    values: {
      jobDefaults: { extraVolumes: [CA], extraVolumeMounts: [CA_MOUNT], initContainers: [WAIT], sidecars: [PROXY] },
      jobs: { 'sync-historical': { sidecars: [{ ...PROXY, args: ['--port=5432', 'project:region:replica'] }] } },
    },
  });
  const pods = podSpecs(objs);
  assert.equal(pods.length, 9);
  for (const [name, pod] of pods) {
    assert.deepEqual(pod.volumes.map((v: { name: string }) => v.name), ['tmp', 'db-ca'], name);
    assert.deepEqual(pod.volumes[1], CA, name);
    assert.deepEqual(pod.containers[0].volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }, CA_MOUNT], name);
    // Sidecars first (restartPolicy Always makes them native sidecars), then the init containers.
    assert.deepEqual(pod.initContainers.map((c: { name: string }) => c.name), ['sql-proxy', 'wait-for-db'], name);
    assert.equal(pod.initContainers[0].restartPolicy, 'Always', name);
    assert.equal(pod.initContainers[1].restartPolicy, undefined, name);
    const replica = name.endsWith('sync-historical');
    assert.deepEqual(pod.initContainers[0].args, ['--port=5432', replica ? 'project:region:replica' : 'project:region:db'], name);
  }
  // Nothing extra by default.
  for (const [name, pod] of podSpecs(render())) {
    assert.equal(pod.initContainers, undefined, name);
    assert.deepEqual(pod.volumes.map((v: { name: string }) => v.name), ['tmp'], name);
  }
});

test('commonLabels on every object and every pod', () => {
  const objs = render({ files: [ALL_ON], values: { commonLabels: { 'example.com/cost-centre': 'data' } } });
  assert.ok(objs.length > 15);
  for (const o of objs) assert.equal(o.metadata.labels?.['example.com/cost-centre'], 'data', `${o.kind} ${o.metadata.name}`);
  for (const cj of ofKind(objs, 'CronJob')) assert.equal(cj.spec.jobTemplate.metadata.labels['example.com/cost-centre'], 'data');
  for (const o of ofKind(objs, 'CronJob').map((cj) => cj.spec.jobTemplate.spec.template).concat(ofKind(objs, 'Job').map((j) => j.spec.template))) {
    assert.equal(o.metadata.labels['example.com/cost-centre'], 'data');
  }
});

test('NetworkPolicy: no ingress; egress to DNS, PostgreSQL, HTTPS and the Pushgateway only', () => {
  const objs = render({
    values: {
      config: { PUSHGATEWAY_URL: 'http://pushgateway.monitoring.svc:9091' },
      networkPolicy: {
        enabled: true,
        database: { cidrs: ['10.20.0.0/16'], port: 6432 },
        pushgateway: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
      },
    },
  });
  const np = one(objs, 'NetworkPolicy', RELEASE);
  assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
  assert.deepEqual(np.spec.ingress, []);
  assert.deepEqual(np.spec.podSelector.matchLabels, { 'app.kubernetes.io/name': 'defi-sync', 'app.kubernetes.io/instance': RELEASE });
  // Every pod of the release is selected by it.
  for (const [name, pod] of [...ofKind(objs, 'CronJob').map((c) => [c.metadata.name, c.spec.jobTemplate.spec.template] as const), ...ofKind(objs, 'Job').map((j) => [j.metadata.name, j.spec.template] as const), ...ofKind(objs, 'Pod').map((p) => [p.metadata.name, p] as const)]) {
    for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels)) assert.equal(pod.metadata.labels[k], v, name);
  }
  const ports = np.spec.egress.map((r: { ports: { port: number; protocol: string }[] }) => r.ports.map((p) => `${p.protocol}/${p.port}`).join(','));
  assert.deepEqual(ports, ['UDP/53,TCP/53', 'TCP/6432', 'TCP/443', 'TCP/9091']);
  assert.deepEqual(np.spec.egress[1].to, [{ ipBlock: { cidr: '10.20.0.0/16' } }]);
  assert.deepEqual(np.spec.egress[0].to, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }]);
  assert.deepEqual(np.spec.egress[3].to, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
  // Off by default; a policy that would cut the database or the gateway off is refused.
  assert.equal(ofKind(render(), 'NetworkPolicy').length, 0);
  let r = template({ values: { networkPolicy: { enabled: true } } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /networkPolicy\.database needs cidrs or a namespaceSelector/);
  r = template({ values: { networkPolicy: { enabled: true, database: { cidrs: ["10.0.0.0/8"] }, https: { cidrs: [] } } } });
  assert.notEqual(r.status, 0, "an https rule without peers would allow everything");
  assert.match(r.stderr, /networkPolicy\.https needs/);
  r = template({ values: { config: { PUSHGATEWAY_URL: 'http://gw:9091' }, networkPolicy: { enabled: true, database: { cidrs: ['10.0.0.0/8'] } } } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /networkPolicy\.pushgateway needs/);
});

test('grafanaDashboard: a ConfigMap with the sidecar label, an optional folder and the dashboard JSON', () => {
  const objs = render({ values: { grafanaDashboard: { enabled: true, folder: 'Data' } } });
  const cm = one(objs, 'ConfigMap', `${RELEASE}-dashboard`);
  assert.equal(cm.metadata.labels.grafana_dashboard, '1');
  assert.equal(cm.metadata.annotations.grafana_folder, 'Data');
  const dashboard = JSON.parse(cm.data['defi-sync.json']) as { uid: string; panels: { targets: { expr: string }[] }[] };
  assert.equal(dashboard.uid, 'defi-sync');
  assert.ok(dashboard.panels.length >= 8);
  const custom = one(render({ values: { grafanaDashboard: { enabled: true, labelKey: 'dashboards', labelValue: 'grafana', folderAnnotation: 'k8s-sidecar-target-directory', folder: '/tmp/dashboards/data' } } }), 'ConfigMap', `${RELEASE}-dashboard`);
  assert.equal(custom.metadata.labels.dashboards, 'grafana');
  assert.equal(custom.metadata.labels.grafana_dashboard, undefined);
  assert.deepEqual(custom.metadata.annotations, { 'k8s-sidecar-target-directory': '/tmp/dashboards/data' });
  assert.equal(ofKind(render(), 'ConfigMap').length, 1, 'off by default');
});

test('every option on: each CronJob has the volumes, sidecars and Secret key; the dashboard and NetworkPolicy exist', () => {
  const objs = render({ files: [ALL_ON] });
  const cronJobs = ofKind(objs, 'CronJob');
  assert.ok(cronJobs.length >= 7);
  for (const cj of cronJobs) {
    const pod = cj.spec.jobTemplate.spec.template.spec;
    const name = cj.metadata.name;
    assert.ok(pod.volumes.length >= 2, name);
    assert.ok(pod.containers[0].volumeMounts.length >= 2, name);
    assert.ok(pod.initContainers.some((c: { restartPolicy?: string }) => c.restartPolicy === 'Always'), name);
    assert.ok(pod.initContainers.some((c: { restartPolicy?: string }) => c.restartPolicy === undefined), name);
    assert.deepEqual(envOf(pod.containers[0], 'DATABASE_URL').valueFrom.secretKeyRef, { name: 'warehouse', key: 'DATABASE_URL' }, name);
  }
  one(objs, 'ConfigMap', 'warehouse-dashboard');
  one(objs, 'NetworkPolicy', 'warehouse');
  // existingSecret excludes secret.create: CI renders the managed database from a file of its own.
  const managed = render({ files: [join(CHART, 'ci', 'managed-database-values.yaml')] });
  const managedPods = podSpecs(managed);
  assert.equal(managedPods.length, 9);
  for (const [name, pod] of managedPods) {
    assert.deepEqual(envOf(pod.containers[0], 'DATABASE_URL').valueFrom.secretKeyRef, { name: 'warehouse-db-app', key: 'uri' }, name);
    assert.deepEqual(pod.initContainers.map((c: { name: string; restartPolicy?: string }) => [c.name, c.restartPolicy]), [['sql-proxy', 'Always']], name);
    assert.ok(pod.containers[0].volumeMounts.some((m: { name: string }) => m.name === 'db-ca'), name);
  }
  assert.equal(ofKind(managed, 'Secret').length, 0);
});
