/**
 * The typed provider table (STYLE.md §1): one factory per provider name, so adding a name to
 * PROVIDER_NAMES without a factory fails to compile. A factory returns null when its provider
 * is not configured on this server. Adapters are imported lazily: a server without Rekognition
 * never loads the AWS SDK, one without the local engine never loads onnxruntime.
 */
import type { Provider, ProviderName } from '../providers/types';
import { ConfigError, type Config } from './config';

type Factory = (config: Config) => Promise<Provider | null>;

export const PROVIDER_FACTORIES = {
  local: async (c) => {
    const { createLocalProvider } = await import('../providers/local');
    return createLocalProvider({ pack: c.VERIGATE_MODEL_PACK, workers: c.VERIGATE_WORKERS, modelCache: c.VERIGATE_MODEL_CACHE });
  },
  facia: async (c) => {
    if (!c.FACIA_URL || !c.FACIA_HASH_ID) return null;
    const { createFaciaProvider } = await import('../providers/facia');
    return createFaciaProvider({ url: c.FACIA_URL, hashId: c.FACIA_HASH_ID, timeoutMs: c.FACIA_TIMEOUT_MS });
  },
  rekognition: async (c) => {
    if (!c.REKOGNITION_REGION) return null;
    const { createRekognitionProvider } = await import('../providers/rekognition');
    return createRekognitionProvider({ region: c.REKOGNITION_REGION, qualityFilter: c.REKOGNITION_QUALITY_FILTER });
  },
} as const satisfies Record<ProviderName, Factory>;

/** The providers to run: VERIGATE_PROVIDERS if set, else every configured one. */
export async function createProviders(config: Config): Promise<Provider[]> {
  const wanted = config.VERIGATE_PROVIDERS
    ? config.VERIGATE_PROVIDERS.split(',').map((s) => s.trim()).filter(Boolean)
    : (Object.keys(PROVIDER_FACTORIES) as ProviderName[]);
  const providers: Provider[] = [];
  for (const name of wanted) {
    if (!(name in PROVIDER_FACTORIES)) {
      throw new ConfigError(`VERIGATE_PROVIDERS: unknown provider '${name}' (known: ${Object.keys(PROVIDER_FACTORIES).join(', ')})`);
    }
    const provider = await PROVIDER_FACTORIES[name as ProviderName](config);
    if (provider) providers.push(provider);
    else if (config.VERIGATE_PROVIDERS) throw new ConfigError(`VERIGATE_PROVIDERS: provider '${name}' is listed but not configured`);
  }
  return providers;
}
