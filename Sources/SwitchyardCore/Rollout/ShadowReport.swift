/// One mirrored request: the client's reply against the shadow's.
public struct ShadowComparison: Hashable, Sendable {
    public var primaryLatency: Duration
    /// `nil` when the shadow failed (error, timeout).
    public var shadowLatency: Duration?
    public var primaryTokens: Int
    public var shadowTokens: Int
    public var primaryFinishReason: String?
    public var shadowFinishReason: String?
    public var primaryText: String
    public var shadowText: String
    public var shadowCost: Double
    public var shadowError: String?

    public init(
        primaryLatency: Duration, shadowLatency: Duration?, primaryTokens: Int, shadowTokens: Int, primaryFinishReason: String?,
        shadowFinishReason: String?, primaryText: String, shadowText: String, shadowCost: Double = 0, shadowError: String? = nil
    ) {
        self.primaryLatency = primaryLatency
        self.shadowLatency = shadowLatency
        self.primaryTokens = primaryTokens
        self.shadowTokens = shadowTokens
        self.primaryFinishReason = primaryFinishReason
        self.shadowFinishReason = shadowFinishReason
        self.primaryText = primaryText
        self.shadowText = shadowText
        self.shadowCost = shadowCost
        self.shadowError = shadowError
    }

    public var exactMatch: Bool { shadowError == nil && primaryText == shadowText }

    /// Sørensen–Dice similarity of the two texts' character bigrams (case and
    /// spacing folded): 1 for the same text, 0 for nothing in common.
    public var similarity: Double { TextSimilarity.dice(primaryText, shadowText) }
}

/// Text similarity for shadow comparisons.
public enum TextSimilarity {
    public static func dice(_ a: String, _ b: String) -> Double {
        let left = bigrams(a)
        let right = bigrams(b)
        if left.isEmpty && right.isEmpty { return normalized(a) == normalized(b) ? 1 : 0 }
        guard !left.isEmpty, !right.isEmpty else { return 0 }
        var counts: [String: Int] = [:]
        for gram in left { counts[gram, default: 0] += 1 }
        var shared = 0
        for gram in right where (counts[gram] ?? 0) > 0 {
            counts[gram]! -= 1
            shared += 1
        }
        return 2 * Double(shared) / Double(left.count + right.count)
    }

    static func normalized(_ text: String) -> [Character] {
        Array(text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " "))
    }

    static func bigrams(_ text: String) -> [String] {
        let characters = normalized(text)
        guard characters.count >= 2 else { return [] }
        return (0..<(characters.count - 1)).map { String(characters[$0...$0 + 1]) }
    }
}

/// The running summary of a shadow rollout: how much was mirrored or dropped
/// and how the shadow compared, reported like an A/B variant.
public struct ShadowReport: Hashable, Sendable {
    public var deployment: String
    public var mirrored = 0
    public var completed = 0
    public var shadowErrors = 0
    public var droppedQueueFull = 0
    public var droppedBudget = 0
    public var primaryLatency = LatencyHistogram()
    public var shadowLatency = LatencyHistogram()
    public var primaryTokens = 0
    public var shadowTokens = 0
    public var shadowCost = 0.0
    public var finishReasonMatches = 0
    public var exactMatches = 0
    public var similaritySum = 0.0
    public var similaritySquares = 0.0

    public init(deployment: String) {
        self.deployment = deployment
    }

    public mutating func record(_ comparison: ShadowComparison) {
        completed += 1
        primaryLatency.record(comparison.primaryLatency)
        primaryTokens = primaryTokens.saturatingAdding(max(0, comparison.primaryTokens))
        guard let latency = comparison.shadowLatency, comparison.shadowError == nil else {
            shadowErrors += 1
            return
        }
        shadowLatency.record(latency)
        shadowTokens = shadowTokens.saturatingAdding(max(0, comparison.shadowTokens))
        if comparison.shadowCost.isFinite, comparison.shadowCost >= 0 { shadowCost += comparison.shadowCost }
        if comparison.primaryFinishReason == comparison.shadowFinishReason { finishReasonMatches += 1 }
        if comparison.exactMatch { exactMatches += 1 }
        let similarity = comparison.similarity
        similaritySum += similarity
        similaritySquares += similarity * similarity
    }

    /// Shadow replies that came back and were compared.
    public var compared: Int { completed - shadowErrors }

    public var similarity: ScoreSummary {
        let n = Double(compared)
        guard compared > 0 else { return ScoreSummary(count: 0, mean: 0, variance: 0) }
        let mean = similaritySum / n
        let variance = compared < 2 ? 0 : max(0, (similaritySquares - n * mean * mean) / (n - 1))
        return ScoreSummary(count: compared, mean: mean, variance: variance)
    }
}
