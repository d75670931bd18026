import { MemoryLedger } from '../../src/ledger/index.js';
import { ledgerContract } from './ledger-contract.js';

ledgerContract('MemoryLedger', async () => {
  const ledger = new MemoryLedger();
  return { ledger, cleanup: () => ledger.close() };
});
