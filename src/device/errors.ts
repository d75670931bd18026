import { FarthingError } from '../errors.js';
import { statusName } from '../protocol/status.js';

/** The hub refused a request; `status` is the catalogue number (src/protocol/status.ts). */
export class RequestRefusedError extends FarthingError {
  readonly status: number;
  readonly statusName: string;

  constructor(what: string, status: number) {
    const name = statusName(status) ?? `status ${status}`;
    super('REQUEST_REFUSED', `${what} refused: ${name}`);
    this.status = status;
    this.statusName = name;
  }
}
