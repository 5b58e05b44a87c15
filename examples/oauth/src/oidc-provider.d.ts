/**
 * The part of oidc-provider (v9, which ships no types) that this example's authorization server uses,
 * and the core's OAuth test fixtures on top of it.
 */
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  interface Client {
    clientId: string;
    grantTypeAllowed(type: string): boolean;
  }
  interface GrantInstance {
    addOIDCScope(scope: string): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }
  interface Adapter {
    revokeByGrantId(grantId: string): Promise<void>;
    destroy(id: string): Promise<void>;
  }
  interface GrantModel {
    new (properties: { clientId: string; accountId: string }): GrantInstance;
    find(id: string): Promise<GrantInstance | undefined>;
    adapter: Adapter;
  }
  interface Context {
    oidc: {
      session?: { accountId?: string };
      client?: Client;
      result?: { consent?: { grantId?: unknown } };
      params?: Record<string, unknown>;
      provider: Provider;
    };
  }
  interface Account {
    accountId: string;
    claims(): Promise<Record<string, unknown>>;
  }
  interface ResourceServer {
    scope: string;
    audience?: string;
    accessTokenFormat?: "jwt" | "opaque";
    accessTokenTTL?: number;
    jwt?: { sign?: { alg: string } };
  }
  export interface Configuration {
    clients?: Record<string, unknown>[];
    findAccount?: (ctx: Context, id: string) => Promise<Account | undefined>;
    scopes?: string[];
    features?: {
      devInteractions?: { enabled: boolean };
      registration?: { enabled: boolean };
      revocation?: { enabled: boolean };
      clientIdMetadataDocument?: { enabled: boolean; ack?: string };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (ctx: Context) => Promise<string>;
        useGrantedResource?: (ctx: Context) => Promise<boolean>;
        getResourceServerInfo?: (ctx: Context, resource: string) => Promise<ResourceServer>;
      };
    };
    pkce?: { required?: (ctx: Context, client: Client) => boolean };
    rotateRefreshToken?: (ctx: Context) => boolean;
    issueRefreshToken?: (ctx: Context, client: Client) => Promise<boolean>;
    loadExistingGrant?: (ctx: Context) => Promise<GrantInstance | undefined>;
    ttl?: Record<string, number>;
    fetch?: (url: URL | string, options?: unknown) => Promise<Response>;
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    Grant: GrantModel;
    RefreshToken: { adapter: Adapter };
    callback(): (request: IncomingMessage, response: ServerResponse) => void;
    on(event: "grant.success", listener: (ctx: Context) => void): this;
    on(event: "grant.error", listener: (ctx: Context, error: unknown) => void): this;
    on(
      event: "refresh_token.saved" | "authorization_code.saved",
      listener: (token: { grantId?: string; jti?: string }) => void,
    ): this;
    on(event: "registration_create.success", listener: (ctx: Context, client: { clientSecret?: string }) => void): this;
    on(event: string, listener: () => void): this;
  }
}
