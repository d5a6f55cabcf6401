/** A refusal from the API (`{ error: { code, message } }`), or a failure to reach it (code `unavailable`, status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The ApiError a response stands for, read off its contract error body when it has one.
 * @example throw await apiErrorOf(res)
 */
export async function apiErrorOf(res: { status: number; text(): Promise<string> }): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (body.error?.code) return new ApiError(res.status, body.error.code, body.error.message ?? body.error.code);
  } catch {
    // not JSON: fall through to a generic message
  }
  return new ApiError(res.status, res.status >= 500 ? 'unavailable' : 'internal', `the server answered ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
}
