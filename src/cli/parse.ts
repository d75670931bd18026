import { InvalidArgumentError } from 'commander';

/** A whole number of base units, written in decimal (no sign, no point, no exponent). */
export function parseAmount(text: string): bigint {
  if (!/^(0|[1-9][0-9]*)$/.test(text))
    throw new InvalidArgumentError(`"${text}" is not a whole number of base units`);
  const value = BigInt(text);
  if (value >= 2n ** 64n)
    throw new InvalidArgumentError(`${text} is above the largest amount (2^64 − 1)`);
  return value;
}

export function parsePositiveInt(text: string): number {
  if (!/^[1-9][0-9]*$/.test(text))
    throw new InvalidArgumentError(`"${text}" is not a positive whole number`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`${text} is too large`);
  return value;
}

export function parseNonNegativeInt(text: string): number {
  return text === '0' ? 0 : parsePositiveInt(text);
}

/** A positive decimal number of seconds or a rate (e.g. 2.5); never used for money. */
export function parsePositiveNumber(text: string): number {
  const value = Number(text);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !(value > 0))
    throw new InvalidArgumentError(`"${text}" is not a positive number`);
  return value;
}

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(text: string): HostPort {
  const match = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || port > 65_535) throw new InvalidArgumentError(`"${text}" is not HOST:PORT`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** A price as base units per usage unit: "150" or a ratio "3/2" (3 base units per 2 units). */
export function parsePrice(text: string): { baseUnits: bigint; perUnits: bigint } {
  const match = /^(0|[1-9][0-9]*)(?:\/([1-9][0-9]*))?$/.exec(text);
  if (match === null)
    throw new InvalidArgumentError(
      `"${text}" is not a price like 150 or 3/2 (base units per usage unit)`,
    );
  return { baseUnits: BigInt(match[1]!), perUnits: BigInt(match[2] ?? '1') };
}

export function parseBasisPoints(text: string): number {
  const value = parseNonNegativeInt(text);
  if (value > 10_000) throw new InvalidArgumentError('basis points are 0..10000');
  return value;
}
