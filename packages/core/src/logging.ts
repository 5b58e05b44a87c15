import type { Logger } from "./options.js";
import { sanitize } from "./security/redact.js";

const PREFIX = "mcp-server-side:";
const silent = (): void => {};

/** Wraps the app's logger so that every argument of every line passes the one sanitizer first. */
export function sanitizingLogger(logger: Logger): Logger {
  return {
    debug: (...args) => logger.debug(...args.map(sanitize)),
    info: (...args) => logger.info(...args.map(sanitize)),
    warn: (...args) => logger.warn(...args.map(sanitize)),
    error: (...args) => logger.error(...args.map(sanitize)),
  };
}

/**
 * The default: warnings and errors to the console, so an operator without a `logger` still learns that
 * a config server cannot start or the store is unreachable. Debug and info stay quiet. Every line is
 * headed `mcp-server-side:` so it can be told apart (and filtered) among the app's own lines.
 */
export function consoleLogger(): Logger {
  const headed = (args: unknown[]): unknown[] =>
    typeof args[0] === "string" && args[0].startsWith(PREFIX) ? args : [PREFIX, ...args];
  return {
    debug: silent,
    info: silent,
    warn: (...args) => console.warn(...headed(args)),
    error: (...args) => console.error(...headed(args)),
  };
}

/** The instance's logger from the `logger` option: the app's, the console by default, or silence for `false`. */
export function resolveLogger(option: Logger | false | undefined): Logger {
  if (option === false) return { debug: silent, info: silent, warn: silent, error: silent };
  return sanitizingLogger(option ?? consoleLogger());
}
