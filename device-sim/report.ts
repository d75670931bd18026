import Table from 'cli-table3';
import type { FleetSummary } from './fleet.js';

/** A two-column table (label, value) for terminal summaries; no colours (logs stay clean). */
export function keyValueTable(title: string, rows: [string, string | number | bigint][]): string {
  const table = new Table({
    head: [title, ''],
    style: { head: [], border: [], compact: true },
    colAligns: ['left', 'right'],
  });
  for (const [label, value] of rows) table.push([label, String(value)]);
  return table.toString();
}

function counts(record: Record<string, number>): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${v}`).join(', ');
}

/** The human summary of a fleet run: results, latency, money, misbehaviour, mismatches. */
export function formatFleetSummary(s: FleetSummary): string {
  const out: string[] = [];
  out.push(
    keyValueTable('fleet', [
      ['devices (connected / asked)', `${s.devicesConnected} / ${s.devices}`],
      ['misbehaving devices', s.misbehavingDevices],
      ['scenarios', counts(s.scenarios)],
      ['channels opened / closed', `${s.channelsOpened} / ${s.channelsClosed}`],
      ['top-ups', s.topUps],
      ['vouchers sent', s.vouchersSent],
      ['vouchers acknowledged', s.vouchersAcked],
      ['refused (honest devices)', counts(s.refusedByStatus)],
      ['retried (busy / rate limited)', counts(s.retriedByStatus)],
      ['throughput', `${s.throughputPerS} vouchers/s over ${s.activeS} s`],
      [
        'ack latency p50 / p95 / p99',
        `${s.latencyMs.p50} / ${s.latencyMs.p95} / ${s.latencyMs.p99} ms`,
      ],
      ['ack latency max', `${s.latencyMs.max} ms`],
    ]),
  );
  const t = s.totals;
  out.push(
    keyValueTable('money (base units)', [
      ['sent (newest vouchers)', t.sentBaseUnits],
      ['acknowledged', t.ackedBaseUnits],
      ['hub-signed receipts', t.receiptedBaseUnits],
      ['capacity incl. top-ups', t.capacityBaseUnits],
      ['closed channels', t.closedChannels],
      ['closed: amount', t.closedAmountBaseUnits],
      ['closed: to payees', t.closedPayeeBaseUnits],
      ['closed: hub fees', t.closedFeeBaseUnits],
      ['closed: refunds', t.closedRefundBaseUnits],
    ]),
  );
  if (s.misbehaviour.length > 0) {
    const table = new Table({
      head: ['misbehaviour', 'expected', 'observed', 'ok'],
      style: { head: [], border: [], compact: true },
      colWidths: [18, 40, 40, 5],
      wordWrap: true,
    });
    for (const m of s.misbehaviour)
      table.push([m.mode, m.expected, m.observed, m.ok ? 'yes' : 'NO']);
    out.push(table.toString());
  }
  for (const m of s.mismatches) out.push(`mismatch: ${m}`);
  if (s.mismatchCount > s.mismatches.length)
    out.push(`... and ${s.mismatchCount - s.mismatches.length} more mismatches`);
  for (const e of s.errors) out.push(`error: ${e}`);
  if (s.errorCount > s.errors.length)
    out.push(`... and ${s.errorCount - s.errors.length} more errors`);
  return out.join('\n');
}
