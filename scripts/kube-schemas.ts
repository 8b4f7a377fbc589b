/**
 * Turns Kubernetes' published OpenAPI v2 document (api/openapi-spec/swagger.json of the
 * k8s.io/kubernetes Go module) and CRD manifests into the JSON-schema folder layout kubeconform
 * reads offline: <out>/v<version>-standalone-strict/<kind>-<group>-<version>.json.
 *
 *   node --import tsx scripts/kube-schemas.ts --swagger FILE --version 1.37.2 --out DIR [--crd FILE...]
 *
 * The same conventions as kubeconform's own schema collection: one file per kind, strict
 * (additionalProperties: false wherever properties are listed, so a misspelt field fails),
 * int-or-string and quantities accept both forms the API server accepts. Unlike that collection,
 * definitions are kept under `definitions` with local $refs instead of inlined, which keeps
 * recursive types (JSONSchemaProps) finite; nulls are not allowed, since a null in a rendered
 * chart is a template bug even where the API server would tolerate it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface Gvk {
  group: string;
  version: string;
  kind: string;
}

const isObject = (v: Json | undefined): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const INT_OR_STRING: JsonObject = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
const QUANTITY: JsonObject = { oneOf: [{ type: 'string' }, { type: 'number' }] };
const QUANTITY_DEF = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

/** Deep copy with the strict and int-or-string rewrites applied. */
function rewrite(node: Json, strict: boolean): Json {
  if (Array.isArray(node)) return node.map((n) => rewrite(n, strict));
  if (!isObject(node)) return node;
  if (node.format === 'int-or-string') return { ...INT_OR_STRING };
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    // Keys under `properties` are field names, not schema keywords: recurse into their values only.
    if (k === 'properties' && isObject(v)) {
      const props: JsonObject = {};
      for (const [name, schema] of Object.entries(v)) props[name] = rewrite(schema, strict);
      out[k] = props;
    } else {
      out[k] = rewrite(v, strict);
    }
  }
  if (
    strict &&
    isObject(node.properties) &&
    !('additionalProperties' in node) &&
    node['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

function refsIn(node: Json, found: Set<string>): void {
  if (Array.isArray(node)) {
    for (const n of node) refsIn(n, found);
  } else if (isObject(node)) {
    const ref = node.$ref;
    if (typeof ref === 'string' && ref.startsWith('#/definitions/')) found.add(ref.slice('#/definitions/'.length));
    for (const v of Object.values(node)) refsIn(v, found);
  }
}

function reachable(root: string, defs: JsonObject): string[] {
  const seen = new Set<string>([root]);
  const queue = [root];
  while (queue.length > 0) {
    const name = queue.pop()!;
    const found = new Set<string>();
    refsIn(defs[name] ?? null, found);
    for (const f of found) {
      if (!seen.has(f)) {
        if (!(f in defs)) throw new Error(`${name} refers to missing definition ${f}`);
        seen.add(f);
        queue.push(f);
      }
    }
  }
  return [...seen].sort();
}

function fileName(gvk: Gvk): string {
  // kubeconform: <kind lower-cased>-<first label of the group>-<version>; the core group has none.
  const group = gvk.group === '' ? '' : `-${gvk.group.split('.')[0]!.toLowerCase()}`;
  return `${gvk.kind.toLowerCase()}${group}-${gvk.version.toLowerCase()}.json`;
}

function apiVersion(gvk: Gvk): string {
  return gvk.group === '' ? gvk.version : `${gvk.group}/${gvk.version}`;
}

/** Pins apiVersion and kind so a schema only accepts the object it was written for. */
function pinTypeMeta(schema: JsonObject, gvk: Gvk): void {
  const props = isObject(schema.properties) ? schema.properties : (schema.properties = {});
  props.apiVersion = { type: 'string', enum: [apiVersion(gvk)] };
  props.kind = { type: 'string', enum: [gvk.kind] };
}

function fromSwagger(swaggerFile: string, outDir: string): number {
  const swagger = JSON.parse(readFileSync(swaggerFile, 'utf8')) as JsonObject;
  if (!isObject(swagger.definitions)) throw new Error(`${swaggerFile}: no definitions`);
  const raw = swagger.definitions;
  const defs: JsonObject = {};
  for (const [name, def] of Object.entries(raw)) {
    defs[name] = name === QUANTITY_DEF ? { ...QUANTITY } : rewrite(def, true);
  }
  let written = 0;
  for (const [name, def] of Object.entries(raw)) {
    if (!isObject(def)) continue;
    const gvks = def['x-kubernetes-group-version-kind'];
    // Definitions shared by many groups (DeleteOptions, WatchEvent) are not objects one applies.
    if (!Array.isArray(gvks) || gvks.length !== 1 || !isObject(gvks[0])) continue;
    const gvk = gvks[0] as unknown as Gvk;
    const schema = structuredClone(defs[name]) as JsonObject;
    pinTypeMeta(schema, gvk);
    const needed = reachable(name, defs).filter((n) => n !== name);
    // A definition that refers back to the root (none today) still resolves through this copy.
    const definitions: JsonObject = { [name]: defs[name]! };
    for (const n of needed) definitions[n] = defs[n]!;
    schema.definitions = definitions;
    writeFileSync(join(outDir, fileName(gvk)), JSON.stringify(schema) + '\n');
    written++;
  }
  return written;
}

function fromCrds(crdFile: string, outDir: string): number {
  let written = 0;
  for (const doc of parseAllDocuments(readFileSync(crdFile, 'utf8'))) {
    const crd = doc.toJS() as JsonObject | null;
    if (!crd || crd.kind !== 'CustomResourceDefinition' || !isObject(crd.spec)) continue;
    const spec = crd.spec;
    const names = spec.names as JsonObject;
    for (const v of (spec.versions as JsonObject[]) ?? []) {
      const openApi = isObject(v.schema) ? v.schema.openAPIV3Schema : undefined;
      if (!isObject(openApi)) continue;
      const gvk: Gvk = { group: String(spec.group), version: String(v.name), kind: String(names.kind) };
      const schema = rewrite(openApi, true) as JsonObject;
      pinTypeMeta(schema, gvk);
      writeFileSync(join(outDir, fileName(gvk)), JSON.stringify(schema) + '\n');
      written++;
    }
  }
  return written;
}

const { values } = parseArgs({
  options: {
    swagger: { type: 'string' },
    version: { type: 'string' },
    out: { type: 'string' },
    crd: { type: 'string', multiple: true, default: [] },
  },
});
if (!values.swagger || !values.version || !values.out) {
  console.error('usage: kube-schemas.ts --swagger FILE --version X.Y.Z --out DIR [--crd FILE...]');
  process.exit(2);
}
const dir = join(values.out, `v${values.version.replace(/^v/, '')}-standalone-strict`);
mkdirSync(dir, { recursive: true });
let count = fromSwagger(values.swagger, dir);
for (const crd of values.crd ?? []) count += fromCrds(crd, dir);
console.log(`${dir}: ${count} schemas`);
