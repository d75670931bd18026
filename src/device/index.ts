export {
  connectDevice,
  connectDeviceLink,
  type BrokerAuth,
  type ConnectDeviceOptions,
  type DeviceLinkOptions,
} from './connect.js';
export { makeConnectProof } from './connect-proof.js';
export { Device, type DeviceOptions, type OpenParams } from './device.js';
export { DeviceChannel, type VoucherSent } from './device-channel.js';
export { RequestRefusedError } from './errors.js';
export { FileStateStore } from './file-state-store.js';
export { MemoryStateStore, type DeviceStateStore, type PersistedDevice } from './state-store.js';
export type { Price } from './price.js';
export type { DeviceLink } from './ports.js';
export { generateKeyPair, loadKeyFile, loadOrCreateKeyFile, type KeyPair } from '../crypto/keys.js';
