import { encodeMessage } from '../protocol/codec.js';
import { encodeAckFast } from '../protocol/voucher-fast.js';
import type { SignFn } from '../protocol/cose.js';
import { MessageType, type Message } from '../protocol/messages.js';
import { schemaOf } from '../protocol/schema.js';
import { downTopic, keyId, payeeTopic } from '../protocol/topics.js';
import type { BrokerPort, HubLogger } from './ports.js';

/**
 * Sends the hub's answers. Signed messages (OpenAccepted, Receipt, CloseReceipt, PayeeNotice)
 * are signed with the hub key; plain ones (Ack, Rejection, OpenRejected) are not. A failed
 * publish is logged, not thrown: the device re-sends, and the hub's state is already durable.
 */
export class Responder {
  constructor(
    private readonly hubId: string,
    private readonly broker: BrokerPort,
    private readonly sign: SignFn,
    private readonly logger: HubLogger,
  ) {}

  toDevice(deviceKey: Uint8Array | string, message: Message): void {
    const deviceId = typeof deviceKey === 'string' ? deviceKey : keyId(deviceKey);
    this.send(downTopic(this.hubId, deviceId), message);
  }

  /** The hot path's answer: a plain Ack, encoded by hand and sent at QoS 0. */
  ack(deviceKey: Uint8Array, channelId: Uint8Array, seq: number, amountBaseUnits: bigint): void {
    const topic = downTopic(this.hubId, keyId(deviceKey));
    this.broker
      .publish(topic, encodeAckFast(channelId, seq, amountBaseUnits), 0)
      .catch((error: unknown) => {
        this.logger.warn({ err: error, topic }, 'publish failed');
      });
  }

  /** Runs `work`, letting the broker link coalesce the publishes it makes into fewer writes. */
  batch(work: () => void): void {
    if (this.broker.corked === undefined) work();
    else this.broker.corked(work);
  }

  toPayee(payeeId: string, message: Message): void {
    this.send(payeeTopic(this.hubId, payeeId), message);
  }

  private send(topic: string, message: Message): void {
    const signed = isSigned(message.type);
    const bytes = encodeMessage(message, signed ? this.sign : undefined);
    // Plain Acks go at QoS 0: a lost one costs nothing (the next Ack or Receipt covers it, and a
    // device re-sends its newest voucher until acknowledged); everything else at QoS 1.
    const qos = message.type === MessageType.Ack ? 0 : 1;
    this.broker.publish(topic, bytes, qos).catch((error: unknown) => {
      this.logger.warn({ err: error, topic, type: message.type }, 'publish failed');
    });
  }
}

function isSigned(type: number): boolean {
  return schemaOf(type)?.form === 'signed';
}
