import { McpServerSideError } from "../errors.js";
import type { Limits } from "../options.js";
import type { ServerToolView } from "../tools/convert.js";
import { classifyConnectError } from "./classify.js";
import type { Lifecycle } from "./lifecycle.js";

/**
 * The tool-list cache of one pool slot: the tools are listed once per connection and once per
 * `notifications/tools/list_changed`, within one `toolsTimeoutMs` for all pages, and kept as the AI
 * SDK view built from them (the raw list itself is not kept: heap per connection).
 */

export interface ToolList {
  /** The view of the current tool list, listing it first when needed (single flight). */
  view(): Promise<ServerToolView>;
  /** The view, synchronously, when the connection is alive and its list current. */
  ready(): ServerToolView | undefined;
  /** The list may have changed (a new session): the next use lists again. */
  stale(): void;
  /** The server said its list changed: list again at once, so the next request finds it ready. */
  changed(): void;
  /** Listings running on a live connection (the slot is busy meanwhile). */
  readonly running: number;
}

/** How many tools a server may list before the listing stops (the rest could never be offered). */
const MAX_LISTED_TOOLS = 10_000;

export function createToolList(
  lifecycle: Lifecycle,
  limits: Limits,
  build: (listed: readonly unknown[]) => ServerToolView,
): ToolList {
  let view: ServerToolView | undefined;
  /** Bumped by every change; a listing that started before a bump is stale when it ends. */
  let changes = 0;
  let listedAt = -1;
  let listing: Promise<ServerToolView> | undefined;
  let running = 0;

  const current = (): ServerToolView | undefined =>
    view !== undefined && listedAt === changes && lifecycle.current !== undefined ? view : undefined;

  const list = (): Promise<ServerToolView> => {
    const ready = current();
    if (ready !== undefined) return Promise.resolve(ready);
    listing ??= (async () => {
      try {
        return await lifecycle.withConnection(async (live) => {
          const startedAt = changes;
          running++;
          let listed: unknown[];
          try {
            listed = live.hasTools
              ? await live.listTools({
                  timeoutMs: limits.toolsTimeoutMs,
                  maxTools: MAX_LISTED_TOOLS,
                  maxPages: limits.maxToolListPages,
                })
              : [];
          } finally {
            running--;
          }
          const built = build(listed);
          if (live === lifecycle.current) {
            view = built;
            listedAt = startedAt;
          }
          return built;
        });
      } catch (error) {
        if (McpServerSideError.isInstance(error)) throw error;
        const code = classifyConnectError(error).code === "timeout" ? "timeout" : "upstream_error";
        const message =
          code === "timeout"
            ? "the MCP server did not list its tools in time"
            : "the MCP server failed to list its tools";
        lifecycle.coolDown(code, message);
        throw new McpServerSideError(code, message, { cause: error });
      } finally {
        listing = undefined;
      }
    })();
    return listing;
  };

  return {
    view: list,
    ready: current,
    stale() {
      changes++;
    },
    changed() {
      changes++;
      if (listing === undefined) list().catch(() => undefined);
    },
    get running() {
      return running;
    },
  };
}
