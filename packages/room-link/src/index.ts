export { LinkProxy } from './link-proxy.js';
export type { CutOptions, LinkControl, LinkStats } from './link-proxy.js';
export {
  CutModeSchema,
  DEFAULT_DELAY_MS,
  DEFAULT_HIGH_WATER_BYTES,
  DEFAULT_LINK_NAME,
  LinkProxyOptionsSchema,
  MAX_DELAY_MS,
  parseLinkProxyOptions,
} from './link-options.js';
export type { CutMode, LinkProxyOptions, LinkState, ResolvedLinkProxyOptions } from './link-options.js';
export { LinkControlServer } from './control-server.js';
export type { ControlStatus, LinkControlServerOptions } from './control-server.js';
export {
  DEFAULT_CONTROL_LISTEN,
  DEFAULT_LINK_LOG_LEVEL,
  LinkProxiesConfigSchema,
  parseLinkProxiesConfig,
  readyLine,
  runLinkProxies,
} from './link-proxies.js';
export type { LinkProxiesConfig, LinkProxiesConfigInput, LinkProxiesReadyLine, RunningLink, RunningLinkProxies } from './link-proxies.js';
export { linkProxyCommand, linkProxyUsage, SHUTDOWN_DEADLINE_MS } from './link-proxy-command.js';
export type { LinkProxyCommandIo } from './link-proxy-command.js';
