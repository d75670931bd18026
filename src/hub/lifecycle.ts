import { cumulativeFee, splitSettlement } from '../channel/fees.js';
import { checkOpen, type OpenPolicy } from '../channel/open.js';
import { checkClose, checkTopUp } from '../channel/rules.js';
import { isFarthingError } from '../errors.js';
import {
  channelAccount,
  deviceAccount,
  externalAccount,
  payeeAccount,
} from '../ledger/accounts.js';
import { TransferCode, type TransferInput } from '../ledger/types.js';
import { bytesEqual, toHex } from '../protocol/bytes.js';
import { channelIdOf } from '../protocol/channel-id.js';
import type { SignedEnvelope } from '../protocol/codec.js';
import {
  CloseReason,
  MessageType,
  type CloseReasonNumber,
  type CloseReceipt,
  type CloseRequest,
  type OpenRequest,
  type TopUp,
} from '../protocol/messages.js';
import { Status } from '../protocol/status.js';
import { keyId } from '../protocol/topics.js';
import { ChannelTable, SlotStatus } from './channel-table.js';
import { refuseChannelMessage } from './refusals.js';
import { pushChannelFee, pushSettlementLeg } from './settlement-transfers.js';
import { nowUnixS, type HubCore } from './core.js';
import { autoFundTransferId, escrowTransferId, refundTransferId, topUpTransferId } from './ids.js';
import {
  channelKey,
  decodeChannelRecord,
  encodeChannelRecord,
  type ChannelRecord,
} from './records.js';

export type CloseOutcome =
  { ok: true; receipt: CloseReceipt; alreadyClosed: boolean } | { ok: false; status: number };

/** Opening, topping up and closing channels: each one atomic commit, answered after it. */
export class Lifecycle {
  readonly policy: OpenPolicy;

  constructor(
    private readonly core: HubCore,
    private readonly whenVouchersIdle: (channelKey: string) => Promise<void> = async () =>
      undefined,
  ) {
    const s = core.settings;
    this.policy = {
      hubKey: core.hubKey,
      assets: new Set(s.assets),
      payees: s.payees === undefined ? undefined : new Set(s.payees),
      minCapacityBaseUnits: s.minCapacityBaseUnits,
      maxCapacityBaseUnits: s.maxCapacityBaseUnits,
      minLifetimeS: s.minLifetimeS,
      maxLifetimeS: s.maxLifetimeS,
    };
  }

