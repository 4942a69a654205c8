export type { SimInstanceView, VastInstanceJson } from './cloud.js';
export { type SimFault, SimFaultSchema } from './faults.js';
export { DEFAULT_TEMPLATES, type MarketOptions, type OfferTemplate, type SimOffer } from './market.js';
export {
  type SimRequestRecord,
  startVastSim,
  type VastSim,
  type VastSimControl,
  type VastSimOptions,
} from './server.js';
