export type { Grant, Role, TokenGrant, Tokens } from './auth.js';
export { SUBPROTOCOL } from './auth.js';
export type { HubAddress, HubOptions } from './hub.js';
export { CLOSE_CODES, Hub } from './hub.js';
export type { HubBoard, HubCommitResult, HubSource, OperatorAnswer, RemoteChannel } from './source.js';
export { HubRefusal } from './source.js';
export { StatelyTranslator } from './stately.js';
export { toServerMessage } from './translate.js';
