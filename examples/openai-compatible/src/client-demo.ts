import OpenAI from "openai";

export interface ClientDemoResult {
  plain: OpenAI.ChatCompletion;
  streamedText: string;
  clientToolCall: OpenAI.ChatCompletion;
  optedOut: OpenAI.ChatCompletion;
}

/**
 * What an application does with the endpoint: nothing but the official `openai` client, pointed at
 * this server. The MCP tools are invisible to it; it only sees answers (and its own tool calls).
 */
export async function runClientDemo(
  baseURL: string,
  model: string,
  print: (line: string) => void = console.log,
): Promise<ClientDemoResult> {
  // The key identifies the caller's scope (as X-API-Key would); it is not an OpenAI key.
  const openai = new OpenAI({ baseURL, apiKey: "my-tenant-key" });
  const ask = { role: "user", content: "What's the weather in Tokyo?" } as const;

  print("\n1. A question; the server calls the MCP weather tool and answers:");
  const plain = await openai.chat.completions.create({ model, messages: [ask] });
  print(`   ${plain.choices[0]?.message.content}`);

  print("\n2. The same, streamed:");
  const stream = await openai.chat.completions.create({ model, messages: [ask], stream: true });
  let streamedText = "";
  for await (const chunk of stream) streamedText += chunk.choices[0]?.delta.content ?? "";
  print(`   ${streamedText}`);

  print("\n3. With a function tool of the client's own, which comes back as tool_calls:");
  const clientToolCall = await openai.chat.completions.create({
    model,
    messages: [ask],
    tools: [
      {
        type: "function",
        function: {
          name: "show_on_map",
          description: "Shows a city on the user's map.",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      },
    ],
  });
  print(`   finish_reason=${clientToolCall.choices[0]?.finish_reason}`);
  print(`   tool_calls=${JSON.stringify(clientToolCall.choices[0]?.message.tool_calls)}`);

  print("\n4. Opting out of every MCP server for one request (mcp_servers: {}):");
  const optedOut = await openai.chat.completions.create({
    model,
    messages: [ask],
    // @ts-expect-error: an extension field, not in OpenAI's types
    mcp_servers: {},
  });
  print(`   ${optedOut.choices[0]?.message.content}`);

  return { plain, streamedText, clientToolCall, optedOut };
}
