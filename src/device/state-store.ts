import { FarthingError } from '../errors.js';

/** What a device must remember across a reboot, per channel: never reuse a seq, never forget a debt. */
export interface PersistedChannel {
  channelIdHex: string;
  nonceHex: string;
  payeeId: string;
  asset: string;
  capacityBaseUnits: string;
  expiresAtUnixS: number;
  feeBasisPoints: number;
  priceBaseUnits: string;
  pricePerUnits: string;
  usageUnits: string;
  directBaseUnits: string;
  seq: number;
  amountBaseUnits: string;
  /** The newest signed voucher, re-sent after a reconnect or a reboot. */
  lastVoucherHex: string;
  status: 'open' | 'closed';
}

export interface PersistedDevice {
  version: 1;
  channels: PersistedChannel[];
}

/**
 * Where a device keeps its state. `save` must be durable when it resolves: the SDK saves before
 * it publishes each voucher, so a crash after publishing can never lead to a reused seq.
 */
export interface DeviceStateStore {
  load(): Promise<PersistedDevice | undefined>;
  save(state: PersistedDevice): Promise<void>;
}

/** Keeps nothing across restarts: for simulators and tests. */
export class MemoryStateStore implements DeviceStateStore {
  private state: PersistedDevice | undefined;

  async load(): Promise<PersistedDevice | undefined> {
    return this.state === undefined ? undefined : structuredClone(this.state);
  }

  async save(state: PersistedDevice): Promise<void> {
    this.state = structuredClone(state);
  }
}

export function checkPersisted(value: unknown): PersistedDevice {
  const v = value as PersistedDevice;
  if (typeof v !== 'object' || v === null || v.version !== 1 || !Array.isArray(v.channels)) {
    throw new FarthingError('DEVICE_STATE_INVALID', 'device state has an unknown shape');
  }
  return v;
}
