/**
 * deploy/helm/netprobe and deploy/kubernetes/netprobe.yaml: every rendered object validates
 * against the Kubernetes API's schemas (kubernetes-models, ajv-compiled from the API's OpenAPI),
 * with the defaults and with the values users change most; the plain manifest is the chart's
 * default render; the pod keeps to three capabilities, the host network and read-only host
 * mounts; its collector.yaml passes netprobe's own validation; and the downward-API variables,
 * expanded as the kubelet expands them, put k8s.node.name and k8s.pod.name in the resource.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { repoRoot } from './helpers/paths';
import { parseConfig } from '../core/config/load';
import { buildResource } from '../core/telemetry/resource';
import { plugins } from '../plugins/registry';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { renderChart } = require(path.join(repoRoot, 'scripts', 'helm-lite.js')) as {
  renderChart(dir: string, options?: { valuesFiles?: string[]; set?: Record<string, unknown> }): string;
};

const chart = path.join(repoRoot, 'deploy', 'helm', 'netprobe');
const manifest = path.join(repoRoot, 'deploy', 'kubernetes', 'netprobe.yaml');

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string }; [k: string]: any };

/** Validates with the model class of the object's apiVersion and kind; throws with the API's complaint. */
function validateObject(obj: K8sObject): void {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const modulePath = group ? `kubernetes-models/${group}/${version}/${obj.kind}` : `kubernetes-models/${version}/${obj.kind}`;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const Model = require(modulePath)[obj.kind] as new (data: unknown) => { validate(): void };
  new Model(obj).validate();
}

function objects(yamlText: string): K8sObject[] {
  return YAML.parseAllDocuments(yamlText).map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJS() as K8sObject;
  }).filter(Boolean);
}

/** The most changed values, all at once: another image, OTLP/HTTP to a gateway, sizes, scheduling. */
const commonOverrides = {
  'image.repository': 'registry.example.internal/observability/netprobe',
  'image.tag': '0.1.0-rc1',
  'image.pullPolicy': 'Always',
  'otlp.endpoint': 'http://otel-gateway.observability:4318',
  'otlp.protocol': 'http/protobuf',
  resourceAttributes: 'k8s.cluster.name=prod-eu,deployment.environment.name=prod',
  'resources.limits.memory': '512Mi',
  'resources.requests.cpu': '100m',
  priorityClassName: '',
  nodeSelector: { 'kubernetes.io/os': 'linux', 'node-role.kubernetes.io/worker': '' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'edge', effect: 'NoSchedule' }],
  'config.service.interval': '30s',
};

for (const [name, set] of [['defaults', {}], ['common overrides', commonOverrides]] as const) {
  test(`helm chart (${name}): every object validates against the Kubernetes schemas`, () => {
    const objs = objects(renderChart(chart, { set }));
    assert.deepEqual(objs.map((o) => o.kind).sort(), ['ConfigMap', 'DaemonSet', 'ServiceAccount']);
    for (const obj of objs) assert.doesNotThrow(() => validateObject(obj), `${obj.kind}/${obj.metadata.name}`);
    const ds = objs.find((o) => o.kind === 'DaemonSet')!;
    const container = ds.spec.template.spec.containers[0];
    if (name === 'common overrides') {
      assert.equal(container.image, 'registry.example.internal/observability/netprobe:0.1.0-rc1');
      assert.equal(ds.spec.template.spec.priorityClassName, undefined);
      assert.equal(ds.spec.template.spec.tolerations[0].key, 'dedicated');
      assert.equal(container.resources.limits.memory, '512Mi');
    } else {
      assert.equal(container.image, 'localhost/netprobe:0.1.0');
    }
  });
}

test('the schema check catches a broken object (so the tests above can fail)', () => {
  const ds = objects(renderChart(chart)).find((o) => o.kind === 'DaemonSet')!;
  ds.spec.template.spec.containers[0].ports[0].containerPort = 'health';
  assert.throws(() => validateObject(ds), /containerPort must be integer/);
  delete ds.spec.selector;
  assert.throws(() => validateObject(ds), /selector/);
});

test('deploy/kubernetes/netprobe.yaml is the chart rendered with its defaults', () => {
  assert.equal(fs.readFileSync(manifest, 'utf8'), renderChart(chart),
    'regenerate it: node scripts/helm-lite.js deploy/helm/netprobe > deploy/kubernetes/netprobe.yaml');
});