  async open(deviceKey: Uint8Array, request: OpenRequest, signed: SignedEnvelope): Promise<void> {
    const { core } = this;
    const refuse = (status: number): void => {
      core.counters.refused(status);
      core.responder.toDevice(deviceKey, {
        type: MessageType.OpenRejected,
        nonce: request.nonce,
        status,
      });
    };
    const channelId = channelIdOf(core.hubKey, request.deviceKey, request.nonce);
    // The first two open checks, before anything about an existing channel is revealed.
    if (!bytesEqual(request.hubKey, core.hubKey)) return refuse(Status.HUB_MISMATCH);
    if (!bytesEqual(request.deviceKey, deviceKey)) return refuse(Status.DEVICE_MISMATCH);
    // A redelivered OpenRequest for a live channel gets the same answer again.
    const live = core.table.slotOf(channelId);
    if (live !== undefined) {
      if (this.sameOpen(live, request)) return this.sendOpenAccepted(deviceKey, request, channelId);
      return refuse(Status.CHANNEL_EXISTS);
    }
    const checked = checkOpen(request, this.policy, nowUnixS(core), deviceKey);
    if (!checked.ok) return refuse(checked.status);
    const badSignature = await this.signatureRefusal(deviceKey, signed);
    if (badSignature !== undefined) return refuse(badSignature);

    await core.moneyQueue.run(async () => {
      if (core.table.slotOf(channelId) !== undefined)
        return this.sendOpenAccepted(deviceKey, request, channelId);
      const idHex = toHex(channelId);
      for await (const [key, value] of core.ledger.records(channelKey(idHex.slice(0, 22)))) {
        // The same keys and nonce were used before: that channel is closed, never reopen it.
        if (key === channelKey(idHex)) {
          const record = decodeChannelRecord(value);
          return refuse(record.status === 'closed' ? Status.CHANNEL_CLOSED : Status.CHANNEL_EXISTS);
        }
        // Settlement ids hold the channel id's first 11 bytes (ids.ts); a device that ground
        // its nonces for a match would make them collide and stall every batch holding either.
        return refuse(Status.CHANNEL_EXISTS);
      }
      const deviceId = keyId(request.deviceKey);
      const transfers: TransferInput[] = [];
      const autoFund = core.settings.autoFundBaseUnits;
      if (autoFund !== undefined && autoFund > 0n) {
        transfers.push({
          id: autoFundTransferId(deviceId, autoFund),
          debitAccount: externalAccount('faucet'),
          creditAccount: deviceAccount(deviceId),
          asset: request.asset,
          amountBaseUnits: autoFund,
          code: TransferCode.Deposit,
          reference: 'auto-fund',
        });
      }
      transfers.push({
        id: escrowTransferId(channelId),
        debitAccount: deviceAccount(deviceId),
        creditAccount: channelAccount(idHex),
        asset: request.asset,
        amountBaseUnits: request.capacityBaseUnits,
        code: TransferCode.Escrow,
        reference: idHex,
      });
      const record: ChannelRecord = {
        channelId,
        deviceKey: request.deviceKey,
        payeeId: request.payeeId,
        asset: request.asset,
        capacityBaseUnits: request.capacityBaseUnits,
        expiresAtUnixS: request.expiresAtUnixS,
        feeBasisPoints: core.settings.feeBasisPoints,
        nonce: request.nonce,
        openedAtMs: core.clock.nowMs(),
        status: 'open',
        closeReason: 0,
        closedAtMs: 0,
        finalSeq: 0,
        finalAmountBaseUnits: 0n,
        payeeBaseUnits: 0n,
        feeBaseUnits: 0n,
        refundBaseUnits: 0n,
      };
      try {
        await core.ledger.commit({
          transfers,
          records: [{ key: channelKey(idHex), value: encodeChannelRecord(record) }],
        });
      } catch (error) {
        if (isFarthingError(error, 'LEDGER_INSUFFICIENT_BALANCE'))
          return refuse(Status.INSUFFICIENT_FUNDS);
        core.logger.error({ err: error, channel: idHex }, 'open commit failed');
        return refuse(Status.HUB_FAILURE);
      }
      core.table.insert(checked.state, core.settings.feeBasisPoints, 0n, 0, 0n);
      core.counters.opensAccepted++;
      this.sendOpenAccepted(deviceKey, request, channelId);
    });
  }

  private sameOpen(slot: number, request: OpenRequest): boolean {
    const t = this.core.table;
    return (
      t.isDeviceKey(slot, request.deviceKey) &&
      t.payeeId(slot) === request.payeeId &&
      t.asset(slot) === request.asset &&
      t.expiresAtUnixS[slot] === request.expiresAtUnixS
    );
  }

  private sendOpenAccepted(
    deviceKey: Uint8Array,
    request: OpenRequest,
    channelId: Uint8Array,
  ): void {
    const { core } = this;
    const slot = core.table.slotOf(channelId);
    if (slot === undefined) return;
    core.responder.toDevice(deviceKey, {
      type: MessageType.OpenAccepted,
      nonce: request.nonce,
      channelId,
      payeeId: request.payeeId,
      asset: request.asset,
      capacityBaseUnits: core.table.capacityBaseUnits[slot]!,
      expiresAtUnixS: request.expiresAtUnixS,
      feeBasisPoints: core.table.feeBasisPoints[slot]!,
    });
  }

