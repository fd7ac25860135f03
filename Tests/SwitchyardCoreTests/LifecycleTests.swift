import Testing
@testable import SwitchyardCore

@Suite("Model lifecycle phases with an injected clock")
struct LifecycleTests {
    static func day(_ text: String) -> CalendarDay { CalendarDay(text)! }
    static func at(_ text: String, _ seconds: Int64 = 0) -> Moment { day(text).start + .seconds(seconds) }

    static let dates = LifecycleCatalog.Dates(deprecation: day("2025-05-13"), legacy: day("2025-12-01"), retirement: day("2026-03-31"))

    @Test func calendarDaysConvertBothWays() {
        #expect(Self.day("1970-01-01").start == Moment(seconds: 0))
        #expect(Self.day("2026-03-31").start == Moment(seconds: 1_774_915_200))
        #expect(CalendarDay(Moment(seconds: 1_774_915_200 + 86_399)) == Self.day("2026-03-31"))
        #expect(CalendarDay(Self.day("2024-02-29").start) == Self.day("2024-02-29"))
        #expect(CalendarDay("2025-02-29") == nil)
        #expect(CalendarDay("2025-13-01") == nil)
        #expect(CalendarDay("26-03-31") == nil)
    }

    @Test func everyPhaseBoundaryFallsAtMidnightUTC() {
        let d = Self.dates
        #expect(d.phase(at: Self.at("2025-05-12", 86_399)) == .generallyAvailable)
        #expect(d.phase(at: Self.at("2025-05-13")) == .deprecated)
        #expect(d.phase(at: Self.at("2025-11-30", 86_399)) == .deprecated)
        #expect(d.phase(at: Self.at("2025-12-01")) == .legacy)
        #expect(d.phase(at: Self.at("2026-03-30", 86_399)) == .legacy)
        #expect(d.phase(at: Self.at("2026-03-31")) == .retired)
        #expect(d.timeToRetirement(from: Self.at("2026-03-01")) == .seconds(30 * 86_400))
    }

    @Test func aNoEarlierThanDateNeverRetiresByItself() {
        let tentative = LifecycleCatalog.Dates(retirement: Self.day("2025-07-16"), retirementNoEarlierThan: true)
        #expect(tentative.phase(at: Self.at("2025-07-15")) == .generallyAvailable)
        #expect(tentative.phase(at: Self.at("2026-07-16")) == .generallyAvailable, "a year past the earliest date it is still not retired")
        // When the provider sets a firm date, the catalog says so and the phase follows.
        var firm = tentative
        firm.retirementNoEarlierThan = false
        firm.retirement = Self.day("2026-08-01")
        #expect(firm.phase(at: Self.at("2026-07-31")) == .generallyAvailable)
        #expect(firm.phase(at: Self.at("2026-08-01")) == .retired)
    }

    @Test func aDateThatMovesLaterUnretiresAndEarlierRetires() {
        var catalog = LifecycleCatalog(entries: [Self.entry(retirement: "2026-03-31")], source: "test")
        let deployment = Self.deployment(type: .standard)
        let now = Self.at("2026-04-15")
        #expect(catalog.phase(of: deployment, at: now) == .retired)
        catalog.entries[0].dates[.standard]?.retirement = Self.day("2026-06-30")  // the provider postponed it
        #expect(catalog.phase(of: deployment, at: now) == .deprecated)
        catalog.entries[0].dates[.standard]?.retirement = Self.day("2026-04-01")  // and then brought it forward
        #expect(catalog.phase(of: deployment, at: now) == .retired)
    }

    @Test func deploymentTypesRetireOnTheirOwnDatesAndFallBackToStandard() {
        let catalog = LifecycleCatalog(entries: [Self.entry(retirement: "2026-03-31", provisioned: "2026-10-01")], source: "test")
        let now = Self.at("2026-06-01")
        #expect(catalog.phase(of: Self.deployment(type: .standard), at: now) == .retired)
        #expect(catalog.phase(of: Self.deployment(type: .provisioned), at: now) == .deprecated)
        #expect(catalog.phase(of: Self.deployment(type: .dataZone), at: now) == .retired, "no data-zone dates: standard's apply")
        var openai = Self.deployment(type: .standard)
        openai.upstream.kind = .openai
        #expect(catalog.phase(of: openai, at: now) == .unknown, "Azure's dates say nothing about OpenAI's")
        let route = Route(name: "r", stable: "d", deployments: [Self.deployment(type: .standard)])
        #expect(catalog.retiredDeployments(in: [route], at: now) == ["r": ["d"]])
    }

    static func entry(retirement: String, provisioned: String? = nil) -> LifecycleCatalog.Entry {
        var dates: [LifecycleCatalog.DeploymentType: LifecycleCatalog.Dates] = [
            .standard: .init(deprecation: day("2025-05-13"), retirement: day(retirement))
        ]
        if let provisioned { dates[.provisioned] = .init(deprecation: day("2025-05-13"), retirement: day(provisioned)) }
        return LifecycleCatalog.Entry(provider: .azure, model: "gpt-4o", version: "2024-05-13", dates: dates, replacement: ("gpt-5.1", "2025-11-13"), source: "test")
    }

    static func deployment(type: LifecycleCatalog.DeploymentType) -> Deployment {
        var upstream = Upstream(kind: .azure, url: "https://example.openai.azure.com", deployment: "gpt-4o")
        upstream.deploymentType = type
        return Deployment(name: "d", weight: .full, model: "gpt-4o", version: "2024-05-13", upstream: upstream)
    }
}
