// Commands reject with an `AppError`; anything else (a bad argument Tauri
// could not deserialize, a missing command) becomes one, so views handle a
// single shape.

import type { AppError } from '../bindings';

export function isAppError(value: unknown): value is AppError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AppError).code === 'string' &&
    typeof (value as AppError).message === 'string' &&
    Array.isArray((value as AppError).fields)
  );
}

export function toAppError(value: unknown): AppError {
  if (isAppError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return { code: 'internal', message, fields: [] };
}