  async topUp(deviceKey: Uint8Array, request: TopUp, signed: SignedEnvelope): Promise<void> {
    const { core } = this;
    const refuse = (status: number): void =>
      refuseChannelMessage(core, deviceKey, request.channelId, MessageType.TopUp, 0, status);
    const precheck = this.checkTopUpNow(deviceKey, request);
    if (precheck === 'unknown') return refuse(await this.unknownStatus(request.channelId));
    if (precheck.kind === 'refuse') return refuse(precheck.status);
    const badSignature = await this.signatureRefusal(deviceKey, signed);
    if (badSignature !== undefined) return refuse(badSignature);

    await core.moneyQueue.run(async () => {
      const verdict = this.checkTopUpNow(deviceKey, request);
      if (verdict === 'unknown') return refuse(await this.unknownStatus(request.channelId));
      if (verdict.kind === 'refuse') return refuse(verdict.status);
      const slot = core.table.slotOf(request.channelId)!;
      if (verdict.kind === 'accept') {
        const idHex = toHex(request.channelId);
        const record = decodeChannelRecord((await core.ledger.record(channelKey(idHex)))!);
        const addBaseUnits = request.capacityBaseUnits - record.capacityBaseUnits;
        try {
          await core.ledger.commit({
            transfers: [
              {
                id: topUpTransferId(request.channelId, request.capacityBaseUnits),
                debitAccount: deviceAccount(keyId(deviceKey)),
                creditAccount: channelAccount(idHex),
                asset: record.asset,
                amountBaseUnits: addBaseUnits,
                code: TransferCode.TopUpEscrow,
                reference: idHex,
              },
            ],
            records: [
              {
                key: channelKey(idHex),
                value: encodeChannelRecord({
                  ...record,
                  capacityBaseUnits: request.capacityBaseUnits,
                }),
              },
            ],
          });
        } catch (error) {
          if (isFarthingError(error, 'LEDGER_INSUFFICIENT_BALANCE'))
            return refuse(Status.INSUFFICIENT_FUNDS);
          core.logger.error({ err: error, channel: idHex }, 'top-up commit failed');
          return refuse(Status.HUB_FAILURE);
        }
        core.table.setCapacity(slot, request.capacityBaseUnits);
        core.counters.topUpsAccepted++;
      }
      // Accepted or a duplicate: the signed Receipt states the capacity the hub now holds.
      core.counters.receiptsSigned++;
      core.responder.toDevice(deviceKey, {
        type: MessageType.Receipt,
        channelId: request.channelId,
        seq: core.table.durableSeq[slot]!,
        amountBaseUnits: core.table.durableAmount[slot]!,
        capacityBaseUnits: core.table.capacityBaseUnits[slot]!,
      });
    });
  }

  private checkTopUpNow(deviceKey: Uint8Array, request: TopUp) {
    const slot = this.core.table.slotOf(request.channelId);
    if (slot === undefined) return 'unknown' as const;
    // view() shows a closing channel as closed, so the rules refuse it after the owner check.
    return checkTopUp(
      this.core.table.view(slot),
      request,
      nowUnixS(this.core),
      this.core.settings.maxCapacityBaseUnits,
      deviceKey,
    );
  }

  /**
   * A control message's signature check: undefined if it verifies, SIGNATURE_INVALID if not,
   * HUB_FAILURE (which the device retries) if the verifier itself failed, a worker lost say.
   */
  private async signatureRefusal(
    deviceKey: Uint8Array,
    signed: SignedEnvelope,
  ): Promise<number | undefined> {
    try {
      const [valid] = await this.core.verifier.verifyBatch([
        { signature: signed.signature, message: signed.toBeSigned, publicKey: deviceKey },
      ]);
      return valid === true ? undefined : Status.SIGNATURE_INVALID;
    } catch (error) {
      this.core.logger.error({ err: error }, 'a signature check failed');
      return Status.HUB_FAILURE;
    }
  }

  /** CHANNEL_CLOSED if the durable record says so, else CHANNEL_UNKNOWN (bounded: HUB_BUSY). */
  unknownStatus(channelId: Uint8Array): Promise<number> {
    return this.core.unknownLookups.status(channelId);
  }

  /** Device-signed CloseRequest: the signature is checked, then the channel closes. */
  async closeByDevice(
    deviceKey: Uint8Array,
    request: CloseRequest,
    signed: SignedEnvelope,
  ): Promise<void> {
    const { channelId } = request;
    const { core } = this;
    const refuse = (status: number): void =>
      refuseChannelMessage(core, deviceKey, channelId, MessageType.CloseRequest, 0, status);
    const slot = core.table.slotOf(channelId);
    if (slot !== undefined && !core.table.isDeviceKey(slot, deviceKey))
      return refuse(Status.CHANNEL_NOT_OWNED);
    const badSignature = await this.signatureRefusal(deviceKey, signed);
    if (badSignature !== undefined) return refuse(badSignature);
    const outcome = await this.close(channelId, CloseReason.Cooperative, deviceKey, request.seq);
    if (!outcome.ok) return refuse(outcome.status);
    // A repeated CloseRequest gets the same CloseReceipt again (close() re-sends it).
  }

