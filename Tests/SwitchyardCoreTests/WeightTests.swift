import Testing
@testable import SwitchyardCore

@Suite("Weights are exact basis points summing to 100 %")
struct WeightTests {
    @Test func percentagesWithTwoDecimalsAreKeptExactly() throws {
        #expect(try Weight(percent: 12.5).basisPoints == 1250)
        #expect(try Weight(percent: 0.01).basisPoints == 1)
        #expect(try Weight(percent: 33.33).description == "33.33")
        #expect(try Weight(percent: 90).description == "90")
        #expect(try Weight(percent: 7.5).description == "7.5")
    }

    @Test func moreThanTwoDecimalsIsRefused() {
        #expect(throws: WeightError.tooPrecise(12.345)) { try Weight(percent: 12.345) }
    }

    @Test func outOfRangeIsRefused() {
        #expect(throws: WeightError.outOfRange(101)) { try Weight(percent: 101) }
        #expect(throws: WeightError.outOfRange(-1)) { try Weight(percent: -1) }
        #expect(throws: WeightError.self) { try Weight(percent: .nan) }
    }

    @Test func aTableMustSumToExactly100() throws {
        #expect(throws: WeightError.sumIsNot100(actualBasisPoints: 9000)) {
            try WeightTable(percentages: [("a", 80), ("b", 10)])
        }
        #expect("\(WeightError.sumIsNot100(actualBasisPoints: 9000))" == "weights sum to 90, not 100")
        let table = try WeightTable(percentages: [("a", 66.67), ("b", 33.33)])
        #expect(table["a"]?.basisPoints == 6667)
    }

    @Test func duplicateNamesAreRefused() {
        #expect(throws: WeightError.duplicateDeployment("a")) {
            try WeightTable(percentages: [("a", 50), ("a", 50)])
        }
    }

    @Test func changingWeightsBumpsTheRevisionAndRefusesUnknownNames() throws {
        let route = Fixtures.route(weights: [("stable", 90), ("canary", 10)])
        let next = try route.withWeights(WeightTable(percentages: [("stable", 50), ("canary", 50)]))
        #expect(next.revision == route.revision + 1)
        #expect(next.deployment(named: "canary")?.weight.percent == 50)
        #expect(throws: WeightError.unknownDeployment("ghost")) {
            try route.withWeights(WeightTable(percentages: [("stable", 50), ("ghost", 50)]))
        }
    }

    @Test func productionRoutesRefuseFloatingVersions() {
        var route = Fixtures.route(weights: [("stable", 100)])
        route.deployments[0].version = "latest"
        #expect(throws: RouteError.self) { try route.validate() }
        route.environment = .development
        #expect(throws: Never.self) { try route.validate() }
    }
}

enum Fixtures {
    static func deployment(_ name: String, percent: Double, priority: Int = 1) -> Deployment {
        Deployment(
            name: name,
            weight: try! Weight(percent: percent),
            model: "gpt-4o",
            version: "2024-11-20",
            upstream: Upstream(kind: .openai, url: "http://127.0.0.1:9/v1"),
            priority: priority
        )
    }

    static func route(name: String = "chat-prod", weights: [(String, Double)]) -> Route {
        Route(name: name, stable: weights[0].0, deployments: weights.map { deployment($0.0, percent: $0.1) })
    }
}
