// Kubernetes `Status` failures exactly as the API server shapes them, so kubectl prints the real messages.

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: Array<{ reason?: string; message: string; field?: string }>;
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): StatusBody {
    const body: StatusBody = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) body.details = this.details;
    return body;
  }
}

/** `pods "x" not found`; the resource is the plural, qualified by group like the server: `deployments.apps`. */
export function notFound(qualifiedResource: string, name: string, group: string, kind: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource} "${name}" not found`, { name, group, kind });
}

export function alreadyExists(
  qualifiedResource: string,
  name: string,
  group: string,
  kind: string,
): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource} "${name}" already exists`, {
    name,
    group,
    kind,
  });
}

export function conflict(qualifiedResource: string, name: string, group: string, kind: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group, kind },
  );
}

export function invalid(
  kindName: string,
  name: string,
  group: string,
  causes: Array<{ field: string; message: string }>,
): ApiError {
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return new ApiError(422, 'Invalid', `${kindName} "${name}" is invalid: ${text}`, {
    name,
    group,
    kind: kindName,
    causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
  });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function methodNotAllowed(
  message = 'the server does not allow this method on the requested resource',
): ApiError {
  return new ApiError(405, 'MethodNotAllowed', message);
}

export function gone(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json; got ${contentType}`,
  );
}

export function tooManyRequests(message: string, details?: StatusDetails): ApiError {
  return new ApiError(429, 'TooManyRequests', message, details);
}
