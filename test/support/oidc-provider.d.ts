// Minimal ambient types for oidc-provider 9, which ships no type declarations.
// Only the surface test/support/oidc-server.ts uses is described here.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  export type ParsedBody = Record<string, string | string[] | undefined>

  export interface ClientEntity {
    clientId: string
    grantTypeAllowed(grantType: string): boolean
  }

  export interface OidcContext {
    body?: ParsedBody
    client?: ClientEntity
  }

  // The koa context oidc-provider hands to `provider.use` middleware.
  export interface KoaContextWithOIDC {
    path: string
    method: string
    // koa: assigning replaces the query string.
    query: Record<string, string | string[] | undefined>
    status: number
    body: unknown
    headers: Record<string, string | string[] | undefined>
    oidc?: OidcContext
  }

  export type Middleware = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>

  export interface PromptDetail {
    name: string
    reasons: string[]
    details: {
      missingOIDCScope?: string[]
      missingOIDCClaims?: string[]
      missingResourceScopes?: Record<string, string[]>
    }
  }

  export interface Interaction {
    uid: string
    prompt: PromptDetail
    params: Record<string, unknown>
    session?: { accountId: string }
    grantId?: string
  }

  export interface InteractionResults {
    login?: { accountId: string; remember?: boolean }
    consent?: { grantId: string }
    error?: string
    error_description?: string
  }

  export interface GrantInstance {
    addOIDCScope(scope: string): void
    addOIDCClaims(claims: string[]): void
    addResourceScope(resource: string, scope: string): void
    save(): Promise<string>
  }

  export interface GrantConstructor {
    new (init: { accountId: string; clientId: string }): GrantInstance
    find(id: string): Promise<GrantInstance | undefined>
  }

  export interface Account {
    accountId: string
    claims(): Promise<{ sub: string; [claim: string]: unknown }>
  }

  export interface ClientMetadata {
    client_id: string
    client_secret?: string
    redirect_uris: string[]
    response_types?: string[]
    grant_types?: string[]
    token_endpoint_auth_method?: string
  }

  export interface Configuration {
    clients?: ClientMetadata[]
    pkce?: { required?: (ctx: KoaContextWithOIDC, client: ClientEntity) => boolean }
    ttl?: Record<string, number>
    rotateRefreshToken?: boolean
    issueRefreshToken?: (ctx: KoaContextWithOIDC, client: ClientEntity, code: unknown) => Promise<boolean>
    expiresWithSession?: (ctx: KoaContextWithOIDC, code: unknown) => Promise<boolean>
    features?: Record<string, { enabled: boolean; [option: string]: unknown }>
    interactions?: { url: (ctx: KoaContextWithOIDC, interaction: Interaction) => string }
    findAccount?: (ctx: KoaContextWithOIDC, id: string) => Promise<Account | undefined>
    cookies?: { keys: string[] }
    [option: string]: unknown
  }

  export const errors: { InvalidTarget: new (description?: string) => Error }

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration)
    readonly issuer: string
    readonly Grant: GrantConstructor
    use(middleware: Middleware): void
    callback(): (req: IncomingMessage, res: ServerResponse) => void
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>
    on(event: string, listener: (...args: unknown[]) => void): this
  }
}
