import Foundation
@testable import SwitchyardConfig
import SwitchyardCore
import Testing

@Suite("Hostile config: YAML bombs, absurd values and empty declarations are refused")
struct HostileConfigTests {
    /// Nine levels of ten aliases each, as a flow mapping: a billion scalars from a few hundred bytes.
    static func billionLaughs(levels: Int = 9) -> String {
        var members = ["a0: &a0 [lol]"]
        for level in 1...levels {
            members.append("a\(level): &a\(level) [\(Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ","))]")
        }
        return "{" + members.joined(separator: ", ") + "}"
    }

    static func problem(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// A routes file of one route; `deployment` lines go under its one deployment (8 spaces in).
    static func routes(params: String = "{}", weight: String = "100", priority: String = "1", extra: String = "") -> String {
        """
        routes:
          - name: chat
            deployments:
              - name: a
                weight: \(weight)
                priority: \(priority)
                model: gpt-4o
                version: "2024-11-20"
                upstream: { kind: openai, url: http://127.0.0.1:9001/v1 }
                params: \(params)

        """ + extra
    }

    @Test func aBillionLaughsIsRefusedAtOnceWherevereItIsSent() throws {
        let bomb = Self.billionLaughs()
        #expect(bomb.utf8.count < 1024)
        let started = ContinuousClock.now
        let asRoutes = Self.problem { _ = try RoutesFile.parse(Self.routes(params: bomb), file: "r.yaml") }
        #expect(asRoutes?.contains("expands to more than 100000 nodes") == true, "\(asRoutes ?? "accepted")")
        let asPlan = Self.problem { _ = try PlanFile.parse("strategy: canary\nsteps: \(bomb)\n", file: "plan.yaml") }
        #expect(asPlan?.contains("expands to more than 100000 nodes") == true, "\(asPlan ?? "accepted")")
        let asCatalog = Self.problem { _ = try CatalogFile.parse("entries: \(bomb)\n", file: "catalog.yaml") }
        #expect(asCatalog?.contains("expands to more than 100000 nodes") == true)
        let asTokens = Self.problem { _ = try TokensFile.parse("tokens: \(bomb)\n", file: "tokens.yaml") }
        #expect(asTokens?.contains("expands to more than 100000 nodes") == true)
        #expect(ContinuousClock.now - started < .seconds(5), "refused without expanding it")
    }

    @Test func aFewAliasesAreStillFine() throws {
        let yaml = Self.routes(params: "&p { temperature: 0.2 }", weight: "100") + """
                  - name: b
                    weight: 0
                    model: gpt-4o
                    version: "2025-05-13"
                    upstream: { kind: openai, url: http://127.0.0.1:9002/v1 }
                    params: *p

            """
        let routes = try RoutesFile.parse(yaml, file: "r.yaml")
        #expect(routes.first?.deployments.map(\.params) == [["temperature": 0.2], ["temperature": 0.2]])
    }

    @Test func deepNestingIsRefused() {
        let deep = "a: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n"
        let problem = Self.problem { _ = try PlanFile.parse(deep, file: "deep.yaml") }
        #expect(problem != nil, "refused")
        let moderate = "a: " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "\n"
        let moderateProblem = Self.problem { _ = try PlanFile.parse(moderate, file: "deep.yaml") }
        #expect(moderateProblem?.contains("nests deeper than 64 levels") == true, "\(moderateProblem ?? "accepted")")
        // Apostrophes, brackets in strings and comments are ordinary text.
        let text = "strategy: canary\nnote: it's [[[[ fine ]] {{ # not a comment\n# [[[[[[\nsteps: [{setWeight: 10}]\n"
        #expect(Self.problem { _ = try PlanFile.parse(text, file: "ok.yaml") } == nil)
    }

    @Test func signedHexAndOctalCannotOverflow() throws {
        for scalar in ["-0x-8000000000000000", "-0o-1000000000000000000000", "0x-5", "-0x8000000000000000", "0x7fffffffffffffff", "0x8000000000000000", "--5", "+-5"] {
            _ = Self.problem { _ = try PlanFile.parse("strategy: canary\nx: \(scalar)\n", file: "p.yaml") }
        }
        let json = try PlanFile.parse("a: -0x8000000000000000\nb: 0x-5\nc: 0o17\n", file: "p.yaml")
        #expect(json["a"] == .number(Double(Int.min)))
        #expect(json["b"] == .string("0x-5"), "a sign after the prefix is not a number")
        #expect(json["c"] == 15)
    }

    @Test(arguments: ["", "# nothing here\n", "{}\n", "routes:\n", "routes: []\n", "routes: null\n", "---\n", "routes: ~\n"])
    func everySpellingOfNoRoutesIsRefusedTheSameWay(_ text: String) throws {
        let error = try #require(throws: ConfigError.self) { try RoutesFile.parse(text, file: "empty.yaml") }
        #expect(error.declaresNoRoutes)
        #expect(error.reason.contains("declares no routes"))
        #expect(error.reason.contains("allowEmpty=true"))
        #expect(try RoutesFile.parse(text, file: "empty.yaml", allowEmpty: true).isEmpty)
    }

    @Test func absurdDurationsAndDatesInFilesAreRefusedWithTheValue() {
        let timeouts = Self.routes() + "        timeouts: { total: 1000000000000s }\n"
        let timeoutProblem = Self.problem { _ = try RoutesFile.parse(timeouts, file: "r.yaml") }
        #expect(timeoutProblem?.contains("'1000000000000s' is longer than the maximum of 366d") == true, "\(timeoutProblem ?? "accepted")")
        for date in ["2300-01-01", "9999-12-31"] {
            let catalog = "entries:\n  - provider: azure\n    source: https://example.com\n    model: gpt-4o\n    version: \"2024-11-20\"\n    dates:\n      standard: { retirement: \"\(date)\" }\n"
            #expect(Self.problem { _ = try CatalogFile.parse(catalog, file: "c.yaml") } == nil, "\(date) is a valid (far) date")
        }
        for date in ["1000-01-01", "0001-01-01", "10000-01-01", "2026-02-30"] {
            let catalog = "entries:\n  - provider: azure\n    source: https://example.com\n    model: gpt-4o\n    version: \"2024-11-20\"\n    dates:\n      standard: { deprecation: \"\(date)\" }\n"
            let problem = Self.problem { _ = try CatalogFile.parse(catalog, file: "c.yaml") }
            #expect(problem?.contains(date) == true, "\(date): \(problem ?? "accepted")")
        }
    }

    @Test func hostileScalarsInEveryFileAreRefusedNotTrapped() {
        var generator = SeededYAMLGenerator(state: 7)
        let scalars = ["1e999", "-1e999", ".inf", "-.inf", ".nan", "99999999999999999999", "-99999999999999999999", "0x7fffffffffffffff", "~", "''", "!!binary aGk="]
        for scalar in scalars + (0..<300).map({ _ in generator.scalar() }) {
            let routes = Self.routes(params: "{ temperature: \(scalar) }", weight: scalar, priority: scalar, extra: "        timeouts: { total: \(scalar) }\n")
            _ = Self.problem { _ = try RoutesFile.parse(routes, file: "r.yaml") }
            _ = Self.problem { _ = try PlanFile.parse("strategy: canary\nsteps: [{ setWeight: \(scalar) }]\ninterval: \(scalar)\n", file: "p.yaml") }
            _ = Self.problem { _ = try TokensFile.parse("clientKeys:\n  - name: a\n    sha256: \(scalar)\n    limits: { requestsPerMinute: \(scalar), tokensPerMinute: \(scalar) }\n", file: "k.yaml") }
            _ = Self.problem {
                _ = try CatalogFile.parse("entries:\n  - provider: azure\n    model: m\n    version: \(scalar)\n    dates:\n      standard: { retirement: \(scalar) }\n", file: "c.yaml")
            }
        }
    }
}

/// Random YAML scalars: numbers at the edges, words, and noise.
struct SeededYAMLGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 11
    }

    mutating func scalar() -> String {
        let pieces = ["9", "0", "-", ".", "e", "308", "inf", "nan", "d", "s", "ms", "h", "1", "5", "x", "\"", "'", ":", "#", "🙂"]
        let count = Int(next() % 12) + 1
        return (0..<count).map { _ in pieces[Int(next() % UInt64(pieces.count))] }.joined()
    }
}
