/**
 * The one list of credential names (SPEC §4). A header, an env variable, a query or fragment
 * parameter, a JSON member or a command-line flag is a credential when its name, lowercased and
 * stripped of everything but letters and digits, contains one of these. Redaction (`isSecretKey`,
 * `isSecretParameter`, `SECRET_FLAG`), encryption at rest (which URLs are sealed) and masking of what
 * a server echoes all ask `isCredentialName`, so the three can never disagree again.
 *
 * Substrings, not whole words: `X-Api-Key`, `GITHUB_PERSONAL_ACCESS_TOKEN`, `client_secret`,
 * `passphrase`, `X-Amz-Signature` and `sessionId` are all caught. The price is that a name such as
 * `author` or `design` counts too; masking only ever touches values of 8 characters or more, so an
 * ordinary flag such as `DISABLE_AUTH=true` still never masks a result.
 */
export const CREDENTIAL_NAME_PARTS: readonly string[] = [
  "token",
  "key",
  "secret",
  "password",
  "passwd",
  "pass",
  "pwd",
  "credential",
  "auth",
  "session",
  "cookie",
  "sig",
  "jwt",
  "bearer",
];

const CREDENTIAL_PART = new RegExp(CREDENTIAL_NAME_PARTS.join("|"));

/** `X-Api-Key` → `xapikey`: case and separators (`-`, `_`, `.`, spaces) do not matter. */
export function normalizeCredentialName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** Whether a header, env variable, parameter, member or flag of this name holds a credential. */
export function isCredentialName(name: string): boolean {
  return CREDENTIAL_PART.test(normalizeCredentialName(name));
}
