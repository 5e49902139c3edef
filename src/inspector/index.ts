export { type InspectorOptions, inspectorBundleDir, inspectorHandler } from './serve.js';
