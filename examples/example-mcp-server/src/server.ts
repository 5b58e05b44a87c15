import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

/** One tool call as the server received it (the demos print these and the tests check them). */
export interface ReceivedToolCall {
  tool: string;
  arguments: Record<string, unknown>;
}

export interface ExampleMcpServerOptions {
  /** Called for every tool call, before the tool runs. */
  onToolCall?: (call: ReceivedToolCall) => void;
}

/** What the server tells a client at initialize; an app can put it in its system prompt. */
export const EXAMPLE_INSTRUCTIONS =
  "Demo tools with canned data and no network access: get_weather knows a few cities, add adds two numbers, " +
  "search_notes searches a small in-memory notebook. Prefer these tools over guessing.";

// Canned data, so the demo answers the same way on every machine and never leaves it.
const WEATHER: Record<string, { celsius: number; sky: string; humidity: number }> = {
  paris: { celsius: 18, sky: "light rain", humidity: 82 },
  london: { celsius: 14, sky: "overcast", humidity: 77 },
  berlin: { celsius: 16, sky: "partly cloudy", humidity: 64 },
  tokyo: { celsius: 24, sky: "sunny", humidity: 58 },
  "new york": { celsius: 21, sky: "clear", humidity: 49 },
  sydney: { celsius: 12, sky: "windy", humidity: 71 },
};

const KNOWN_CITIES = "Paris, London, Berlin, Tokyo, New York, Sydney";

const NOTES = [
  { title: "Release checklist", body: "Run the tests, bump the version, write the changeset, tag the release." },
  { title: "Trip to Paris", body: "Pack an umbrella: it rains a lot in spring. Museum pass booked for Tuesday." },
  { title: "Team lunch", body: "Thursday at noon, the ramen place near the office." },
  { title: "MCP ideas", body: "Register tenant servers through the API; opt out per request with mcp_servers: {}." },
];

const text = (value: string, isError = false): CallToolResult => ({
  content: [{ type: "text", text: value }],
  ...(isError ? { isError: true } : {}),
});

/**
 * Builds the example MCP server: three small tools and `instructions`. One instance serves one
 * connection (an MCP SDK rule), so the HTTP transport builds one per session.
 */
export function createExampleMcpServer(options: ExampleMcpServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: "example-mcp-server", version: "1.0.0" },
    { instructions: EXAMPLE_INSTRUCTIONS },
  );
  const received = (tool: string, args: Record<string, unknown>): void =>
    options.onToolCall?.({ tool, arguments: args });

  server.registerTool(
    "get_weather",
    {
      title: "Current weather",
      description:
        "The current weather in a city (canned demo data for Paris, London, Berlin, Tokyo, New York and Sydney).",
      inputSchema: { city: z.string().min(1).describe("The city, e.g. Paris") },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ city }) => {
      received("get_weather", { city });
      const weather = WEATHER[city.trim().toLowerCase()];
      // An unknown city is a tool error the model can read and recover from, not a protocol error.
      if (!weather) return text(`No weather data for '${city}'. Known cities: ${KNOWN_CITIES}.`, true);
      return text(`${city}: ${weather.celsius} °C, ${weather.sky}, humidity ${weather.humidity} %`);
    },
  );

  server.registerTool(
    "add",
    {
      title: "Add two numbers",
      description: "Adds two numbers and returns the sum.",
      inputSchema: { a: z.number().describe("The first number"), b: z.number().describe("The second number") },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ a, b }) => {
      received("add", { a, b });
      return text(String(a + b));
    },
  );

  server.registerTool(
    "search_notes",
    {
      title: "Search notes",
      description: "Searches a small in-memory notebook by words in the title or body.",
      inputSchema: {
        query: z.string().min(1).describe("Words to look for, e.g. 'paris umbrella'"),
        limit: z.number().int().min(1).max(10).optional().describe("At most this many notes (default 3)"),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ query, limit }) => {
      received("search_notes", { query, ...(limit === undefined ? {} : { limit }) });
      const words = query.toLowerCase().split(/\s+/).filter(Boolean);
      const hits = NOTES.filter((note) =>
        words.some((word) => `${note.title} ${note.body}`.toLowerCase().includes(word)),
      );
      if (hits.length === 0) return text(`No note matches '${query}'.`);
      return text(
        hits
          .slice(0, limit ?? 3)
          .map((note) => `# ${note.title}\n${note.body}`)
          .join("\n\n"),
      );
    },
  );

  return server;
}
