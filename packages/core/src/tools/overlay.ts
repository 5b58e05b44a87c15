import type { ToolSet } from "ai";
import type { ContextError } from "../types.js";

/**
 * The MCP tools with `own` tools on top: an app's own tools in `inject()`, a Chat Completions or
 * Responses client's function tools. An own tool wins a name clash, because its owner is the one who
 * runs it, and each clash is reported in `errors` (`tool_name_conflict`), naming `owner`.
 */
export function overlayTools(mcpTools: ToolSet, own: ToolSet, owner: string, errors: ContextError[]): ToolSet {
  // Nothing to lay over: the MCP set goes as it is (often the shared frozen set, which the AI SDK only
  // reads); copying 500 tools into a null-prototype object costs more than the rest of a warm request.
  if (Object.keys(own).length === 0) return mcpTools;
  // A null prototype, so that a tool named like an Object.prototype member is just a name.
  const tools: ToolSet = Object.assign(Object.create(null), mcpTools);
  for (const name of Object.keys(own)) {
    if (Object.hasOwn(tools, name)) {
      errors.push({
        code: "tool_name_conflict",
        tool: name,
        message: `the ${owner} tool '${name}' replaces the MCP tool of the same name`,
      });
    }
    tools[name] = own[name]!;
  }
  return tools;
}
