// An API route as data: method, path, the scope it needs, TypeBox schemas for what comes in and
// what goes out, and a handler that calls an operation and returns plain data. The HTTP framework
// (transport/http/api.ts) registers these, validates against the schemas, checks the token and
// the app, and renders the reply; nothing here knows about the framework.
import type { Readable } from 'node:stream';
import type { Static, TSchema } from 'typebox';
import type { Identity } from '../auth/identity.ts';
import type { Scope } from '../auth/scopes.ts';
import type { Services } from '../context.ts';
import { UserError } from '../errors.ts';

/** The HTTP methods the API uses. */
export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** One request as a handler sees it: who asks, and the validated parts of the request. */
export interface ApiCall<P = unknown, Q = unknown, B = unknown> {
  identity: Identity;
  services: Services;
  params: P;
  query: Q;
  body: B;
  /** Aborted when the client goes away; work that must outlive it (a job) does not listen to it. */
  signal: AbortSignal;
  /** An upload route's request body as it arrives (application/octet-stream), never read whole into memory. */
  upload?: Readable;
}

/** Writes one Server-Sent Event; resolves once the client has taken enough that the writer may go on. */
export type SendEvent = (event: string, data: string) => Promise<void>;

/** A change to the caller's dashboard session cookie (POST and DELETE /session); the transport writes it as Set-Cookie. */
export type SessionCookie = { secret: string; endsAt: number } | { clear: true };

/** A plain-text answer (a transcript, a log). */
export interface TextReply { status: number; text: string }

/** A stream of Server-Sent Events: runs until the stream is over (the transport then ends the response) or `signal` aborts. */
export interface EventsReply { events: (send: SendEvent, signal: AbortSignal) => Promise<void> }

/**
 * Bytes streamed as they are made (a database dump): 200 with `type` and a download named
 * `filename` once `bytes` writes its first chunk; `write` resolves when the client can take more.
 * A failure before the first byte is the usual error answer; after it, the connection is cut, so
 * the client sees a transfer that did not end.
 */
export interface BytesReply { type: string; filename: string; bytes: (write: (chunk: Buffer) => Promise<void>, signal: AbortSignal) => Promise<unknown> }

/** What a handler answers: JSON, plain text, a stream of Server-Sent Events, or bytes. */
export type Reply = { status: number; json: unknown; cookie?: SessionCookie } | TextReply | EventsReply | BytesReply;

/** The success statuses a route declares and the schema of each one's body. */
export type Responses = Record<number, TSchema>;

/** A declared status as a number (object keys are numbers here; the conditional keeps a handler's `200` a literal). */
type StatusOf<K> = K extends number ? K : never;

/** A JSON answer with one of the declared statuses, its body the static type of that status's schema. */
export type JsonReplyOf<R extends Responses> = { [S in keyof R]: { status: StatusOf<S>; json: R[S] extends TSchema ? Static<R[S]> : never; cookie?: SessionCookie } }[keyof R];

/** What a handler of a route with these responses may answer: JSON that fits the schema of its status, text with a declared status, or events. */
export type ReplyOf<R extends Responses> = JsonReplyOf<R> | { status: StatusOf<keyof R>; text: string } | EventsReply | BytesReply;

/** How a route answers when it succeeds, for the OpenAPI document (`text-or-sse`: logs, text unless asked to follow; `json-or-sse`: metrics). */
export type Produces = 'json' | 'text' | 'sse' | 'text-or-sse' | 'json-or-sse' | 'bytes';

/** A route as the transport registers it. */
export interface ApiRoute {
  method: Method;
  /** Fastify-style path under /api/v1, with `:name` parameters (`/apps/:app`). */
  url: string;
  summary: string;
  tag: string;
  /** The scope a token needs; GET routes need at most `read`, others at least `deploy`. */
  need: Scope;
  /** Whether `:app` names an app the caller must be able to use (404 otherwise, as over SSH). */
  app: boolean;
  /** Whether the route answers without a token (the OpenAPI document). */
  public?: boolean;
  produces: Produces;
  /** Whether the request body is bytes (application/octet-stream) handed to the handler as a stream (`upload`), not JSON. */
  upload?: boolean;
  schema: {
    params?: TSchema;
    querystring?: TSchema;
    body?: TSchema;
    /** The success statuses and their bodies (JSON schema, or a string schema for text and SSE). */
    response: Record<number, TSchema>;
  };
  handle(call: ApiCall): Promise<Reply> | Reply;
}

/** What a route definition gives; `route()` fills in the rest and types the handler from the schemas. */
interface RouteSpec<P extends TSchema, Q extends TSchema, B extends TSchema, R extends Responses> {
  method: Method;
  url: string;
  summary: string;
  tag: string;
  need: Scope;
  public?: boolean;
  produces?: Produces;
  upload?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  handle(call: ApiCall<Static<P>, Static<Q>, Static<B>>): Promise<ReplyOf<R>> | ReplyOf<R>;
}

/**
 * Declares a route; the handler's params, query and body are typed from their schemas, and the
 * JSON it answers must fit the response schema of the status it answers with.
 */
export function route<P extends TSchema = TSchema, Q extends TSchema = TSchema, B extends TSchema = TSchema, R extends Responses = Responses>(spec: RouteSpec<P, Q, B, R>): ApiRoute {
  if (spec.method !== 'GET' && spec.need === 'read') throw new Error(`${spec.method} ${spec.url}: only GET routes may be open to read tokens`);
  return {
    method: spec.method,
    url: spec.url,
    summary: spec.summary,
    tag: spec.tag,
    need: spec.need,
    app: spec.url.includes(':app'),
    ...(spec.public ? { public: true } : {}),
    ...(spec.upload ? { upload: true } : {}),
    produces: spec.produces ?? 'json',
    schema: {
      ...(spec.params ? { params: spec.params } : {}),
      ...(spec.query ? { querystring: spec.query } : {}),
      ...(spec.body ? { body: spec.body } : {}),
      response: spec.response,
    },
    handle: spec.handle as ApiRoute['handle'],
  };
}

/** The error codes of the API's error body, one per status class it answers with. */
export type ErrorCode = 'not_found' | 'unauthorized' | 'forbidden' | 'bad_request' | 'invalid' | 'conflict' | 'too_large' | 'too_many' | 'unavailable' | 'internal';

/** A refusal the API makes itself (a missing token, a scope too low), with its status and code. */
export class ApiError extends UserError {
  readonly status: number;
  readonly code: ErrorCode;
  readonly headers: Readonly<Record<string, string>>;
  constructor(status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}
