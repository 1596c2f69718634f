/** `prometheus`: metrics served for scraping; the scraper pulls, so nothing queues here. */
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { PrometheusConfig } from '../../config/load';
import { NetprobeError } from '../../errors';
import type { ExporterKind } from './kind';

export const prometheusKind: ExporterKind = {
  type: 'prometheus',
  pullMetrics({ id, config }, metricProducers) {
    const c = config as PrometheusConfig;
    return new Promise((resolve, reject) => {
      const reader: PrometheusExporter = new PrometheusExporter({ host: c.host, port: c.port, metricProducers }, (err) => {
        if (err) reject(new NetprobeError('NETPROBE_ERR_CONFIG', `exporters::${id}: cannot listen on ${c.host}:${c.port}: ${err.message}`));
        else resolve({ reader, target: `served at http://${c.host}:${c.port}/metrics` });
      });
    });
  },
};
