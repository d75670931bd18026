/**
 * The (payee, asset) pairs whose balance may have reached the payout threshold: credited by a
 * settlement or a close since their last check, or over the threshold when the hub started.
 * A pair leaves only once it is paid out or found below the threshold, so neither a close (which
 * credits the payee outside settlement) nor a crash between a settlement and its payout can
 * leave a payee's money waiting for good.
 */
export class PayoutsDue {
  private readonly pairs = new Map<string, readonly [payeeId: string, asset: string]>();

  /** Off (no payout threshold set): nothing is kept. */
  constructor(private readonly enabled: boolean) {}

  add(payeeId: string, asset: string): void {
    if (this.enabled) this.pairs.set(`${payeeId}/${asset}`, [payeeId, asset]);
  }

  delete(payeeId: string, asset: string): void {
    this.pairs.delete(`${payeeId}/${asset}`);
  }

  list(): (readonly [payeeId: string, asset: string])[] {
    return [...this.pairs.values()];
  }
}
