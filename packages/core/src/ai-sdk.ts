import * as ai from "ai";

/**
 * The major version of the app's `ai` package (a peer dependency: `^6 || ^7`). The two versions
 * spell a few message shapes differently (a binary tool-result part is `file-data` in 6, `file` with
 * tagged data in 7, which still reads `file-data` but warns on every call), so the shapes are
 * chosen here once, by a feature only AI SDK 7 exports, instead of being guessed at each call.
 */
export const aiSdkMajor: 6 | 7 = "uploadFile" in ai ? 7 : 6;
