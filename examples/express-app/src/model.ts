import type { LanguageModel } from "ai";
import { createScriptedModel } from "./scripted-model.js";

export interface ChosenModel {
  model: LanguageModel;
  /** How the walkthrough names it. */
  label: string;
  real: boolean;
}

/** A real OpenAI model when OPENAI_API_KEY is set (OPENAI_MODEL picks which), else the scripted one. */
export async function chooseModel(env: NodeJS.ProcessEnv = process.env): Promise<ChosenModel> {
  if (env.OPENAI_API_KEY) {
    // Loaded only when used, so the scripted walkthrough never needs the provider package.
    const { openai } = await import("@ai-sdk/openai");
    const id = env.OPENAI_MODEL ?? "gpt-4o-mini";
    return { model: openai(id), label: `OpenAI model ${id}`, real: true };
  }
  return { model: createScriptedModel(), label: "scripted model, no API key set", real: false };
}
