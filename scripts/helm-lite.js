#!/usr/bin/env node
/**
 * Renders deploy/helm/netprobe without helm (Debian has no helm package): enough of Helm's
 * template language for this chart and nothing more, so that what CI validates is what
 * `helm template` renders. Anything else in a template is an error, not a guess.
 *
 * Supported: {{ .Values.a.b }}, .Release.Name/.Namespace, .Chart.Name/.Version/.AppVersion,
 * "literals" and numbers, pipelines (or calls: toYaml .Values.x) through toYaml, nindent N, indent N, quote, default X,
 * and {{ if X }} / {{ else }} / {{ end }}; {{- and -}} trim whitespace as in Go templates.
 * Values files are deep-merged, later ones winning, like `helm template -f a.yaml -f b.yaml`.
 *
 *   node scripts/helm-lite.js CHART [-f values.yaml]... [--set key.path=json]...  > manifests.yaml
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

function deepMerge(base, over) {
  if (!isMap(base) || !isMap(over)) return over === undefined ? base : over;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}
const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Go template truthiness: false, 0, nil, empty string, list or map are false. */
function truthy(v) {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

/** Splits `a "b c" 4` into tokens, keeping quoted strings whole. */
function tokens(text) {
  return text.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
}

function evaluate(expr, scope, where) {
  const stages = expr.split('|').map((s) => tokens(s.trim()));
  // `fn a x` is `x | fn a`: the last argument is the value passed along.
  if (stages[0].length > 1) {
    const first = stages.shift();
    stages.unshift([first.at(-1)], first.slice(0, -1));
  }
  let value = operand(stages[0], scope, where);
  for (const [fn, ...args] of stages.slice(1)) {
    const arg = (i) => operand([args[i]], scope, where);
    switch (fn) {
      case 'toYaml': value = isEmpty(value) ? '' : YAML.stringify(value, { sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, ''); break;
      case 'nindent': value = '\n' + indent(String(value), arg(0)); break;
      case 'indent': value = indent(String(value), arg(0)); break;
      case 'quote': value = JSON.stringify(value === undefined || value === null ? '' : String(value)); break;
      case 'default': value = truthy(value) ? value : arg(0); break;
      default: throw new Error(`${where}: helm-lite does not support the function ${JSON.stringify(fn)}`);
    }
  }
  return value;
}
const isEmpty = (v) => v === undefined || v === null || (isMap(v) && Object.keys(v).length === 0);
const indent = (text, n) => text.split('\n').map((l) => ' '.repeat(n) + l).join('\n');

function operand(parts, scope, where) {
  if (parts.length !== 1) throw new Error(`${where}: helm-lite expects one value before a pipe, got ${JSON.stringify(parts.join(' '))}`);
  const [t] = parts;
  if (/^"/.test(t)) return JSON.parse(t);
  if (/^-?\d+$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  const m = /^\.(Values|Release|Chart)((?:\.[A-Za-z0-9_]+)*)$/.exec(t);
  if (!m) throw new Error(`${where}: helm-lite does not support ${JSON.stringify(t)}`);
  let v = scope[m[1]];
  for (const key of m[2].split('.').filter(Boolean)) v = isMap(v) ? v[key] : undefined;
  return v;
}

/** Renders one template file's text. */
function renderTemplate(text, scope, file) {
  const out = [];
  const stack = [{ emitting: true, taken: true }];
  const re = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  let last = 0;
  let trimNext = false;
  let m;
  const emit = (s) => {
    if (stack.every((f) => f.emitting)) out.push(s);
  };
  while ((m = re.exec(text))) {
    let literal = text.slice(last, m.index);
    if (trimNext) literal = literal.replace(/^\s+/, '');
    if (m[1]) literal = literal.replace(/\s+$/, '');
    emit(literal);
    last = re.lastIndex;
    trimNext = Boolean(m[3]);
    const action = m[2];
    const where = `${file}:${text.slice(0, m.index).split('\n').length}`;
    if (action.startsWith('/*')) continue;
    const ifMatch = /^if\s+(.+)$/.exec(action);
    if (ifMatch) {
      const cond = stack.every((f) => f.emitting) && truthy(evaluate(ifMatch[1], scope, where));
      stack.push({ emitting: cond, taken: cond });
    } else if (action === 'else') {
      const frame = stack.at(-1);
      if (stack.length < 2) throw new Error(`${where}: else without if`);
      frame.emitting = !frame.taken && stack.slice(0, -1).every((f) => f.emitting);
    } else if (action === 'end') {
      if (stack.length < 2) throw new Error(`${where}: end without if`);
      stack.pop();
    } else {
      const v = evaluate(action, scope, where);
      emit(v === undefined || v === null ? '' : String(v));
    }
  }
  if (stack.length !== 1) throw new Error(`${file}: an if has no end`);
  let rest = text.slice(last);
  if (trimNext) rest = rest.replace(/^\s+/, '');
  emit(rest);
  return out.join('');
}

/** The chart rendered as one multi-document YAML text, templates in name order. */
function renderChart(chartDir, { valuesFiles = [], set = {}, releaseName = 'netprobe', namespace = 'netprobe' } = {}) {
  const chart = YAML.parse(fs.readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8'));
  let values = YAML.parse(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8')) ?? {};
  for (const f of valuesFiles) values = deepMerge(values, YAML.parse(fs.readFileSync(f, 'utf8')) ?? {});
  for (const [key, value] of Object.entries(set)) {
    const over = {};
    let at = over;
    const keys = key.split('.');
    keys.slice(0, -1).forEach((k) => (at = at[k] = {}));
    at[keys.at(-1)] = value;
    values = deepMerge(values, over);
  }
  const scope = {
    Values: values,
    Release: { Name: releaseName, Namespace: namespace, Service: 'Helm' },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
  };
  const dir = path.join(chartDir, 'templates');
  const docs = [];
  for (const file of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const text = renderTemplate(fs.readFileSync(path.join(dir, file), 'utf8'), scope, path.join('templates', file)).trim();
    if (text) docs.push(`# Source: ${chart.name}/templates/${file}\n${text}`);
  }
  return docs.join('\n---\n') + '\n';
}

module.exports = { renderChart, renderTemplate };

if (require.main === module) {
  const args = process.argv.slice(2);
  const chartDir = args.shift();
  const valuesFiles = [];
  const set = {};
  while (args.length) {
    const flag = args.shift();
    if (flag === '-f') valuesFiles.push(args.shift());
    else if (flag === '--set') {
      const [k, ...v] = args.shift().split('=');
      set[k] = JSON.parse(v.join('='));
    } else throw new Error(`unknown argument ${flag}`);
  }
  if (!chartDir) {
    process.stderr.write('usage: node scripts/helm-lite.js CHART [-f values.yaml]... [--set key=json]...\n');
    process.exit(2);
  }
  process.stdout.write(renderChart(chartDir, { valuesFiles, set }));
}
