/// One request a shadow rollout mirrored, with both replies, kept (when the
/// plan says `capture`) so an operator can read what the new version says
/// differently. Holds user content: only operators may read it.
public struct ShadowSample: Codable, Hashable, Sendable {
    public var atMilliseconds: Int64
    /// The request's last user message (or prompt), shortened.
    public var request: String
    public var primaryDeployment: String
    public var shadowDeployment: String
    public var primaryText: String
    public var shadowText: String
    /// Sørensen–Dice similarity of the two replies, 0…1.
    public var similarity: Double
    public var primaryLatencyMs: Double
    public var shadowLatencyMs: Double?
    public var primaryTokens: Int
    public var shadowTokens: Int
    public var shadowError: String?

    /// How long a kept pair is served after it was captured.
    public static let retention: Duration = .seconds(86_400)

    /// Longer texts are cut here (at a character boundary), so a capture stays bounded.
    public static let maximumTextCharacters = 8_000

    public init(
        atMilliseconds: Int64, request: String, primaryDeployment: String, shadowDeployment: String, comparison: ShadowComparison
    ) {
        self.atMilliseconds = atMilliseconds
        self.request = String(request.prefix(2_000))
        self.primaryDeployment = primaryDeployment
        self.shadowDeployment = shadowDeployment
        primaryText = String(comparison.primaryText.prefix(Self.maximumTextCharacters))
        shadowText = String(comparison.shadowText.prefix(Self.maximumTextCharacters))
        similarity = comparison.shadowError == nil ? comparison.similarity : 0
        primaryLatencyMs = comparison.primaryLatency.millisecondsDouble
        shadowLatencyMs = comparison.shadowLatency?.millisecondsDouble
        primaryTokens = comparison.primaryTokens
        shadowTokens = comparison.shadowTokens
        shadowError = comparison.shadowError
    }
}

/// `GET /api/v1/routes/{route}/samples`: the pairs the route's shadow kept, newest first.
public struct ShadowSamplesView: Codable, Sendable {
    public let route: String
    /// How many pairs the plan keeps (0: capture is off).
    public let capture: Int
    public let samples: [ShadowSample]

    public init(route: String, capture: Int, samples: [ShadowSample]) {
        self.route = route
        self.capture = capture
        self.samples = samples
    }
}

/// A word-level difference of two texts, for showing two replies side by side.
public enum WordDiff {
    public enum Change: Hashable, Sendable {
        case same
        /// Only in the first text.
        case removed
        /// Only in the second text.
        case added
    }

    /// Each word of `a` marked same or removed, and each word of `b` marked
    /// same or added, by a longest common subsequence of words. Texts past
    /// 600 words are compared on their first 600 (the rest marked changed),
    /// which bounds the table to 600 × 600.
    public static func compare(_ a: String, _ b: String) -> (left: [(word: String, change: Change)], right: [(word: String, change: Change)]) {
        let left = a.split(whereSeparator: \.isWhitespace).map(String.init)
        let right = b.split(whereSeparator: \.isWhitespace).map(String.init)
        let n = min(left.count, 600), m = min(right.count, 600)
        // lengths[i][j]: the LCS of left[i...] and right[j...].
        var lengths = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                lengths[i][j] = left[i] == right[j] ? lengths[i + 1][j + 1] + 1 : max(lengths[i + 1][j], lengths[i][j + 1])
            }
        }
        var leftMarks = [Change](repeating: .removed, count: left.count)
        var rightMarks = [Change](repeating: .added, count: right.count)
        var i = 0, j = 0
        while i < n, j < m {
            if left[i] == right[j] {
                leftMarks[i] = .same
                rightMarks[j] = .same
                i += 1
                j += 1
            } else if lengths[i + 1][j] >= lengths[i][j + 1] {
                i += 1
            } else {
                j += 1
            }
        }
        return (Array(zip(left, leftMarks)).map { ($0.0, $0.1) }, Array(zip(right, rightMarks)).map { ($0.0, $0.1) })
    }
}
