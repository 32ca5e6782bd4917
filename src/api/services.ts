/** What resolvers may use: built once per process in src/app.ts, holding no per-request state. */
import type { AuthFailureLimiter } from '../limits/auth-failures';
import type { HeavyLane } from '../limits/bulkhead';
import type { TenantLimitsCache } from '../limits/plugin';
import type { Config } from '../config';
import type { Logger } from '../observability/logger';
import type { Store } from '../store/repositories';
import type { CheckReviewedHook } from '../store/review';
import type { CalibrationRegistry } from '../verification/calibration';
import type { Orchestrator } from '../verification/orchestrator';
import type { HealthBook } from '../verification/health';
import type { ProviderRegistry } from '../verification/registry';
import type { ImageLimits } from '../images';
import type { CheckFeed } from '../queue/check-feed';
import type { WebhookDeliverer } from '../webhooks/deliverer';
import type { TrustStore } from '../../providers/local/document/trust';

export interface Services {
  config: Config;
  store: Store;
  orchestrator: Orchestrator;
  providers: ProviderRegistry;
  /** the CSCA certificates chips are verified against (VERIGATE_CSCA_DIR; empty: none trusted) */
  trust: TrustStore;
  /** the tables scores are mapped with (committed, then the operator's) */
  calibration: CalibrationRegistry;
  health: HealthBook;
  imageLimits: ImageLimits;
  /** the bulkhead for images that take seconds to decode (src/limits/bulkhead) */
  heavyLane: HeavyLane;
  /** each tenant's effective limits (its daily quota is charged where the check is stored) */
  tenantLimits: TenantLimitsCache;
  log: Logger;
  /** checks as they end, for subscriptions (src/queue/check-feed.ts) */
  feed: CheckFeed;
  /** sends the webhook outbox (src/webhooks/deliverer.ts); wake it when a delivery becomes due */
  webhooks?: WebhookDeliverer;
  /** failed key lookups per client address (src/limits/auth-failures.ts); absent: not limited */
  authFailures?: AuthFailureLimiter;
  /** the `check.reviewed` event (webhooks): runs in the review's transaction (src/store/review.ts); absent: nothing is emitted */
  onCheckReviewed?: CheckReviewedHook;
}