  /**
   * Closes a channel: stop accepting vouchers, make the accepted ones durable, then in one
   * commit settle the final voucher (payee and fee), refund the rest of the escrow to the
   * device and mark the channel closed; then send the hub-signed CloseReceipt.
   */
  async close(
    channelId: Uint8Array,
    reason: CloseReasonNumber,
    requester?: Uint8Array,
    deviceNewestSeq = 0,
  ): Promise<CloseOutcome> {
    const { core } = this;
    const key = ChannelTable.keyOf(channelId);
    // Vouchers that arrived before the close are judged first; the device's named seq (below)
    // covers the one that did not arrive.
    await this.whenVouchersIdle(key);
    const slot = core.table.slotOfKey(key);
    if (slot === undefined) return this.closedOutcome(channelId, requester);
    const verdict = checkClose(
      core.table.view(slot),
      reason,
      nowUnixS(core),
      requester ?? core.table.deviceKey(slot),
    );
    if (verdict.kind === 'refuse') return { ok: false, status: verdict.status };
    if (verdict.kind === 'stale') return { ok: false, status: Status.CHANNEL_UNKNOWN };
    if (core.table.status[slot] === SlotStatus.Open) {
      // The device names the newest voucher it signed; closing without it would settle short.
      // Past expiry no voucher is accepted any more, so there is nothing to wait for.
      const live = nowUnixS(core) < core.table.expiresAtUnixS[slot]!;
      if (live && deviceNewestSeq > core.table.acceptedSeq[slot]!)
        return { ok: false, status: Status.VOUCHER_MISSING };
      core.table.status[slot] = SlotStatus.Closing;
    }
    await core.committer.flush();
    return core.moneyQueue
      .run(async () => {
        const current = core.table.slotOfKey(key);
        if (current === undefined) return this.closedOutcome(channelId, requester);
        return this.commitClose(current, reason);
      })
      .catch((error: unknown): CloseOutcome => {
        // A failed read: the channel stays closing, and the caller (a device, the expiry
        // timer, an operator) hears HUB_FAILURE and retries, as after a failed commit.
        core.logger.error({ err: error, channel: toHex(channelId) }, 'close failed');
        return { ok: false, status: Status.HUB_FAILURE };
      });
  }

