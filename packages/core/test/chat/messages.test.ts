import { describe, expect, it } from "vitest";
import { toModelMessages } from "../../src/chat/messages.js";
import { type ChatMessage, parseChatCompletionRequest } from "../../src/chat/request-schema.js";

/** Messages as a client sends them, parsed by the real schema first. */
function convert(messages: unknown[]) {
  const parsed = parseChatCompletionRequest({ model: "m", messages });
  if (!parsed.ok) throw new Error(parsed.message);
  return toModelMessages(parsed.value.messages as ChatMessage[]);
}

function converted(messages: unknown[]) {
  const result = convert(messages);
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

describe("OpenAI messages to AI SDK model messages", () => {
  it("keeps system and developer messages where they stand, as system messages", () => {
    expect(
      converted([
        { role: "developer", content: "be brief" },
        { role: "user", content: "hi" },
        {
          role: "system",
          content: [
            { type: "text", text: "a" },
            { type: "text", text: "b" },
          ],
        },
      ]),
    ).toEqual([
      { role: "system", content: "be brief" },
      { role: "user", content: "hi" },
      { role: "system", content: "ab" },
    ]);
  });

  it("turns assistant tool_calls and tool results into a call/result pair named after the call", () => {
    expect(
      converted([
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
            { id: "call_2", type: "function", function: { name: "get_time", arguments: "{}" } },
          ],
        },
        { role: "tool", tool_call_id: "call_2", content: "noon" },
        { role: "tool", tool_call_id: "call_1", content: [{ type: "text", text: "rain" }] },
        { role: "assistant", content: "Rain at noon." },
      ]),
    ).toEqual([
      { role: "user", content: "weather?" },
      {
        role: "assistant",
        content: [
          { type: "tool-call", toolCallId: "call_1", toolName: "get_weather", input: { city: "Oslo" } },
          { type: "tool-call", toolCallId: "call_2", toolName: "get_time", input: {} },
        ],
      },
      {
        role: "tool",
        content: [
          { type: "tool-result", toolCallId: "call_2", toolName: "get_time", output: { type: "text", value: "noon" } },
        ],
      },
      {
        role: "tool",
        content: [
          {
            type: "tool-result",
            toolCallId: "call_1",
            toolName: "get_weather",
            output: { type: "text", value: "rain" },
          },
        ],
      },
      { role: "assistant", content: [{ type: "text", text: "Rain at noon." }] },
    ]);
  });

  it("keeps assistant text that comes with tool calls, and refusals as text", () => {
    const [first, second] = converted([
      {
        role: "assistant",
        content: [
          { type: "text", text: "Let me look. " },
          { type: "refusal", refusal: "No." },
        ],
        tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "c", content: "x" },
    ]);
    expect(first).toEqual({
      role: "assistant",
      content: [
        { type: "text", text: "Let me look. No." },
        { type: "tool-call", toolCallId: "c", toolName: "f", input: {} },
      ],
    });
    expect(second?.role).toBe("tool");
  });

  it("keeps arguments that are not JSON as the raw string instead of failing the conversation", () => {
    const [assistant] = converted([
      { role: "assistant", tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: '{"a":' } }] },
      { role: "tool", tool_call_id: "c", content: "x" },
    ]);
    expect(assistant).toMatchObject({ content: [{ type: "tool-call", input: '{"a":' }] });
  });

  it("refuses a tool message that answers no open call, naming the message", () => {
    const result = convert([
      { role: "user", content: "hi" },
      { role: "tool", tool_call_id: "nope", content: "x" },
    ]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors?.[0]?.pointer).toBe("/messages/1/tool_call_id");
  });

  it("refuses tool calls left unanswered before the next user message, or at the end", () => {
    const calls = {
      role: "assistant",
      tool_calls: [{ id: "c9", type: "function", function: { name: "f", arguments: "{}" } }],
    };
    for (const messages of [
      [calls, { role: "user", content: "and?" }],
      [{ role: "user", content: "x" }, calls],
    ]) {
      const result = convert(messages);
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      expect(result.errors?.[0]?.pointer).toMatch(/^\/messages\/\d\/tool_calls$/);
      expect(result.message).toContain("c9");
    }
  });

  it("turns images, audio and inline files into AI SDK file parts", () => {
    const [user] = converted([
      {
        role: "user",
        content: [
          { type: "text", text: "look" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } },
          { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
          { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } },
          { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" } },
        ],
      },
    ]);
    expect(user).toEqual({
      role: "user",
      content: [
        { type: "text", text: "look" },
        { type: "file", mediaType: "image/png", data: "iVBORw0KGgo=" },
        { type: "file", mediaType: "image/*", data: new URL("https://example.com/cat.jpg") },
        { type: "file", mediaType: "audio/wav", data: "UklGRg==" },
        { type: "file", mediaType: "application/pdf", data: "JVBERi0=", filename: "a.pdf" },
      ],
    });
  });

  it("refuses image URLs of other schemes and files given by OpenAI file id", () => {
    const image = convert([
      { role: "user", content: [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }] },
    ]);
    expect(image.ok).toBe(false);
    if (!image.ok) expect(image.errors?.[0]?.pointer).toBe("/messages/0/content/0/image_url/url");
    const file = convert([{ role: "user", content: [{ type: "file", file: { file_id: "file-abc" } }] }]);
    expect(file.ok).toBe(false);
    if (!file.ok) expect(file.errors?.[0]?.pointer).toBe("/messages/0/content/0/file");
  });
});
