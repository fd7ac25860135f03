import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchyardConfig
import SwitchyardControl
import SwitchyardCore
import SwitchyardGateway
import Testing
import SwitchyardSecrets
import SwitchyardClock
import SwitchyardTesting

@Suite("Management API")
struct ManagementAPITests {
    static let tokens = [
        TokenEntry(name: "vera", role: .viewer, digest: SecretDigest.sha256("viewer-secret")),
        TokenEntry(name: "otto", role: .operator_, digest: SecretDigest.sha256("operator-secret")),
    ]
    static let secrets: [Role: String] = [.viewer: "viewer-secret", .operator_: "operator-secret", .admin: "admin-secret"]

    /// The API over a real control plane and store, with a gateway as its metrics source.
    static func withAPI(_ body: @Sendable (any TestClientProtocol, ControlPlane) async throws -> Void) async throws {
        let store = TemporaryStore()
        defer { store.remove() }
        let gateway = Gateway(options: .init(environment: [:]))
        let control = ControlPlane(store: try store.open()) { gateway.install(plans: $0) }
        try await control.start(config: ([ControlFixtures.route()], "f1", "test.yaml"))
        let api = ManagementAPI(control: control, auth: ManagementAuth(tokens: tokens, adminToken: "admin-secret"), metrics: gateway)
        let app = Application(responder: api.buildResponder())
        try await app.test(.router) { client in try await body(client, control) }
        await gateway.shutdown()
    }

    static func headers(_ role: Role?, _ extra: HTTPFields = [:]) -> HTTPFields {
        var fields = extra
        if let role { fields[.authorization] = "Bearer \(secrets[role]!)" }
        return fields
    }

    static func json(_ buffer: ByteBuffer) -> JSONValue? {
        try? JSONText.decode(buffer.readableBytesView)
    }

    struct Call: Sendable, CustomStringConvertible {
        let method: HTTPRequest.Method
        let uri: String
        let body: String?
        let needs: Role
        var description: String { "\(method) \(uri)" }
    }

