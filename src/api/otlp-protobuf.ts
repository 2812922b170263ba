// OTLP/HTTP protobuf: decoding an ExportTraceServiceRequest into the OTLP/JSON shape the
// store's adapter reads, and encoding the ExportTraceServiceResponse. The message types
// come from the OpenTelemetry project's own .proto files (proto/, unchanged from
// open-telemetry/opentelemetry-proto), loaded by protobufjs: no hand-written wire decoder.
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const PROTO_ROOT = fileURLToPath(new URL('../../proto/', import.meta.url));

let types: { request: protobuf.Type; response: protobuf.Type } | null = null;

function load() {
  if (types) return types;
  const root = new protobuf.Root();
  // imports in the .proto files are relative to the proto/ directory
  root.resolvePath = (_origin, target) => `${PROTO_ROOT}${target}`;
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
  types = {
    request: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    response: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
  };
  return types;
}

/** The id fields OTLP/JSON writes as hex (protobuf carries raw bytes). */
const HEX_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

function hexIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hexIds);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] =
      HEX_FIELDS.has(key) && typeof inner === 'string'
        ? Buffer.from(inner, 'base64').toString('hex')
        : hexIds(inner);
  }
  return out;
}

/**
 * A protobuf ExportTraceServiceRequest as OTLP/JSON: camelCase fields, 64-bit integers as
 * decimal strings, enums as numbers, ids as hex. Throws on bytes that are not the message.
 */
export function decodeTraceRequest(bytes: Uint8Array): unknown {
  const { request } = load();
  const message = request.decode(bytes);
  return hexIds(
    request.toObject(message, { longs: String, enums: Number, bytes: String, defaults: false }),
  );
}

/** An ExportTraceServiceResponse, with partial success when spans were rejected. */
export function encodeTraceResponse(
  partial: { rejectedSpans: number; errorMessage: string } | null,
): Uint8Array {
  const { response } = load();
  const body = partial
    ? {
        partialSuccess: {
          rejectedSpans: partial.rejectedSpans,
          errorMessage: partial.errorMessage,
        },
      }
    : {};
  return response.encode(response.fromObject(body)).finish();
}
