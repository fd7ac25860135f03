public import HTTPTypes
public import Tracing

/// Reads W3C trace-context headers (`traceparent`, `tracestate`) from a
/// request's fields, for a tracer to continue the caller's trace.
public struct HTTPFieldsExtractor: Extractor {
    public init() {}

    public func extract(key: String, from carrier: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { carrier[$0] }
    }
}
