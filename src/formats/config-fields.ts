// Typed reads of fields from a parsed JSON config (config.json and its nested sections). Every failure is
// a CONFIG_INVALID naming the file, the dotted key, what was expected and what was found, so the
// config parsers read as a list of fields and their defaults rather than a wall of type checks.

import { QloraError } from '../errors';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describeValue(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export class ConfigFields {
  constructor(
    readonly json: Record<string, unknown>,
    /** The file, for messages: 'config.json'. */
    readonly source: string,
    /** Dotted path of this section inside the file: '' or 'rope_scaling.'. */
    readonly prefix = '',
  ) {}

  fail(message: string): QloraError {
    return new QloraError('CONFIG_INVALID', `${this.source}: ${message}`, { source: this.source });
  }

  private bad(key: string, expected: string): QloraError {
    return this.fail(`"${this.prefix}${key}" must be ${expected}, found ${describeValue(this.json[key])}`);
  }

  /** Absent and null both mean "not set": transformers writes null for unset optional fields. */
  has(key: string): boolean {
    return this.json[key] !== undefined && this.json[key] !== null;
  }

  raw(key: string): unknown {
    return this.json[key];
  }

  /** An integer >= min; required unless a default is given. */
  int(key: string, min: number, fallback?: number): number {
    if (!this.has(key)) {
      if (fallback !== undefined) return fallback;
      throw this.fail(`"${this.prefix}${key}" is missing; expected an integer >= ${min}`);
    }
    const value = this.json[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw this.bad(key, `an integer >= ${min}`);
    return value;
  }

  /** A finite number > 0. */
  positive(key: string, fallback?: number): number {
    if (!this.has(key)) {
      if (fallback !== undefined) return fallback;
      throw this.fail(`"${this.prefix}${key}" is missing; expected a positive number`);
    }
    const value = this.json[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw this.bad(key, 'a positive number');
    return value;
  }

  bool(key: string, fallback: boolean): boolean {
    if (!this.has(key)) return fallback;
    const value = this.json[key];
    if (typeof value !== 'boolean') throw this.bad(key, 'true or false');
    return value;
  }

  string(key: string, fallback: string): string {
    if (!this.has(key)) return fallback;
    const value = this.json[key];
    if (typeof value !== 'string') throw this.bad(key, 'a string');
    return value;
  }

  stringList(key: string): string[] {
    if (!this.has(key)) return [];
    const value = this.json[key];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw this.bad(key, 'a list of strings');
    return [...value];
  }

  /** A non-negative token id, or null when unset. */
  tokenId(key: string, fallback: number | null): number | null {
    if (this.json[key] === null) return null;
    if (this.json[key] === undefined) return fallback;
    return this.int(key, 0);
  }

  /** A token id or a list of them (`eos_token_id` is either), as a list. */
  tokenIds(key: string, fallback: number[]): number[] {
    const value = this.json[key];
    if (value === undefined) return fallback;
    if (value === null) return [];
    const list = Array.isArray(value) ? value : [value];
    if (!list.every((id) => typeof id === 'number' && Number.isSafeInteger(id) && id >= 0)) {
      throw this.bad(key, 'a token id or a list of token ids');
    }
    return list as number[];
  }

  /** A nested object section, or null when unset. */
  section(key: string): ConfigFields | null {
    if (!this.has(key)) return null;
    const value = this.json[key];
    if (!isRecord(value)) throw this.bad(key, 'an object');
    return new ConfigFields(value, this.source, `${this.prefix}${key}.`);
  }
}
