// The last command that failed, for the banner under the top bar.

import type { AppError } from '../bindings';
import { toAppError } from './errors';

class Notice {
  error = $state<AppError | null>(null);

  /** Shows a failed command's message; use as a `.catch` handler. */
  report = (error: unknown): void => {
    this.error = toAppError(error);
  };

  dismiss = (): void => {
    this.error = null;
  };
}

export const notice = new Notice();
