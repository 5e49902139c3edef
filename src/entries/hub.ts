/**
 * `hearsay/hub`: the WebSocket hub and the inspector, for embedding them yourself. Most users never import
 * this: `runtime.listen()` starts a hub (and serves the inspector) for a runtime.
 */
export type { Grant, Role, TokenGrant, Tokens } from '../hub/auth.js';
export { SUBPROTOCOL } from '../hub/auth.js';
export type { HubAddress, HubOptions } from '../hub/hub.js';
export { CLOSE_CODES, Hub } from '../hub/hub.js';
export type { HubBoard, HubCommitResult, HubSource, OperatorAnswer, RemoteChannel } from '../hub/source.js';
export { HubRefusal } from '../hub/source.js';
export { type StatelyMessage, StatelyTranslator } from '../hub/stately.js';
export { type InspectorOptions, inspectorBundleDir, inspectorHandler } from '../inspector/serve.js';
