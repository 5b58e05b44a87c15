import OpenAI from "openai";

export interface ResponsesDemoResult {
  models: string[];
  plain: OpenAI.Responses.Response;
  streamedText: string;
  approvalRequest: OpenAI.Responses.ResponseOutputItem.McpApprovalRequest | undefined;
  approved: OpenAI.Responses.Response;
}

/**
 * The same server through the Responses API, the official clients' newer default: `models.list()`,
 * `responses.create` and `responses.stream`, and OpenAI's own `{ type: "mcp" }` tool with approval.
 * This server keeps no responses, so a follow-up sends the conversation (earlier output included)
 * as `input` instead of `previous_response_id`.
 */
export async function runResponsesDemo(
  baseURL: string,
  model: string,
  /** An MCP server the request itself names (as an app written for OpenAI's hosted MCP tool does). */
  requestServerUrl: string,
  print: (line: string) => void = console.log,
): Promise<ResponsesDemoResult> {
  const openai = new OpenAI({ baseURL, apiKey: "my-tenant-key" });

  print("\n5. The models this server offers (GET /v1/models):");
  const models: string[] = [];
  for await (const entry of openai.models.list()) models.push(entry.id);
  print(`   ${models.join(", ")}`);

  print("\n6. The Responses API; the MCP call shows up as mcp_list_tools and mcp_call items:");
  const plain = await openai.responses.create({ model, input: "What's the weather in Tokyo?" });
  print(`   items: ${plain.output.map((item) => item.type).join(", ")}`);
  print(`   ${plain.output_text}`);

  print("\n7. The same, streamed as typed events:");
  const stream = openai.responses.stream({ model, input: "What's the weather in Tokyo?" });
  let streamedText = "";
  for await (const event of stream) if (event.type === "response.output_text.delta") streamedText += event.delta;
  print(`   ${streamedText}`);

  print("\n8. OpenAI's MCP tool in the request, which asks for approval before each call:");
  const input: OpenAI.Responses.ResponseInput = [{ role: "user", content: "What's the weather in Berlin?" }];
  const tools: OpenAI.Responses.Tool[] = [
    { type: "mcp", server_label: "forecast", server_url: requestServerUrl, require_approval: "always" },
  ];
  // mcp_servers: {} leaves out the app's own servers, so the model only has the request's.
  const extension = { mcp_servers: {} } as Record<string, unknown>;
  const first = await openai.responses.create({ model, input, tools, ...extension });
  const approvalRequest = first.output.find((item) => item.type === "mcp_approval_request");
  print(`   asks: ${approvalRequest?.name}(${approvalRequest?.arguments})`);
  const approved = await openai.responses.create({
    model,
    tools,
    ...extension,
    input: [
      ...input,
      ...(first.output as OpenAI.Responses.ResponseInputItem[]),
      { type: "mcp_approval_response", approval_request_id: approvalRequest?.id ?? "", approve: true },
    ],
  });
  print(`   approved: ${approved.output_text}`);

  return { models, plain, streamedText, approvalRequest, approved };
}
