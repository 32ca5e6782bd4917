/** The providers this process can route to, by name. Built once at start-up (src/app.ts). */
import { PROVIDER_NAMES, ProviderError, type Provider, type ProviderName } from '../../providers/types';

export class ProviderRegistry {
  private readonly providers = new Map<ProviderName, Provider>();

  constructor(providers: Iterable<Provider>) {
    for (const p of providers) {
      if (this.providers.has(p.name)) throw new Error(`provider ${p.name} registered twice`);
      this.providers.set(p.name, p);
    }
  }

  get(name: ProviderName): Provider {
    const p = this.providers.get(name);
    if (!p) {
      throw new ProviderError(name, 'Unavailable', 'PROVIDER_UNAVAILABLE', `provider '${name}' is not configured on this server (configured: ${this.names().join(', ') || 'none'})`);
    }
    return p;
  }

  find(name: ProviderName): Provider | undefined {
    return this.providers.get(name);
  }

  has(name: ProviderName): boolean {
    return this.providers.has(name);
  }

  names(): ProviderName[] {
    return PROVIDER_NAMES.filter((n) => this.providers.has(n));
  }

  all(): Provider[] {
    return [...this.providers.values()];
  }

  async init(): Promise<void> {
    await Promise.all(this.all().map((p) => p.init?.()));
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.all().map((p) => p.close?.()));
  }
}
