import Foundation
import SwitchyardControl
import SwitchyardCore
import Testing
import Yams

/// Every body the management API sends, encoded by the types the server and
/// the clients share, checked against its schema in the one OpenAPI document:
/// required fields present, types right, and no field the schema does not
/// declare — so a rename in the code cannot drift from the published contract.
@Suite("Wire bodies match the OpenAPI document")
struct WireSchemaTests {
    /// The document's schemas, as JSON values (YAML read with Yams, then re-encoded).
    static func schemas() throws -> [String: JSONValue] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/SwitchyardControl/Resources/openapi.yaml")
        let yaml = try Yams.load(yaml: String(contentsOf: url, encoding: .utf8))
        let data = try JSONSerialization.data(withJSONObject: yaml as Any, options: [.fragmentsAllowed])
        return try JSONText.decode(Array(data))["components"]?["schemas"]?.objectValue ?? [:]
    }

    /// Problems of `value` against `schema`, each naming its path.
    static func problems(_ value: JSONValue, _ schema: JSONValue, at path: String, schemas: [String: JSONValue]) -> [String] {
        if let reference = schema["$ref"]?.stringValue {
            let name = String(reference.split(separator: "/").last ?? "")
            guard let target = schemas[name] else { return ["\(path): unknown schema \(reference)"] }
            return problems(value, target, at: path, schemas: schemas)
        }
        if case .array(let choices)? = schema["oneOf"] ?? schema["anyOf"] {
            return choices.contains { problems(value, $0, at: path, schemas: schemas).isEmpty } ? [] : ["\(path): matches none of its alternatives"]
        }
        var types: [String] = []
        switch schema["type"] {
        case .string(let type)?: types = [type]
        case .array(let list)?: types = list.compactMap(\.stringValue)
        default: break
        }
        if !types.isEmpty {
            let fits = types.contains { type in
                switch (type, value) {
                case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null): true
                case ("number", .number): true
                case ("integer", .number(let number)): number.rounded() == number
                default: false
                }
            }
            guard fits else { return ["\(path): \(value) where the schema says \(types)"] }
        }
        if case .array(let allowed)? = schema["enum"], case .string = value, !allowed.contains(value) {
            return ["\(path): \(value) is not one of \(allowed)"]
        }
        var found: [String] = []
        if case .object(let object) = value {
            for case .string(let key) in schema["required"]?.arrayValue ?? [] where object[key] == nil {
                found.append("\(path): required '\(key)' is missing")
            }
            let properties = schema["properties"]?.objectValue ?? [:]
            let additional = schema["additionalProperties"]
            for (key, member) in object.sorted(by: { $0.key < $1.key }) {
                if let property = properties[key] {
                    found += problems(member, property, at: "\(path).\(key)", schemas: schemas)
                } else if case .object? = additional, let extra = additional {
                    found += problems(member, extra, at: "\(path).\(key)", schemas: schemas)
                } else if additional?.boolValue != true && !properties.isEmpty {
                    found.append("\(path): '\(key)' is not in the schema")
                }
            }
        }
        if case .array(let array) = value, let items = schema["items"] {
            for (index, item) in array.enumerated() { found += problems(item, items, at: "\(path)[\(index)]", schemas: schemas) }
        }
        return found
    }

    static func check(_ body: some Encodable, against schema: String) throws {
        let value = try JSONText.decode(Array(try JSONEncoder().encode(body)))
        let found = problems(value, ["$ref": .string("#/components/schemas/\(schema)")], at: schema, schemas: try schemas())
        #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
    }

    static let route = ControlFixtures.route()
    static let t0 = Moment(seconds: 1_800_000_000)

    static func rollout() throws -> Rollout {
        let plan = try RolloutPlan(
            json: ["strategy": "canary", "canary": "canary", "steps": [["setWeight": 10], ["pause": "10m"]], "gates": [["metric": "errorRateDelta", "max": 1]]],
            route: route
        )
        var (rollout, _) = RolloutMachine.start(id: "r1", route: route, plan: plan, actor: "alice", now: t0)
        var stable = MetricsWindow()
        var canary = MetricsWindow()
        for index in 0..<2000 {
            stable.record(.init(outcome: index % 100 == 0 ? .upstream5xx : .success, latency: .milliseconds(300)), at: t0)
            if index < 300 { canary.record(.init(outcome: index % 20 == 0 ? .upstream5xx : .success, latency: .milliseconds(320)), at: t0) }
        }
        let verdicts = GateEvaluator.evaluate(
            plan.gates, baseline: GateSide(figures: stable.aggregate(window: .seconds(60), now: t0)),
            candidate: GateSide(figures: canary.aggregate(window: .seconds(60), now: t0))
        )
        (rollout, _) = try RolloutMachine.handle(rollout, .evaluated(verdicts), now: t0 + .seconds(30))
        return rollout
    }

    @Test func routeBodies() throws {
        let view = RolloutView(try Self.rollout(), full: false)
        try Self.check(RouteListView(routes: [Self.route], rollouts: ["chat-prod": view]), against: "RouteList")
        try Self.check(ChangeView(route: Self.route, changed: true, serverTimeMs: 2.5), against: "ChangeReply")
        try Self.check(ApplyView(created: ["a"], updated: [], deleted: [], unchanged: ["b"]), against: "ApplyOutcome")
        let audit = AuditEvent(id: 4, atMilliseconds: 1, actor: "alice", action: "weights", route: "chat-prod", fromRevision: 1, toRevision: 2, detail: "stable=90 canary=10")
        try Self.check(AuditListView(events: [audit]), against: "AuditList")
    }

    @Test func rolloutBodies() throws {
        try Self.check(RolloutView(try Self.rollout(), full: true), against: "Rollout")
    }

    @Test func experimentReportBody() throws {
        let plan = try RolloutPlan(json: ["strategy": "ab", "variants": ["stable", "canary"], "duration": "1h"], route: Self.route)
        let (rollout, _) = RolloutMachine.start(id: "ab1", route: Self.route, plan: plan, actor: "alice", now: Self.t0)
        var figures: [String: MetricsWindow.Bucket] = [:]
        for (name, failEvery) in [("stable", 100), ("canary", 20)] {
            var window = MetricsWindow()
            for index in 0..<500 {
                window.record(.init(outcome: index % failEvery == 0 ? .upstream5xx : .success, latency: .milliseconds(Int64(300 + index % 200)), promptTokens: 10, completionTokens: 20, cost: 0.002), at: Self.t0)
            }
            figures[name] = window.aggregate(window: .seconds(60), now: Self.t0)
        }
        let scores = ["stable": ScoreSummary([0.7, 0.8, 0.9]), "canary": ScoreSummary([0.6, 0.7, 0.8])]
        let report = ExperimentReport(rollout: rollout, variants: ["stable", "canary"], figures: figures, scores: scores, from: Self.t0, to: Self.t0 + .seconds(60))
        try Self.check(report, against: "ExperimentReport")
    }

    @Test func metricsBody() throws {
        var window = MetricsWindow()
        window.record(.init(outcome: .success, latency: .milliseconds(120), timeToFirstToken: .milliseconds(40), promptTokens: 10, completionTokens: 30, cost: 0.001), at: Self.t0)
        let bucket = window.aggregate(window: .seconds(60), now: Self.t0)
        let view = RouteMetricsView(
            route: "chat-prod", revision: 1, windowSeconds: 60,
            deployments: [.init(deployment: Self.route.deployments[0], total: bucket, series: [bucket, MetricsWindow.Bucket(start: 0)], breaker: .closed)]
        )
        try Self.check(view, against: "RouteMetrics")
    }

    @Test func theSchemasThisSuiteChecksExist() throws {
        let schemas = try Self.schemas()
        for name in ["RouteList", "ChangeReply", "ApplyOutcome", "AuditList", "Rollout", "RouteMetrics", "Lifecycle", "GateVerdict", "AnytimeInterval",
                     "Identity", "Migration", "RolloutList", "EvaluationList", "WeightsRequest", "PromoteRequest", "RolloutOperationRequest"] {
            #expect(schemas[name] != nil, "\(name) is missing from openapi.yaml")
        }
    }

    @Test func theCheckCatchesADriftedField() throws {
        let drifted: JSONValue = ["route": .string("x"), "revison": .number(1), "changed": .bool(true), "serverTimeMs": .number(1)]
        let found = Self.problems(drifted, ["$ref": "#/components/schemas/ChangeReply"], at: "ChangeReply", schemas: try Self.schemas())
        #expect(found.contains { $0.contains("'revison' is not in the schema") }, "\(found)")
        #expect(found.contains { $0.contains("required 'revision' is missing") }, "\(found)")
    }
}
