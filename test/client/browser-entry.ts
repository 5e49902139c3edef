/// <reference lib="dom" />
// Bundled by the browser test for a real Chromium page: the typed client over the browser's own WebSocket.
import { connect } from '../../src/client/client.js';

declare global {
  interface Window {
    hearsay: { messages: unknown[]; errors: string[]; connected: boolean; roles: string[] };
  }
}

const params = new URLSearchParams(location.search);
window.hearsay = { messages: [], errors: [], connected: false, roles: [] };
try {
  const client = await connect(params.get('hub')!, {
    ...(params.get('token') ? { token: params.get('token')! } : {}),
    WebSocket: globalThis.WebSocket as never,
    onError: (e) => window.hearsay.errors.push(`${e.code}: ${e.message}`),
  });
  window.hearsay.connected = true;
  window.hearsay.roles = client.welcome.roles;
  for await (const m of client.follow('*', { types: ['snapshot', 'commit', 'outcome'] }))
    window.hearsay.messages.push(m);
} catch (error) {
  window.hearsay.errors.push(String(error));
}
