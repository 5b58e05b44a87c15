import { expect } from "vitest";
import { McpServerSideError } from "../../src/errors.js";

/** Runs `action`, asserts it threw an `McpServerSideError` (with `code`, when given), and returns it. */
export function expectThrown(action: () => unknown, code?: string): McpServerSideError {
  let caught: unknown;
  try {
    action();
  } catch (error: unknown) {
    caught = error;
  }
  expect(McpServerSideError.isInstance(caught)).toBe(true);
  const error = caught as McpServerSideError;
  if (code !== undefined) expect(error.code).toBe(code);
  return error;
}
