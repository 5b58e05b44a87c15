import type { ToolSet } from "ai";
import type { ContextError } from "../types.js";
import type { ServerToolView } from "./convert.js";
import { disambiguatedName } from "./naming.js";
import { markUsed } from "../util/recently-used.js";

/**
 * A request's `ToolSet` from the views of its servers, in the servers' order. A name that two servers
 * produce (possible with a custom `toolName`, or a shortened name) never lets one server's tool replace
 * another's: the later one moves to a hash-suffixed name, or is left out and reported.
 *
 * Copying was the whole cost of a warm request, so a combination of views known to be free of clashes
 * is merged once and the set is shared, frozen, by every request with the same combination: a view is
 * one connection's tool list at one version (a reconnect or `tools/list_changed` makes a new view with
 * a new id), so a combination names exactly one content and needs no other invalidation. A set of one
 * view is the view's own (frozen) set. Who changes a shared set works on `ownCopy(set)`.
 */

/** Clash-free combinations whose merged set is kept (least recently used first out). */
const MAX_REMEMBERED_COMBINATIONS = 256;

export interface ToolSetMerger {
  merge(views: readonly ServerToolView[], errors: ContextError[]): ToolSet;
}

/** The views each merged set was built from, so per-server work (tool pinning) need not walk every tool. */
const viewsBySet = new WeakMap<ToolSet, readonly ServerToolView[]>();

/** The server views a set returned by a merger was built from; undefined for any other object. */
export function viewsOf(tools: ToolSet): readonly ServerToolView[] | undefined {
  return viewsBySet.get(tools);
}

/**
 * A set this request may change (delete blocked tools, wrap tools for hooks): `tools` itself when it
 * is not shared, else a copy that still knows its views.
 */
export function ownCopy(tools: ToolSet): ToolSet {
  if (!Object.isFrozen(tools)) return tools;
  const copy: ToolSet = { ...tools };
  const views = viewsBySet.get(tools);
  if (views !== undefined) viewsBySet.set(copy, views);
  return copy;
}

export function createToolSetMerger(): ToolSetMerger {
  /** Combinations (view ids in order) whose names are known not to clash, with their shared merged set. */
  const clean = new Map<string, ToolSet>();
  /**
   * The last clean combination starting with each view: a warm request with the same views finds its
   * set by comparing them, without building the combination's key.
   */
  const lastByFirst = new WeakMap<ServerToolView, { views: readonly ServerToolView[]; tools: ToolSet }>();

  const checkedMerge = (
    views: readonly ServerToolView[],
    errors: ContextError[] | undefined,
  ): { tools: ToolSet; clashed: boolean } => {
    const tools: ToolSet = {};
    let clashed = false;
    for (const view of views) {
      for (const entry of view.entries) {
        if (!Object.hasOwn(tools, entry.toolName)) {
          tools[entry.toolName] = entry.tool;
          continue;
        }
        clashed = true;
        const alternative = disambiguatedName(entry.toolName, view.server, entry.name);
        if (Object.hasOwn(tools, alternative)) {
          errors?.push({
            code: "tool_name_conflict",
            server: view.server,
            tool: entry.name,
            message: `the tool name '${entry.toolName}' is taken by another server's tool; this tool was left out`,
          });
          continue;
        }
        tools[alternative] = view.rename(entry, alternative);
        errors?.push({
          code: "tool_name_conflict",
          server: view.server,
          tool: entry.name,
          message: `the tool name '${entry.toolName}' is taken by another server's tool; this tool is offered as '${alternative}'`,
        });
      }
    }
    return { tools, clashed };
  };

  const built = (tools: ToolSet, views: readonly ServerToolView[]): ToolSet => {
    viewsBySet.set(tools, views);
    return tools;
  };

  return {
    merge(views, errors) {
      for (const view of views) {
        for (const error of view.errors) errors.push(error);
      }
      if (views.length === 0) return built({}, views);
      // A view's own set is frozen when it is built (tools/convert.ts) and shared as it is.
      if (views.length === 1) return viewsBySet.has(views[0]!.tools) ? views[0]!.tools : built(views[0]!.tools, views);
      const last = lastByFirst.get(views[0]!);
      if (last !== undefined && sameViews(last.views, views)) return last.tools;
      let combination = "";
      for (const view of views) combination += `${view.id},`;
      const known = clean.get(combination);
      if (known !== undefined) {
        markUsed(clean, combination, known, MAX_REMEMBERED_COMBINATIONS);
        lastByFirst.set(views[0]!, { views: [...views], tools: known });
        return known;
      }
      const { tools, clashed } = checkedMerge(views, errors);
      if (clashed) return built(tools, views);
      if (clean.size >= MAX_REMEMBERED_COMBINATIONS) clean.delete(clean.keys().next().value as string);
      // Built key by key the set is in dictionary mode, where every Object.keys (the AI SDK's, the app's)
      // sorts it again (24 µs for 500 tools); a spread gives it fast properties once (1 µs).
      const shared = Object.freeze(built({ ...tools }, views));
      clean.set(combination, shared);
      lastByFirst.set(views[0]!, { views: [...views], tools: shared });
      return shared;
    },
  };
}

function sameViews(one: readonly ServerToolView[], other: readonly ServerToolView[]): boolean {
  if (one.length !== other.length) return false;
  for (let index = 0; index < one.length; index++) if (one[index] !== other[index]) return false;
  return true;
}
