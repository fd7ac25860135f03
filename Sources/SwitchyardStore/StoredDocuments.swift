import Foundation
import SwitchyardCore

/// Encodings both stores share: a route and its allocation as JSON text.
enum StoredDocuments {
    struct Write: Sendable {
        let name: String
        let revision: Int
        let expected: Int?
        let document: String
        let allocation: String
    }

    static func encode(_ write: StoreCommit.Write) throws -> Write {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Write(
            name: write.plan.route.name, revision: write.plan.route.revision, expected: write.expectedRevision,
            document: String(decoding: try encoder.encode(write.plan.route), as: UTF8.self),
            allocation: String(decoding: try encoder.encode(write.plan.allocation.ranges), as: UTF8.self)
        )
    }

    static func plan(document: String, allocation: String, route name: String) throws -> RoutePlan {
        do {
            let route = try JSONDecoder().decode(Route.self, from: Data(document.utf8))
            guard route.name == name else { throw StoreError.corrupt("the row of route '\(name)' holds route '\(route.name)'") }
            // Stored routes were valid when saved; what comes back is checked again.
            try route.validate()
            let ranges = try JSONDecoder().decode([BucketAllocation.OwnedRange].self, from: Data(allocation.utf8))
            return try RoutePlan(route: route, allocation: try BucketAllocation(ranges: ranges))
        } catch {
            throw StoreError.corrupt("route '\(name)': \(error)")
        }
    }
}

/// One minute of one deployment's figures as both stores' roll-up tables hold
/// them: outcome counts as JSON, histograms as packed bytes.
struct StoredFigures: Sendable {
    /// The columns, in this order, after a table's key columns.
    static let columns = ["requests", "outcomes", "latency", "ttft", "prompt_tokens", "completion_tokens", "cost"]

    var requests: Int
    var outcomes: String
    var latency: [UInt8]
    var ttft: [UInt8]
    var promptTokens: Int
    var completionTokens: Int
    var cost: Double

    init(_ figures: MetricsWindow.Bucket) throws {
        requests = figures.requests
        outcomes = String(decoding: try JSONEncoder().encode(figures.outcomeCounts), as: UTF8.self)
        latency = figures.latency.packed
        ttft = figures.timeToFirstToken.packed
        promptTokens = figures.promptTokens
        completionTokens = figures.completionTokens
        cost = figures.cost
    }

    init(requests: Int, outcomes: String, latency: [UInt8], ttft: [UInt8], promptTokens: Int, completionTokens: Int, cost: Double) {
        self.requests = requests
        self.outcomes = outcomes
        self.latency = latency
        self.ttft = ttft
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cost = cost
    }

    func bucket(minute: Int64) throws -> MetricsWindow.Bucket {
        var figures = MetricsWindow.Bucket(start: minute)
        figures.requests = requests
        figures.setOutcomes(try JSONDecoder().decode([String: Int].self, from: Data(outcomes.utf8)))
        guard let latency = LatencyHistogram(packed: latency), let ttft = LatencyHistogram(packed: ttft) else {
            throw StoreError.corrupt("a metric roll-up's histogram has the wrong size")
        }
        figures.latency = latency
        figures.timeToFirstToken = ttft
        figures.promptTokens = promptTokens
        figures.completionTokens = completionTokens
        figures.cost = cost
        return figures
    }
}