    static let calls: [Call] = [
        Call(method: .get, uri: "/api/v1/routes", body: nil, needs: .viewer),
        Call(method: .get, uri: "/api/v1/routes/chat-prod", body: nil, needs: .viewer),
        Call(method: .get, uri: "/api/v1/routes/chat-prod/metrics?window=5m", body: nil, needs: .viewer),
        Call(method: .get, uri: "/api/v1/audit", body: nil, needs: .viewer),
        Call(method: .put, uri: "/api/v1/routes/chat-prod/weights", body: #"{"weights":{"stable":80,"canary":20}}"#, needs: .operator_),
        Call(method: .post, uri: "/api/v1/routes/chat-prod/rollback", body: nil, needs: .operator_),
        Call(method: .get, uri: "/api/v1/lifecycle", body: nil, needs: .viewer),
        Call(method: .post, uri: "/api/v1/feedback", body: #"{"requestId":"chatcmpl-1","score":0.8,"source":"judge"}"#, needs: .operator_),
        Call(method: .put, uri: "/api/v1/routes?allowEmpty=true", body: "routes: []\n", needs: .admin),
    ]

    @Test(arguments: calls)
    func eachEndpointChecksTheTokenAndItsRole(_ call: Call) async throws {
        try await Self.withAPI { client, _ in
            for role in [nil, Role.viewer, .operator_, .admin] {
                try await client.execute(uri: call.uri, method: call.method, headers: Self.headers(role), body: call.body.map { ByteBuffer(string: $0) }) { response in
                    let expected: HTTPResponse.Status = role == nil ? .unauthorized : (role! >= call.needs ? .ok : .forbidden)
                    #expect(response.status == expected, "\(call) as \(role?.rawValue ?? "nobody")")
                    #expect(response.headers[.contentType] == "application/json")
                    if response.status != .ok {
                        #expect(Self.json(response.body)?["error"]?["message"]?.stringValue?.isEmpty == false)
                    }
                }
            }
            try await client.execute(uri: call.uri, method: call.method, headers: [.authorization: "Bearer wrong"]) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func hostileQueryValuesGetA400NamingTheValueNeverA500() async throws {
        try await Self.withAPI { client, _ in
            let values = [
                "99999999999999999999d", "-1", "0", "1e9", "NaN", "inf", "%00", "%F0%9F%99%82", String(repeating: "9", count: 400), "5m%20", "1..2", "",
            ]
            for value in values {
                for uri in [
                    "/api/v1/routes/chat-prod/metrics?window=\(value)", "/api/v1/audit?limit=\(value)", "/api/v1/audit?before=\(value)",
                    "/api/v1/routes/chat-prod/rollouts?limit=\(value)", "/api/v1/routes/chat-prod/rollout/evaluations?limit=\(value)",
                ] {
                    try await client.execute(uri: uri, method: .get, headers: Self.headers(.viewer)) { response in
                        #expect(response.status.code < 500, "\(uri) → \(response.status)")
                        if response.status == .badRequest {
                            #expect(Self.json(response.body)?["error"]?["message"]?.stringValue?.isEmpty == false)
                        }
                    }
                }
            }
            try await client.execute(uri: "/api/v1/audit?limit=99999999999999999999", method: .get, headers: Self.headers(.viewer)) { response in
                #expect(response.status == .badRequest)
                #expect(Self.json(response.body)?["error"]?["message"]?.stringValue?.contains("99999999999999999999") == true)
            }
        }
    }

    @Test func applyingADocumentWithNoRoutesIsRefusedUnlessAllowed() async throws {
        try await Self.withAPI { client, control in
            for body in ["", "# nothing\n", "{}\n", "routes:\n", "routes: []\n"] {
                try await client.execute(uri: "/api/v1/routes", method: .put, headers: Self.headers(.admin), body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .unprocessableContent, "\(body.debugDescription)")
                    #expect(Self.json(response.body)?["error"]?["code"] == "no_routes_declared", "\(body.debugDescription)")
                }
            }
            #expect(await control.plan("chat-prod") != nil, "nothing was deleted")
            try await client.execute(uri: "/api/v1/routes?allowEmpty=maybe", method: .put, headers: Self.headers(.admin), body: ByteBuffer(string: "routes: []\n")) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/api/v1/routes?allowEmpty=true", method: .put, headers: Self.headers(.admin), body: ByteBuffer(string: "routes: []\n")) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response.body)?["deleted"] == ["chat-prod"])
            }
            #expect(await control.plan("chat-prod") == nil)
        }
    }

    @Test func weightsNeedTheCurrentRevisionAndNameTheProblemWhenInvalid() async throws {
        try await Self.withAPI { client, control in
            try await client.execute(uri: "/api/v1/routes/chat-prod", method: .get, headers: Self.headers(.viewer)) { response in
                #expect(response.headers[.init("ETag")!] == "\"1\"")
            }
            let cases: [(String, HTTPResponse.Status, String)] = [
                (#"{"weights":{"stable":80,"canary":10}}"#, .unprocessableContent, "weights sum to 90, not 100"),
                (#"{"weights":{"stable":80,"ghost":20}}"#, .unprocessableContent, "no deployment 'ghost'"),
                (#"{"weights":{"stable":80.123,"canary":19.877}}"#, .unprocessableContent, "more than two decimals"),
                (#"{"weights":{"stable":"80","canary":20}}"#, .unprocessableContent, "must be a number"),
                (#"{"weights":{"stable":120,"canary":-20}}"#, .unprocessableContent, "outside 0…100"),
                (#"{"wieghts":{}}"#, .badRequest, "unknown field 'wieghts'"),
                ("{not json", .badRequest, "not valid JSON"),
            ]
            for (body, status, message) in cases {
                try await client.execute(uri: "/api/v1/routes/chat-prod/weights", method: .put, headers: Self.headers(.operator_), body: ByteBuffer(string: body)) { response in
                    #expect(response.status == status, "\(body)")
                    let text = Self.json(response.body)?["error"]?["message"]?.stringValue ?? ""
                    #expect(text.contains(message), "\(body): \(text)")
                }
            }
            #expect(await control.plan("chat-prod")?.route.revision == 1, "refused changes change nothing")
            let good = ByteBuffer(string: #"{"weights":{"stable":50,"canary":50}}"#)
            try await client.execute(uri: "/api/v1/routes/chat-prod/weights", method: .put, headers: Self.headers(.operator_, [.init("If-Match")!: "\"1\""]), body: good) { response in
                #expect(response.status == .ok)
                let body = Self.json(response.body)
                #expect(body?["revision"] == 2)
                #expect(body?["changed"] == true)
                #expect(body?["serverTimeMs"]?.doubleValue != nil)
            }
            try await client.execute(uri: "/api/v1/routes/chat-prod/weights", method: .put, headers: Self.headers(.operator_, [.init("If-Match")!: "1"]), body: good) { response in
                #expect(response.status == .preconditionFailed)
                #expect(Self.json(response.body)?["error"]?["code"] == "stale_revision")
            }
            try await client.execute(uri: "/api/v1/routes/nope/rollback", method: .post, headers: Self.headers(.operator_)) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/no/such/thing", method: .get, headers: Self.headers(.viewer)) { response in
                #expect(response.status == .notFound)
                #expect(Self.json(response.body)?["error"]?["message"]?.stringValue?.contains("openapi.yaml") == true)
            }
            try await client.execute(uri: "/api/v1/routes/chat-prod/metrics?window=forever", method: .get, headers: Self.headers(.viewer)) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    @Test func rolloutPlansAreValidatedAndFeedbackIsKept() async throws {
        try await Self.withAPI { client, _ in
            try await client.execute(uri: "/api/v1/routes/chat-prod/rollouts", method: .post, headers: Self.headers(.operator_), body: ByteBuffer(string: #"{"strategy":"canary","canary":"ghost","steps":[{"setWeight":10}]}"#)) { response in
                #expect(response.status == .unprocessableContent)
                #expect(Self.json(response.body)?["error"]?["message"]?.stringValue?.contains("no deployment 'ghost'") == true)
            }
            try await client.execute(uri: "/api/v1/routes/chat-prod/pause", method: .post, headers: Self.headers(.operator_)) { response in
                #expect(response.status == .conflict)
                #expect(Self.json(response.body)?["error"]?["code"] == "no_rollout")
            }
            let plan = #"{"strategy":"canary","canary":"canary","steps":[{"setWeight":25},{"pause":{}},{"setWeight":100}],"gates":[{"metric":"errorRateDelta","max":1}]}"#
            try await client.execute(uri: "/api/v1/routes/chat-prod/rollouts", method: .post, headers: Self.headers(.viewer), body: ByteBuffer(string: plan)) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/api/v1/routes/chat-prod/rollouts", method: .post, headers: Self.headers(.operator_), body: ByteBuffer(string: plan)) { response in
                #expect(response.status == .created)
                let body = Self.json(response.body)
                #expect(body?["state"] == "paused")
                #expect(body?["progress"] == "step 2/3")
                #expect(body?["canaryPercent"] == 25)
                #expect(body?["reason"] == "step 2/3: waiting for resume or promote")
            }
            try await client.execute(uri: "/api/v1/routes/chat-prod/rollouts", method: .post, headers: Self.headers(.operator_), body: ByteBuffer(string: plan)) { response in
                #expect(response.status == .conflict)
                #expect(Self.json(response.body)?["error"]?["code"] == "rollout_conflict")
            }
            try await client.execute(uri: "/api/v1/routes/chat-prod", method: .get, headers: Self.headers(.viewer)) { response in
                let body = Self.json(response.body)
                #expect(body?["deployments"]?.arrayValue?.map { $0["weight"]?.doubleValue } == [75, 25])
                #expect(body?["rollout"]?["strategy"] == "canary")
                #expect(body?["rollout"]?["state"] == "paused")
            }
            try await client.execute(uri: "/api/v1/routes/chat-prod/abort", method: .post, headers: Self.headers(.operator_), body: ByteBuffer(string: #"{"reason":"looks off"}"#)) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response.body)?["state"] == "aborted")
                #expect(Self.json(response.body)?["reason"] == "aborted by otto: looks off")
            }
            try await client.execute(uri: "/api/v1/routes/chat-prod", method: .get, headers: Self.headers(.viewer)) { response in
                #expect(Self.json(response.body)?["deployments"]?.arrayValue?.map { $0["weight"]?.doubleValue } == [100, 0])
            }
            try await client.execute(uri: "/api/v1/routes/chat-prod/resume", method: .post, headers: Self.headers(.operator_)) { response in
                #expect(response.status == .conflict)
            }
            try await client.execute(
                uri: "/api/v1/routes/chat-prod/rollouts", method: .post, headers: Self.headers(.operator_, [.contentType: "application/yaml"]),
                body: ByteBuffer(string: "strategy: ab\nvariants: [stable, canary]\nsplit: {stable: 60, canary: 40}\nduration: 1h\n")
            ) { response in
                #expect(response.status == .created)
                #expect(Self.json(response.body)?["progress"] == "experiment")
            }
            try await client.execute(uri: "/api/v1/routes/chat-prod/report", method: .get, headers: Self.headers(.viewer)) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response.body)?["variants"]?.arrayValue?.map { $0["name"]?.stringValue } == ["stable", "canary"])
            }
            try await client.execute(uri: "/api/v1/routes/chat-prod/rollouts", method: .get, headers: Self.headers(.viewer)) { response in
                #expect(Self.json(response.body)?["rollouts"]?.arrayValue?.map { $0["strategy"]?.stringValue } == ["ab", "canary"])
            }
            try await client.execute(uri: "/api/v1/feedback", method: .post, headers: Self.headers(.operator_), body: ByteBuffer(string: #"{"requestId":"r1","score":1.5}"#)) { response in
                #expect(response.status == .unprocessableContent)
            }
            try await client.execute(uri: "/api/v1/feedback", method: .post, headers: Self.headers(.operator_), body: ByteBuffer(string: #"{"requestId":"r1","score":0.25,"deployment":"canary"}"#)) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response.body)?["id"] == 1)
                #expect(Self.json(response.body)?["actor"] == "otto")
            }
            try await client.execute(uri: "/api/v1/lifecycle", method: .get, headers: Self.headers(.viewer)) { response in
                let entries = Self.json(response.body)?["entries"]?.arrayValue ?? []
                #expect(entries.map { $0["version"]?.stringValue } == ["2024-11-20", "2025-05-13"])
                #expect(entries.first?["deployments"]?.arrayValue?.first?["route"] == "chat-prod")
            }
        }
    }

    @Test func windowsBeyondAnHourComeFromTheStoredRollups() async throws {
        try await Self.withAPI { client, control in
            let now = SystemClock().now().nanoseconds / 1_000_000_000
            let minute = now - now % 60 - 3 * 3600  // three hours ago: no longer in memory
            var figures = MetricsWindow.Bucket(start: minute)
            figures.requests = 40
            figures.outcomes[RequestOutcome.upstream5xx.rawValue] = 4
            figures.outcomes[RequestOutcome.success.rawValue] = 36
            try await control.writeRollups([MetricRollup(route: "chat-prod", deployment: "canary", minute: minute, figures: figures)], pruneBefore: 0)
            try await client.execute(uri: "/api/v1/routes/chat-prod/metrics?window=24h", method: .get, headers: Self.headers(.viewer)) { response in
                #expect(response.status == .ok)
                let canary = Self.json(response.body)?["deployments"]?.arrayValue?.first { $0["name"] == "canary" }
                #expect(canary?["requests"] == 40)
                #expect(canary?["errorRatePercent"] == 10)
                #expect(canary?["series"]?.arrayValue?.first?["start"]?.doubleValue == Double(minute))
            }
            try await client.execute(uri: "/api/v1/routes/chat-prod/metrics?window=5m", method: .get, headers: Self.headers(.viewer)) { response in
                let canary = Self.json(response.body)?["deployments"]?.arrayValue?.first { $0["name"] == "canary" }
                #expect(canary?["requests"] == 0, "the last five minutes are read from memory")
            }
        }
    }

    @Test func rollbackSaysTheNewRevisionAndIsIdempotent() async throws {
        try await Self.withAPI { client, _ in
            try await client.execute(uri: "/api/v1/routes/chat-prod/rollback", method: .post, headers: Self.headers(.operator_)) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response.body)?["revision"] == 2)
                #expect(Self.json(response.body)?["route"]?["deployments"]?.arrayValue?.first?["weight"] == 100)
            }
            try await client.execute(uri: "/api/v1/routes/chat-prod/rollback", method: .post, headers: Self.headers(.operator_)) { response in
                #expect(response.status == .ok)
                #expect(Self.json(response.body)?["revision"] == 2)
                #expect(Self.json(response.body)?["changed"] == false)
            }
            try await client.execute(uri: "/api/v1/routes/chat-prod/promote", method: .post, headers: Self.headers(.operator_)) { response in
                #expect(response.status == .conflict, "after a rollback there is no canary to promote")
            }
            try await client.execute(uri: "/api/v1/audit?route=chat-prod&limit=5", method: .get, headers: Self.headers(.viewer)) { response in
                let events = Self.json(response.body)?["events"]?.arrayValue ?? []
                #expect(events.map { $0["action"]?.stringValue } == ["rollback", "create"])
                #expect(events.first?["actor"] == "otto")
            }
        }
    }
}
