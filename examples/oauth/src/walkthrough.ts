/**
 * A browser, over plain HTTP: a cookie jar per origin, redirects followed by hand, and oidc-provider's
 * development login form filled in. It walks the flow a user clicks through.
 */
export interface Browser {
  /**
   * Loads `url`, following redirects and logging in on the authorization server's page as `login`
   * (default: the start URL's `as` parameter, else alice). With `stopAt`, the first URL starting with it
   * is answered without being loaded (status 0, no text).
   */
  get(
    url: string,
    options?: { login?: string; stopAt?: string },
  ): Promise<{ status: number; url: string; text: string }>;
  send(method: string, url: string): Promise<{ status: number; text: string }>;
}

export function createBrowser(): Browser {
  const jars = new Map<string, Map<string, string>>();
  const jarOf = (url: string): Map<string, string> => {
    const origin = new URL(url).origin;
    let jar = jars.get(origin);
    if (jar === undefined) {
      jar = new Map();
      jars.set(origin, jar);
    }
    return jar;
  };
  const request = async (method: string, url: string, body?: string): Promise<Response> => {
    const jar = jarOf(url);
    const response = await fetch(url, {
      method,
      redirect: "manual",
      headers: {
        cookie: [...jar].map(([name, value]) => `${name}=${value}`).join("; "),
        ...(body === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" }),
      },
      ...(body === undefined ? {} : { body }),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at).trim();
      if (/max-age=0/i.test(line)) jar.delete(name);
      else jar.set(name, pair.slice(at + 1));
    }
    return response;
  };
  return {
    async get(start, options = {}) {
      let url = start;
      let method = "GET";
      let body: string | undefined;
      for (let hop = 0; hop < 20; hop++) {
        if (options.stopAt !== undefined && url.startsWith(options.stopAt)) return { status: 0, url, text: "" };
        const response = await request(method, url, body);
        const location = response.headers.get("location");
        if (location !== null) {
          await response.body?.cancel();
          url = new URL(location, url).href;
          method = "GET";
          body = undefined;
          continue;
        }
        const text = await response.text();
        // The authorization server's login page (any login, any password): the user logs in as `user`.
        const form = /<form[^>]*action="([^"]+)"[\s\S]*?name="prompt" value="([^"]+)"/.exec(text);
        if (form && new URL(url).pathname.startsWith("/interaction/")) {
          const login = options.login ?? new URL(start).searchParams.get("as") ?? "alice";
          url = new URL((form[1] ?? "").replaceAll("&amp;", "&"), url).href;
          method = "POST";
          body = new URLSearchParams(
            form[2] === "login" ? { prompt: "login", login, password: "demo" } : { prompt: form[2] ?? "" },
          ).toString();
          continue;
        }
        return { status: response.status, url, text };
      }
      throw new Error("too many redirects");
    },
    async send(method, url) {
      const response = await request(method, url);
      return { status: response.status, text: await response.text() };
    },
  };
}

export interface WalkthroughResult {
  before: unknown;
  issues: string;
  bob: unknown;
  disconnect: number;
  after: unknown;
}

/** Alice connects her account and gets her issues; Bob, not connected, gets oauth_required; Alice disconnects. */
export async function runWalkthrough(
  appUrl: string,
  out: (line: string) => void = console.log,
): Promise<WalkthroughResult> {
  const alice = createBrowser();
  await alice.get(`${appUrl}/login?user=alice`);
  const before = JSON.parse((await alice.get(`${appUrl}/tools`)).text) as { errors: { connectUrl?: string }[] };
  out(`alice, before connecting: ${JSON.stringify(before)}`);
  const connectUrl = before.errors[0]?.connectUrl ?? "/mcp-servers/tracker/oauth/connect";
  // Click "Connect": to the authorization server, log in, back through the callback, then returnTo "/".
  const landed = await alice.get(`${appUrl}${connectUrl}?as=alice`);
  out(`alice, after connecting: ${landed.url} → ${landed.text}`);
  const issues = (await alice.get(`${appUrl}/issues`)).text;
  out(`alice's issues: ${issues}`);

  const bob = createBrowser();
  await bob.get(`${appUrl}/login?user=bob`);
  const bobTools = JSON.parse((await bob.get(`${appUrl}/tools`)).text) as unknown;
  out(`bob (not connected): ${JSON.stringify(bobTools)}`);

  const disconnect = (await alice.send("DELETE", `${appUrl}/mcp-servers/tracker/oauth`)).status;
  out(`alice disconnects (and the tokens are revoked): ${disconnect}`);
  const after = JSON.parse((await alice.get(`${appUrl}/tools`)).text) as unknown;
  out(`alice, after disconnecting: ${JSON.stringify(after)}`);
  return { before, issues, bob: bobTools, disconnect, after };
}
