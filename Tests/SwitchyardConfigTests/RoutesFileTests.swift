import Foundation
import Testing
import SwitchyardConfig
import SwitchyardCore
import SwitchyardSecrets

@Suite("Routes as code: the config file")
struct RoutesFileTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theExampleFileParsesIntoPinnedDeployments() throws {
        let path = Self.repositoryRoot.appendingPathComponent("examples/switchyard.yaml").path
        let routes = try RoutesFile.parse(try String(contentsOfFile: path, encoding: .utf8), file: path)
        #expect(routes.count == 1)
        let route = try #require(routes.first)
        #expect(route.name == "chat-prod")
        #expect(route.stable == "gpt4o-prod-v1120")
        #expect(route.allowPinning)
        #expect(route.deployments.map(\.weight.percent) == [90, 10])
        let stable = route.deployments[0]
        #expect(stable.version == "2024-11-20")
        #expect(stable.prompt == PromptVersion(version: "p7", system: "You are a careful assistant."))
        #expect(stable.params["max_tokens"] == 800)
        #expect(stable.price == Price(inputPer1k: 0.0025, outputPer1k: 0.01))
        #expect(route.deployments[1].priority == 2)
        let plan = try RolloutPlan(json: try #require(route.plans["canary"]), route: route)
        #expect(plan.steps.count == 7)
        #expect(plan.gates.map(\.metric) == [.errorRateDelta, .p95LatencyRatio, .rate429])
        // Named plans survive rendering and parsing again.
        let again = try RoutesFile.parse(RoutesFile.render(routes), file: "rendered.yaml")
        #expect(again == routes)
    }

    @Test func aNamedPlanIsCheckedAgainstItsRoute() throws {
        let bad = Self.valid + """

                plans:
                  oops: { strategy: canary, canary: ghost, steps: [{ setWeight: 10 }] }
            """
        let error = try #require(Self.error(bad))
        #expect(error.key == "routes[0].plans.oops")
        #expect(error.reason == "route 'chat-prod' has no deployment 'ghost'; it has a, b")
    }

    static func error(_ yaml: String) -> ConfigError? {
        do {
            _ = try RoutesFile.parse(yaml, file: "routes.yaml")
            return nil
        } catch {
            return error
        }
    }

    static let valid = """
        routes:
          - name: chat-prod
            stable: a
            deployments:
              - name: a
                weight: 90
                model: gpt-4o
                version: "2024-11-20"
                upstream: { kind: openai, url: http://127.0.0.1:9001/v1 }
              - name: b
                weight: 10
                model: gpt-4o
                version: "2025-05-13"
                upstream: { kind: openai, url: http://127.0.0.1:9002/v1 }
        """

    @Test func theValidFixtureParses() {
        #expect(Self.error(Self.valid) == nil)
    }

    @Test func weightsThatDoNotSumTo100NameTheRouteAndTheSum() throws {
        let error = try #require(Self.error(Self.valid.replacingOccurrences(of: "weight: 10", with: "weight: 5")))
        #expect(error.key == "routes[0].deployments")
        #expect(error.reason == "weights sum to 95, not 100")
        #expect(error.line == 5)
        #expect(error.description == "routes.yaml:5: routes[0].deployments: weights sum to 95, not 100")
    }

    @Test func unknownKeysAreRefusedWithTheirLine() throws {
        let error = try #require(Self.error(Self.valid.replacingOccurrences(of: "        weight: 90", with: "        wieght: 90")))
        #expect(error.key == "routes[0].deployments[0].wieght")
        #expect(error.line == 6)
        #expect(error.reason.hasPrefix("unknown key 'wieght'"))
    }

    @Test func productionRoutesRefuseUnpinnedVersionsAndSayWhy() throws {
        let error = try #require(Self.error(Self.valid.replacingOccurrences(of: "\"2025-05-13\"", with: "latest")))
        #expect(error.reason.contains("exact pinned version"))
        #expect(Self.error(Self.valid.replacingOccurrences(of: "\"2025-05-13\"", with: "latest").replacingOccurrences(of: "    stable: a", with: "    stable: a\n    environment: development")) == nil)
    }

    @Test(arguments: [
        ("weight: 90", "weight: 90.123", "more than two decimals"),
        ("weight: 90", "weight: ninety", "expected a number"),
        ("stable: a", "stable: zzz", "stable deployment 'zzz'"),
        ("kind: openai, url: http://127.0.0.1:9001/v1", "kind: bedrock, url: http://127.0.0.1:9001/v1", "not one of openai, azure"),
        ("url: http://127.0.0.1:9002/v1", "url: ftp://x", "not an http:// or https:// URL"),
        ("- name: b", "- name: a", "declared twice"),
        ("- name: chat-prod", "- name: chat prod", "not a valid name"),
        ("        model: gpt-4o\n        version: \"2024-11-20\"", "        version: \"2024-11-20\"", "'model' is required"),
    ])
    func invalidValuesAreRefusedWithAReason(_ change: (String, String, String)) throws {
        let yaml = Self.valid.replacingOccurrences(of: change.0, with: change.1)
        #expect(yaml != Self.valid, "fixture change did not apply")
        let error = try #require(Self.error(yaml))
        #expect(error.reason.contains(change.2), "\(error)")
        #expect(error.line != nil)
    }

