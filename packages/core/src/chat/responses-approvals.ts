import type { ModelMessage, ToolSet } from "ai";
import { mcpToModelOutput } from "../tools/result.js";
import { parseArguments } from "./messages.js";
import type { ApprovalAnswer } from "./responses-input.js";
import { itemId } from "./responses-mcp.js";
import { type McpCallItem, mcpOutcome, settleMcpCall } from "./responses-output.js";

/**
 * Runs the calls the caller approved (their results go into the prompt and into `mcp_call` items)
 * and answers the declined ones for the model. A call whose tool the request no longer has fails.
 */
export async function runApprovedCalls(
  answers: readonly ApprovalAnswer[],
  tools: ToolSet,
  messages: ModelMessage[],
  signal: AbortSignal,
): Promise<McpCallItem[]> {
  const items: McpCallItem[] = [];
  for (const answer of answers) {
    const { call } = answer;
    const toolName = answer.toolName ?? `${call.server}__${call.tool}`;
    const result = (output: Parameters<typeof mcpToModelOutput>[0]["output"] | undefined, error?: string): void => {
      answer.result.push({
        type: "tool-result",
        toolCallId: call.callId,
        toolName,
        output: error === undefined ? (mcpToModelOutput({ output }) as never) : { type: "error-text", value: error },
      });
    };
    if (!answer.approve) {
      const reason = answer.reason === undefined || answer.reason === "" ? "" : ` Their reason: ${answer.reason}`;
      answer.result.push({
        type: "tool-result",
        toolCallId: call.callId,
        toolName,
        output: { type: "text", value: `The user did not approve this call, so it did not run.${reason}` },
      });
      continue;
    }
    const item: McpCallItem = {
      type: "mcp_call",
      id: itemId("mcp"),
      server_label: call.server,
      name: call.tool,
      arguments: call.arguments,
      output: null,
      error: null,
      approval_request_id: answer.approvalId,
      status: "in_progress",
    };
    items.push(item);
    const tool = answer.toolName === undefined ? undefined : tools[answer.toolName];
    if (tool?.execute === undefined) {
      const message = "The tool is no longer available to this request; the call did not run.";
      item.status = "failed";
      item.error = message;
      result(undefined, message);
      continue;
    }
    try {
      const output: unknown = await tool.execute(parseArguments(call.arguments), {
        toolCallId: call.callId,
        messages,
        abortSignal: signal,
      } as never);
      settleMcpCall(item, mcpOutcome(output));
      result(output);
    } catch (error) {
      const message = error instanceof Error ? error.message : "The call failed.";
      item.status = "failed";
      item.error = message;
      result(undefined, message);
    }
  }
  return items;
}