test('the pod: host network, only BPF/NET_ADMIN/PERFMON, read-only cgroup v2 and BTF, health probes', () => {
  const ds = objects(fs.readFileSync(manifest, 'utf8')).find((o) => o.kind === 'DaemonSet')!;
  const pod = ds.spec.template.spec;
  const c = pod.containers[0];
  assert.equal(pod.hostNetwork, true);
  assert.equal(pod.hostPID, undefined);
  assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'], add: ['BPF', 'NET_ADMIN', 'PERFMON'] });
  assert.equal(c.securityContext.privileged, false);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  const mounts = new Map<string, any>(c.volumeMounts.map((m: any) => [m.mountPath, m]));
  const volumes = new Map<string, any>(pod.volumes.map((v: any) => [v.name, v]));
  for (const [mountPath, hostPath] of [['/sys/fs/cgroup', '/sys/fs/cgroup'], ['/sys/kernel/btf', '/sys/kernel/btf']]) {
    assert.equal(mounts.get(mountPath)?.readOnly, true, `${mountPath} read-only`);
    assert.equal(volumes.get(mounts.get(mountPath).name).hostPath.path, hostPath);
  }
  for (const v of pod.volumes) if (v.hostPath) assert.ok(mounts.get(v.hostPath.path)?.readOnly, `hostPath ${v.hostPath.path} must be read-only`);
  assert.equal(c.livenessProbe.httpGet.path, '/livez');
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.ok(c.resources.requests.memory && c.resources.limits.memory && c.resources.requests.cpu);
});

/** The kubelet's $(VAR) expansion: a variable defined earlier in the list is substituted. */
function kubeletEnv(env: Array<{ name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }>, fields: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    out[e.name] = e.valueFrom ? fields[e.valueFrom.fieldRef.fieldPath]! : e.value!.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n: string) => out[n] ?? m);
  }
  return out;
}

test('the ConfigMap\'s collector.yaml is valid, and the downward API names the node and pod in the resource', () => {
  const objs = objects(fs.readFileSync(manifest, 'utf8'));
  const ds = objs.find((o) => o.kind === 'DaemonSet')!;
  const env = kubeletEnv(ds.spec.template.spec.containers[0].env, {
    'spec.nodeName': 'node-7', 'status.hostIP': '10.0.0.7', 'metadata.name': 'netprobe-x2k9q',
    'metadata.namespace': 'netprobe', 'metadata.uid': '6f1c1c6e-0000-4000-8000-000000000007', 'status.podIP': '10.0.0.7',
  });
  assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://10.0.0.7:4317');
  assert.equal(env.OTEL_EXPORTER_OTLP_PROTOCOL, 'grpc');
  const resource = buildResource(env).attributes;
  assert.equal(resource['k8s.node.name'], 'node-7');
  assert.equal(resource['k8s.pod.name'], 'netprobe-x2k9q');
  assert.equal(resource['k8s.namespace.name'], 'netprobe');
  assert.equal(resource['service.instance.id'], '6f1c1c6e-0000-4000-8000-000000000007');

  const configMap = objs.find((o) => o.kind === 'ConfigMap')!;
  const config = parseConfig(configMap.data['collector.yaml'], 'configmap', plugins, env);
  assert.deepEqual(config.extensions.health_check, { host: '10.0.0.7', port: 13133 });
  assert.deepEqual(Object.keys(config.probes).sort(), ['conntrack', 'dns', 'flow_stats', 'xdp_counter']);
});

test('the example agent and gateway collector configs chain: netprobe -> agent :4317 -> gateway', () => {
  const dir = path.join(repoRoot, 'deploy', 'otel-collector');
  const agent = YAML.parse(fs.readFileSync(path.join(dir, 'agent.yaml'), 'utf8'));
  const gateway = YAML.parse(fs.readFileSync(path.join(dir, 'gateway.yaml'), 'utf8'));
  assert.match(agent.receivers.otlp.protocols.grpc.endpoint, /:4317$/);
  assert.match(agent.exporters['otlp/gateway'].endpoint, /^otel-gateway\..*:4317$/);
  assert.match(gateway.receivers.otlp.protocols.grpc.endpoint, /:4317$/);
  for (const c of [agent, gateway]) {
    for (const [name, p] of Object.entries(c.service.pipelines) as Array<[string, any]>) {
      for (const r of p.receivers) assert.ok(r in c.receivers, `${name}: receiver ${r}`);
      for (const x of p.processors) assert.ok(x in c.processors, `${name}: processor ${x}`);
      for (const e of p.exporters) assert.ok(e in c.exporters, `${name}: exporter ${e}`);
    }
  }
});
