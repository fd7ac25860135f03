/// A quality score for one request, from a person or an LLM judge; it feeds
/// the A/B statistics of rollouts.
public struct Feedback: Hashable, Sendable, Codable {
    public var id: Int64
    public var atMilliseconds: Int64
    /// The reply's `id` (e.g. `chatcmpl-…`) or the caller's own request id.
    public var requestId: String
    /// 0 (worst) … 1 (best); callers map their own scale onto it.
    public var score: Double
    /// `human`, `judge`, or another label the caller chooses.
    public var source: String
    public var route: String?
    public var deployment: String?
    /// The token that sent it.
    public var actor: String

    public init(
        id: Int64 = 0, atMilliseconds: Int64, requestId: String, score: Double, source: String,
        route: String?, deployment: String?, actor: String
    ) {
        self.id = id
        self.atMilliseconds = atMilliseconds
        self.requestId = requestId
        self.score = score
        self.source = source
        self.route = route
        self.deployment = deployment
        self.actor = actor
    }

    /// Validates `{"requestId", "score", "source"?, "route"?, "deployment"?}`.
    public init(json: [String: JSONValue], actor: String, at moment: Moment) throws(FeedbackError) {
        for key in json.keys.sorted() where !["requestId", "score", "source", "route", "deployment"].contains(key) {
            throw .invalid("unknown field '\(key)'")
        }
        guard let requestId = json["requestId"]?.stringValue, !requestId.isEmpty, requestId.utf8.count <= 200 else {
            throw .invalid("'requestId' must be a non-empty string of at most 200 bytes")
        }
        guard case .number(let score)? = json["score"], score.isFinite, (0...1).contains(score) else {
            throw .invalid("'score' must be a number from 0 (worst) to 1 (best)")
        }
        var labels: [String: String] = [:]
        for key in ["source", "route", "deployment"] {
            guard let value = json[key] else { continue }
            guard let text = value.stringValue, !text.isEmpty, text.utf8.count <= 100 else {
                throw .invalid("'\(key)' must be a non-empty string of at most 100 bytes")
            }
            labels[key] = text
        }
        self.init(
            atMilliseconds: moment.nanoseconds / 1_000_000, requestId: requestId, score: score, source: labels["source"] ?? "human",
            route: labels["route"], deployment: labels["deployment"], actor: actor
        )
    }
}

public enum FeedbackError: Error, Hashable, Sendable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case .invalid(let reason): reason
        }
    }
}