  private async commitClose(slot: number, reason: CloseReasonNumber): Promise<CloseOutcome> {
    const { core } = this;
    const { table } = core;
    const channelId = table.channelId(slot).slice();
    const idHex = toHex(channelId);
    if (table.durableSeq[slot]! < table.acceptedSeq[slot]!) {
      // A failed group commit keeps verified vouchers staged (the flush above does not throw):
      // closing on the durable one would settle short of what the hub accepted. The retry
      // (the device's, the expiry timer's or an operator's) flushes it first.
      core.logger.warn({ channel: idHex }, 'close deferred: an accepted voucher is not durable');
      return { ok: false, status: Status.HUB_FAILURE };
    }
    const record = decodeChannelRecord((await core.ledger.record(channelKey(idHex)))!);
    const seq = table.durableSeq[slot]!;
    const amount = table.durableAmount[slot]!;
    const settled = table.settledAmount[slot]!;
    const fee = table.feeBasisPoints[slot]!;
    const split = splitSettlement(settled, amount, fee);
    const refund = record.capacityBaseUnits - amount;
    const transfers: TransferInput[] = [];
    const payee = payeeAccount(record.payeeId);
    if (split.movedBaseUnits > 0n) {
      pushSettlementLeg(transfers, idHex, seq, split.movedBaseUnits, payee, record.asset);
    }
    if (split.feeBaseUnits > 0n) {
      pushChannelFee(transfers, idHex, seq, split.feeBaseUnits, payee, record.asset);
    }
    if (refund > 0n) {
      transfers.push({
        id: refundTransferId(channelId),
        debitAccount: channelAccount(idHex),
        creditAccount: deviceAccount(keyId(record.deviceKey)),
        asset: record.asset,
        amountBaseUnits: refund,
        code: TransferCode.Refund,
        reference: idHex,
      });
    }
    const feeTotal = cumulativeFee(amount, fee);
    const closed: ChannelRecord = {
      ...record,
      status: 'closed',
      closeReason: reason,
      closedAtMs: core.clock.nowMs(),
      finalSeq: seq,
      finalAmountBaseUnits: amount,
      payeeBaseUnits: amount - feeTotal,
      feeBaseUnits: feeTotal,
      refundBaseUnits: refund,
    };
    try {
      await core.ledger.commit({
        transfers,
        records: [{ key: channelKey(idHex), value: encodeChannelRecord(closed) }],
      });
    } catch (error) {
      core.logger.error({ err: error, channel: idHex }, 'close commit failed');
      // Leave it closing: vouchers stay refused, and the expiry timer or an operator retries.
      return { ok: false, status: Status.HUB_FAILURE };
    }
    table.remove(slot);
    core.counters.channelsClosed++;
    if (split.movedBaseUnits > 0n) {
      core.counters.settledBaseUnits += split.movedBaseUnits;
      // The close credited the payee outside settlement: its next run checks for a payout.
      core.payoutsDue.add(record.payeeId, record.asset);
    }
    const receipt = closeReceiptOf(closed);
    core.responder.toDevice(record.deviceKey, receipt);
    if (core.settings.payeeNotices) {
      core.responder.toPayee(record.payeeId, {
        type: MessageType.PayeeNotice,
        payeeId: record.payeeId,
        channelId,
        asset: record.asset,
        seq,
        settledBaseUnits: amount,
        payeeBaseUnits: amount - feeTotal,
      });
    }
    core.logger.info(
      { channel: idHex, reason, amount: amount.toString(), refund: refund.toString() },
      'channel closed',
    );
    return { ok: true, receipt, alreadyClosed: false };
  }

  /** A channel not in memory: if its record is closed, repeat its CloseReceipt. */
  private async closedOutcome(
    channelId: Uint8Array,
    requester?: Uint8Array,
  ): Promise<CloseOutcome> {
    const value = await this.core.ledger.record(channelKey(toHex(channelId)));
    if (value === undefined) return { ok: false, status: Status.CHANNEL_UNKNOWN };
    const record = decodeChannelRecord(value);
    if (requester !== undefined && !bytesEqual(requester, record.deviceKey))
      return { ok: false, status: Status.CHANNEL_NOT_OWNED };
    if (record.status !== 'closed') return { ok: false, status: Status.CHANNEL_UNKNOWN };
    const receipt = closeReceiptOf(record);
    if (requester !== undefined) this.core.responder.toDevice(record.deviceKey, receipt);
    return { ok: true, receipt, alreadyClosed: true };
  }

  /** Closes every open channel whose expiry second has come. */
  async expireDue(): Promise<number> {
    const { core } = this;
    const nowS = nowUnixS(core);
    const due: Uint8Array[] = [];
    for (const slot of core.table.slots()) {
      if (core.table.status[slot] !== SlotStatus.Free && core.table.expiresAtUnixS[slot]! <= nowS) {
        due.push(core.table.channelId(slot).slice());
      }
    }
    let closed = 0;
    for (const channelId of due) {
      const outcome = await this.close(channelId, CloseReason.Expiry);
      if (outcome.ok && !outcome.alreadyClosed) closed++;
    }
    return closed;
  }
}

export function closeReceiptOf(record: ChannelRecord): CloseReceipt {
  return {
    type: MessageType.CloseReceipt,
    channelId: record.channelId,
    seq: record.finalSeq,
    amountBaseUnits: record.finalAmountBaseUnits,
    payeeBaseUnits: record.payeeBaseUnits,
    feeBaseUnits: record.feeBaseUnits,
    refundBaseUnits: record.refundBaseUnits,
    reason: record.closeReason as CloseReasonNumber,
  };
}
