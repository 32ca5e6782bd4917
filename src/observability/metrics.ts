/** Prometheus metrics: one registry per app instance (tests run several apps in one process). */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Histogram({
    name: 'verigate_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly graphqlOperations = new Counter({
    name: 'verigate_graphql_operations_total',
    help: 'GraphQL operations by name and outcome',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly checks = new Counter({
    name: 'verigate_checks_total',
    help: 'Completed checks by kind, provider and status',
    labelNames: ['kind', 'provider', 'status'] as const,
    registers: [this.registry],
  });
  readonly providerCalls = new Histogram({
    name: 'verigate_provider_call_duration_seconds',
    help: 'Provider call duration by provider and outcome',
    labelNames: ['provider', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
  }
}
