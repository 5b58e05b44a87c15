import type { ToolSet } from "ai";
import type { ContextError } from "../types.js";
import type { ServerToolView } from "./convert.js";
import { disambiguatedName } from "./naming.js";

/**
 * A request's `ToolSet` from the views of its servers, in the servers' order. A name that two servers
 * produce (possible with a custom `toolName`, or a shortened name) never lets one server's tool replace
 * another's: the later one moves to a hash-suffixed name, or is left out and reported.
 *
 * Copying is the whole cost of a warm request, so a combination of views known to be free of clashes
 * is copied without checking names; the check runs once per new combination.
 */

const MAX_REMEMBERED_COMBINATIONS = 1024;

export interface ToolSetMerger {
  merge(views: readonly ServerToolView[], errors: ContextError[]): ToolSet;
}

/** The views each merged set was built from, so per-server work (tool pinning) need not walk every tool. */
const viewsBySet = new WeakMap<ToolSet, readonly ServerToolView[]>();

/** The server views a set returned by a merger was built from; undefined for any other object. */
export function viewsOf(tools: ToolSet): readonly ServerToolView[] | undefined {
  return viewsBySet.get(tools);
}

export function createToolSetMerger(): ToolSetMerger {
  /** Combinations (view ids in order) whose names are known not to clash. */
  const clean = new Set<string>();

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
      if (views.length === 1) return built({ ...views[0]!.tools }, views);
      let combination = "";
      for (const view of views) combination += `${view.id},`;
      if (clean.has(combination)) {
        const tools: ToolSet = {};
        for (const view of views) Object.assign(tools, view.tools);
        return built(tools, views);
      }
      const { tools, clashed } = checkedMerge(views, errors);
      if (!clashed) {
        if (clean.size >= MAX_REMEMBERED_COMBINATIONS) clean.delete(clean.values().next().value as string);
        clean.add(combination);
      }
      return built(tools, views);
    },
  };
}
