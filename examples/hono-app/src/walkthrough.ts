/** A short walkthrough against the running Hono app: register a tenant's server, chat with its tool, opt out. */
export interface Exchange {
  status: number;
  body: any;
}

export interface WalkthroughResult {
  register: Exchange;
  chat: Exchange;
  optOut: Exchange;
}

export async function runWalkthrough(options: {
  appUrl: string;
  exampleServerUrl: string;
  modelLabel: string;
  out?: (line: string) => void;
}): Promise<WalkthroughResult> {
  const out = options.out ?? console.log;
  const call = async (step: string, method: string, path: string, body: unknown): Promise<Exchange> => {
    out(`\n${step}\n   → ${method} ${path}   X-API-Key: demo-tenant-key\n     ${JSON.stringify(body)}`);
    const response = await fetch(new URL(path, options.appUrl), {
      method,
      headers: { "Content-Type": "application/json", "X-API-Key": "demo-tenant-key" },
      body: JSON.stringify(body),
    });
    const exchange = { status: response.status, body: await response.json() };
    out(`   ← ${response.status} ${response.statusText}`);
    return exchange;
  };
  const question = { messages: [{ role: "user", content: "What's the weather in Paris?" }] };

  const register = await call("1. Register the example MCP server for this tenant", "POST", "/mcp-servers", {
    name: "weather",
    url: options.exampleServerUrl,
  });
  out(`     ${JSON.stringify({ name: register.body.name, url: register.body.url, source: register.body.source })}`);

  const chat = await call(`2. Chat: the ${options.modelLabel} calls an injected tool`, "POST", "/chat", question);
  out(`     tools offered  ${chat.body.toolsOffered.join(", ")}`);
  for (const toolCall of chat.body.toolCalls)
    out(`     tool call      ${toolCall.toolName} ${JSON.stringify(toolCall.input)}`);
  out(`     answer         ${chat.body.text}`);

  const optOut = await call('3. Opt out with "mcp_servers": {}', "POST", "/chat", { ...question, mcp_servers: {} });
  out(`     tools offered  ${optOut.body.toolsOffered.length === 0 ? "(none)" : optOut.body.toolsOffered.join(", ")}`);
  out(`     answer         ${optOut.body.text}`);

  return { register, chat, optOut };
}
