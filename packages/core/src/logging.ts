import type { Logger } from "./options.js";
import { sanitize } from "./security/redact.js";

/** Wraps the app's logger so that every argument of every line passes the one sanitizer first. */
export function sanitizingLogger(logger: Logger): Logger {
  return {
    debug: (...args) => logger.debug(...args.map(sanitize)),
    info: (...args) => logger.info(...args.map(sanitize)),
    warn: (...args) => logger.warn(...args.map(sanitize)),
    error: (...args) => logger.error(...args.map(sanitize)),
  };
}