    @Test func brokenYAMLIsReportedWithItsLine() throws {
        let error = try #require(Self.error("routes:\n  - name: [unclosed\n"))
        #expect(error.reason.hasPrefix("not valid YAML"))
        #expect(error.line != nil)
    }

    @Test func aSingleDeploymentWithoutAWeightTakesEverything() throws {
        let routes = try RoutesFile.parse(
            """
            routes:
              - name: solo
                deployments:
                  - name: only
                    model: gpt-4o
                    version: "2024-11-20"
                    upstream: { url: "http://127.0.0.1:9001/v1" }
                    timeouts: { firstToken: 2s, idle: 500ms }
            """,
            file: "solo.yaml"
        )
        #expect(routes[0].deployments[0].weight == .full)
        #expect(routes[0].stable == "only")
        #expect(routes[0].deployments[0].timeouts.idle == .milliseconds(500))
    }
}

@Suite("Tokens file")
struct TokensFileTests {
    let digest = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"  // sha256("password")

    @Test func tokensAndClientKeysParseWithRolesAndLimits() throws {
        let access = try TokensFile.parse(
            """
            tokens:
              - { name: alice, role: operator, sha256: \(digest) }
            clientKeys:
              - name: billing-app
                sha256: \(digest)
                limits: { requestsPerMinute: 600, tokensPerMinute: 200000 }
            """,
            file: "tokens.yaml"
        )
        #expect(access.tokens == [TokenEntry(name: "alice", role: .operator_, digest: SecretDigest.sha256("password"))])
        #expect(access.clientKeys[0].limits == .init(requestsPerMinute: 600, tokensPerMinute: 200_000))
    }

    @Test func theExampleTokensFileAcceptsItsDocumentedKey() throws {
        let path = RoutesFileTests.repositoryRoot.appendingPathComponent("examples/tokens.yaml").path
        let access = try TokensFile.parse(try String(contentsOfFile: path, encoding: .utf8), file: path)
        #expect(access.clientKeys.first?.digest == SecretDigest.sha256("billing-app-key"))
        #expect(access.tokens.first?.role == .operator_)
    }

    @Test func aBadDigestOrRoleIsRefused() {
        #expect(throws: ConfigError.self) {
            try TokensFile.parse("tokens:\n  - { name: a, role: root, sha256: \(digest) }\n", file: "t.yaml")
        }
        #expect(throws: ConfigError.self) {
            try TokensFile.parse("tokens:\n  - { name: a, role: admin, sha256: password }\n", file: "t.yaml")
        }
    }

    @Test func constantTimeComparisonComparesWholeDigests() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2], [1, 2, 3]))
    }
}

@Suite("Lifecycle catalog file")
struct CatalogFileTests {
    @Test func theShippedCatalogParsesAndIsTheOneInTheBinary() throws {
        let path = RoutesFileTests.repositoryRoot.appendingPathComponent("Sources/SwitchyardConfig/Resources/lifecycle.yaml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let catalog = try CatalogFile.parse(text, file: path)
        let gpt4o = try #require(catalog.entries.first { $0.model == "gpt-4o" && $0.version == "2024-05-13" })
        #expect(gpt4o.dates(for: .standard).retirement == CalendarDay("2026-03-31"))
        #expect(gpt4o.dates(for: .global).retirement == CalendarDay("2026-10-01"))
        #expect(gpt4o.replacement?.model == "gpt-5.1")
        #expect(catalog.entries.allSatisfy { $0.source.hasPrefix("https://") })
        let shipped = try CatalogFile.shipped()
        #expect(shipped.entries == catalog.entries, "the bundled copy is the file")
    }

    @Test func badCatalogsAreRefusedWithLineAndReason() throws {
        func error(_ yaml: String) -> ConfigError? {
            do {
                _ = try CatalogFile.parse(yaml, file: "c.yaml")
                return nil
            } catch {
                return error
            }
        }
        let base = "entries:\n  - provider: azure\n    model: m\n    version: v\n    source: s\n    dates:\n      standard: { retirement: \"2026-03-31\" }\n"
        #expect(error(base) == nil)
        #expect(error(base.replacingOccurrences(of: "2026-03-31", with: "2026-02-30"))?.reason.contains("not a date") == true)
        #expect(error(base.replacingOccurrences(of: "standard:", with: "regional:"))?.reason.contains("unknown key 'regional'") == true)
        #expect(error(base.replacingOccurrences(of: "{ retirement", with: "{ deprecation: \"2026-05-01\", retirement"))?.reason.contains("comes before deprecation") == true)
        #expect(error(base.replacingOccurrences(of: "{ retirement: \"2026-03-31\" }", with: "{ retirement: \"2026-03-31\", retirementNoEarlierThan: \"2026-01-01\" }"))?.reason.contains("not both") == true)
        let history = base + "    history:\n      - { announced: \"2025-09-01\", field: standard.retirement, from: \"2025-11-20\", to: \"2026-03-31\", note: postponed }\n"
        #expect(try CatalogFile.parse(history, file: "c.yaml").entries[0].history.first?.to == "2026-03-31")
    }
}
