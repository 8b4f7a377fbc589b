import { DefiSyncError } from '../errors.js';

/** HTTP 400 "Protocol not found" / "invalid configID!": the requested item does not exist. */
export class ItemNotFoundError extends DefiSyncError {}
/** HTTP 402: a pro-only route was called without an API key. Optional sources treat it as "unavailable". */
export class ProRequiredError extends DefiSyncError {}
/** 403 or 429 still answered after every retry: the upstream refuses us for now. */
export class UpstreamRefusedError extends DefiSyncError {}
/** A request did not complete within HTTP_TIMEOUT_MS (after retries). */
export class RequestTimeoutError extends DefiSyncError {}
/** The whole response is unusable: not JSON, truncated, HTML, wrong top-level type, not "success", too large, or an odd HTTP status. */
export class InvalidResponseError extends DefiSyncError {}
/** The network failed (connection refused, reset, DNS) after every retry. */
export class NetworkError extends DefiSyncError {}
/** 5xx still answered after every retry. */
export class UpstreamServerError extends DefiSyncError {}
