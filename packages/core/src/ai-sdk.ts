import * as ai from "ai";

/**
 * The major version of the app's `ai` package (a peer dependency: `^6 || ^7`). The two versions
 * spell a few message shapes differently (a binary tool-result part is `file-data` in 6, `file` with
 * tagged data in 7, which still reads `file-data` but warns on every call), so the shapes are
 * chosen here once, from the exports, instead of being guessed at each call: AI SDK 6 (every 6.x)
 * exports `experimental_generateImage`, which 7 removed, and lacks 7's `uploadFile`. Anything else
 * gets the current spelling.
 */
export const aiSdkMajor: 6 | 7 = "experimental_generateImage" in ai && !("uploadFile" in ai) ? 6 : 7;
