import Foundation
import SwitchyardConsole
import SwitchyardCore
import SwitchyardTUI
import Testing

enum ConsoleFixtures {
    static let t0 = Moment(seconds: 1_795_300_000)

    static func route(_ name: String = "chat-prod", canary: Double = 10, revision: Int = 1) -> Route {
        Route(
            name: name,
            stable: "stable",
            deployments: [
                Deployment(name: "stable", weight: try! Weight(percent: 100 - canary), model: "gpt-4o", version: "2024-11-20", upstream: Upstream(kind: .openai, url: "http://x/v1")),
                Deployment(name: "canary", weight: try! Weight(percent: canary), model: "gpt-4o", version: "2025-05-13", upstream: Upstream(kind: .openai, url: "http://x/v1")),
            ],
            revision: revision
        )
    }

    static func state(readOnly: Bool = false, width: Int = 120, height: Int = 40, routes: [Route] = [route(), route("summarize", canary: 50)]) -> ConsoleState {
        var state = ConsoleState(apiURL: "http://127.0.0.1:8081", readOnly: readOnly, now: t0, width: width, height: height)
        _ = state.update(.routesLoaded(routes, at: t0))
        return state
    }
}

@Suite("Console update: keys, slider, confirmations, read-only")
struct ConsoleUpdateTests {
    @Test func arrowsMoveTheSliderAndEnterSendsTheWeightsWithTheRevision() {
        var state = ConsoleFixtures.state()
        #expect(state.update(.key(.right)).isEmpty, "moving the slider sends nothing yet")
        _ = state.update(.key(.shiftRight))
        #expect(state.slider?.value == 21)
        let effects = state.update(.key(.enter))
        #expect(effects == [.setWeights(route: "chat-prod", weights: ["stable": 79, "canary": 21], ifMatch: 1)])
        #expect(state.slider?.pending == true)
        // The server's new revision confirms it.
        _ = state.update(.routesLoaded([ConsoleFixtures.route(canary: 21, revision: 2)], at: ConsoleFixtures.t0))
        #expect(state.slider == nil)
    }

    @Test func aLifecycleEventFromTheServerIsShownNotDropped() {
        var state = ConsoleFixtures.state()
        _ = state.update(.lifecycleNotice("gpt-4o 2024-11-20 retires in 7 days (chat-prod)"))
        #expect(state.flash?.text == "gpt-4o 2024-11-20 retires in 7 days (chat-prod)")
        #expect(state.flash?.role == .warning)
    }

    @Test func escapeAbandonsAnUnsentChange() {
        var state = ConsoleFixtures.state()
        _ = state.update(.key(.left))
        #expect(state.slider?.value == 9)
        _ = state.update(.key(.escape))
        #expect(state.slider == nil)
        #expect(state.update(.key(.enter)).isEmpty)
    }

    @Test func theSliderStaysWithinZeroAndOneHundred() {
        var state = ConsoleFixtures.state()
        for _ in 0..<5 { _ = state.update(.key(.shiftLeft)) }
        #expect(state.slider?.value == 0)
        for _ in 0..<15 { _ = state.update(.key(.character("L"))) }
        #expect(state.slider?.value == 100)
    }

    @Test func rollbackIsOneKeyAndPromoteAsksFirst() {
        var state = ConsoleFixtures.state()
        #expect(state.update(.key(.character("R"))) == [.rollback(route: "chat-prod")])
        #expect(state.update(.key(.character("P"))).isEmpty)
        #expect(state.confirmation != nil)
        #expect(state.update(.key(.character("n"))).isEmpty)
        #expect(state.confirmation == nil)
        _ = state.update(.key(.character("P")))
        #expect(state.update(.key(.character("y"))) == [.promote(route: "chat-prod")])
    }

    @Test func spacePausesOrResumesTheRolloutAfterAConfirmation() throws {
        var state = ConsoleFixtures.state()
        #expect(state.update(.key(.character(" "))).isEmpty)
        #expect(state.confirmation == nil)
        #expect(state.flash?.text == "chat-prod has no rollout in progress to pause or resume")
        var rollouts = try ConsoleSnapshotTests.rollouts()
        _ = state.update(.rolloutsLoaded(rollouts))
        _ = state.update(.key(.character(" ")))
        #expect(state.confirmation?.question == "Pause the canary rollout of chat-prod at step 3/5? (y/n)")
        #expect(state.update(.key(.character("y"))) == [.pause(route: "chat-prod")])
        var paused = rollouts["chat-prod"]!
        paused.state = .paused
        paused.reason = "paused by otto"
        _ = state.update(.rolloutActionDone(paused, action: "pause"))
        #expect(state.flash?.text == "pause chat-prod: paused at step 3/5 · paused by otto")
        _ = state.update(.key(.character(" ")))
        #expect(state.update(.key(.character("y"))) == [.resume(route: "chat-prod")])
        // An older event does not undo a newer state.
        rollouts["chat-prod"]!.updatedAtMilliseconds -= 1
        paused.updatedAtMilliseconds += 5
        _ = state.update(.rolloutChanged(paused))
        _ = state.update(.rolloutChanged(rollouts["chat-prod"]!))
        #expect(state.rollouts["chat-prod"]?.state == .paused)
    }

    @Test func readOnlyRefusesEveryMutatingBindingWithAFlash() {
        let mutatingKeys = KeyRegistry.all.filter(\.mutating).flatMap(\.keys)
        #expect(mutatingKeys.contains(.character("R")) && mutatingKeys.contains(.right) && mutatingKeys.contains(.enter))
        for key in mutatingKeys {
            var state = ConsoleFixtures.state(readOnly: true)
            #expect(state.update(.key(key)).isEmpty, "\(key)")
            #expect(state.flash?.text.contains("read-only") == true, "\(key)")
            #expect(state.slider == nil && state.confirmation == nil && state.mode == .normal)
        }
        #expect(!KeyRegistry.hints(for: .routes, readOnly: true).contains { $0.label == "rollback" })
    }

    @Test func oneTableDispatchesEveryKeyAndNoKeyMeansTwoThingsOnOneScreen() {
        for screen: ConsoleState.ScreenKind in [.routes, .audit, .lifecycle, .help] {
            let keys = KeyRegistry.all.filter { $0.screens.contains(screen) }.flatMap(\.keys)
            #expect(Set(keys).count == keys.count, "a key bound twice on \(screen)")
            for binding in KeyRegistry.all where !binding.hintedOn.isSubset(of: binding.screens) {
                Issue.record("'\(binding.display)' is hinted where it does nothing")
            }
        }
        // Each binding does what its label says, through the table.
        var state = ConsoleFixtures.state()
        #expect(state.update(.key(.character("R"))) == [.rollback(route: "chat-prod")])
        _ = state.update(.key(.character("P")))
        #expect(state.confirmation?.effect == .promote(route: "chat-prod"))
        _ = state.update(.key(.escape))
        _ = state.update(.key(.character("L")))
        #expect(state.slider?.value == 20)
        _ = state.update(.key(.character("h")))
        #expect(state.slider?.value == 19)
        #expect(state.update(.key(.character("w"))) == [.watchWindow(minutes: 15)])
        _ = state.update(.key(.tab))
        #expect(state.screen == .audit)
        #expect(state.update(.key(.character("R"))).isEmpty, "rollback works on the routes screen only")
        _ = state.update(.key(.character("?")))
        #expect(state.screen == .help)
        #expect(state.update(.key(.character("q"))) == [.quit])
    }

    @Test func anExactWeightIsTypedAfterEquals() {
        var state = ConsoleFixtures.state()
        _ = state.update(.key(.character("=")))
        for character in "35" { _ = state.update(.key(.character(character))) }
        #expect(state.update(.key(.enter)) == [.setWeights(route: "chat-prod", weights: ["stable": 65, "canary": 35], ifMatch: 1)])
    }

    @Test func aRefusedChangeReleasesTheSliderAndSaysWhy() {
        var state = ConsoleFixtures.state()
        _ = state.update(.key(.right))
        _ = state.update(.key(.enter))
        _ = state.update(.changeRefused("weights refused: route 'chat-prod' is at revision 2, not 1"))
        #expect(state.slider?.pending == false)
        #expect(state.flash?.role == .bad)
    }

    @Test func selectionFilterAndCommands() {
        var state = ConsoleFixtures.state()
        _ = state.update(.key(.character("j")))
        #expect(state.selected?.name == "summarize")
        _ = state.update(.key(.character("/")))
        for character in "chat" { _ = state.update(.key(.character(character))) }
        _ = state.update(.key(.enter))
        #expect(state.visibleRoutes.map(\.name) == ["chat-prod"])
        _ = state.update(.key(.character(":")))
        for character in "audit" { _ = state.update(.key(.character(character))) }
        _ = state.update(.key(.enter))
        #expect(state.screen == .audit)
        _ = state.update(.key(.escape))
        #expect(state.screen == .routes)
        #expect(state.update(.key(.character("q"))) == [.quit])
    }

    @Test func aMouseDragOnTheTrackSetsTheWeightOnRelease() {
        var state = ConsoleFixtures.state()
        _ = state.view()
        let track = try! #require(state.sliderTrack)
        _ = state.update(.mouse(MouseEvent(kind: .press, x: track.x + track.width / 4, y: track.y)))
        _ = state.update(.mouse(MouseEvent(kind: .drag, x: track.x + track.width / 2, y: track.y)))
        let effects = state.update(.mouse(MouseEvent(kind: .release, x: track.x + (track.width - 1) / 2, y: track.y)))
        #expect(effects == [.setWeights(route: "chat-prod", weights: ["stable": 50, "canary": 50], ifMatch: 1)])
    }

    @Test func dataGoesStaleWhenRefreshesStop() {
        var state = ConsoleFixtures.state()
        #expect(!state.isStale)
        _ = state.update(.fetchFailed("connection refused", at: ConsoleFixtures.t0 + .seconds(3)))
        _ = state.update(.tick(ConsoleFixtures.t0 + .seconds(12)))
        #expect(state.isStale)
        let top = state.view().text.split(separator: "\n").first.map(String.init) ?? ""
        #expect(top.contains("reconnecting · data 12s old"))
    }
}

@Suite("The console follows the event stream")
struct ConsoleEventTests {
    @Test func aPushedRevisionReplacesTheRouteAndConfirmsAPendingSlider() {
        var state = ConsoleFixtures.state()
        _ = state.update(.key(.right))
        _ = state.update(.key(.enter))
        #expect(state.slider?.pending == true)
        _ = state.update(.routeChanged(ConsoleFixtures.route(canary: 11, revision: 2), at: ConsoleFixtures.t0))
        #expect(state.slider == nil)
        #expect(state.routes.first { $0.name == "chat-prod" }?.revision == 2)
        #expect(state.routes.count == 2)
        _ = state.update(.routeDeleted("summarize", at: ConsoleFixtures.t0))
        #expect(state.routes.map(\.name) == ["chat-prod"])
        let entry = AuditEvent(id: 9, atMilliseconds: 0, actor: "bob", action: "weights", route: "chat-prod", fromRevision: 1, toRevision: 2, detail: "")
        _ = state.update(.auditAppended(entry))
        _ = state.update(.auditAppended(entry))
        #expect(state.audit.map(\.id) == [9])
    }
}

@Suite("Identity and commands")
struct ConsoleIdentityTests {
    @Test func aViewerTokenMakesTheConsoleReadOnly() {
        var state = ConsoleFixtures.state()
        _ = state.update(.identity(name: "vera", role: "viewer"))
        #expect(state.readOnly)
        #expect(state.update(.key(.character("R"))).isEmpty)
        #expect(state.view().text.contains("vera · viewer   read-only"))
        var operatorState = ConsoleFixtures.state()
        _ = operatorState.update(.identity(name: "otto", role: "operator"))
        #expect(!operatorState.readOnly)
    }

    @Test func themeCommandAsksForTheTheme() {
        var state = ConsoleFixtures.state()
        _ = state.update(.key(.character(":")))
        for character in "theme light" { _ = state.update(.key(.character(character))) }
        #expect(state.update(.key(.enter)) == [.theme("light")])
        _ = state.update(.key(.character(":")))
        for character in "theme" { _ = state.update(.key(.character(character))) }
        #expect(state.update(.key(.enter)).isEmpty)
        #expect(state.flash?.text.hasPrefix("usage: :theme NAME") == true)
    }
}

@Suite("Every panel is honest about its age")
struct ConsoleFreshnessTests {
    @Test func aFailedMetricsFetchMarksThatPanelStaleWithItsAgeAndLeavesTheRestLive() throws {
        var state = try ConsoleSnapshotTests.loaded(width: 120, height: 40)
        #expect(!state.isStale(.metrics))
        // The routes keep arriving (the event stream), the metrics fetch starts failing.
        _ = state.update(.tick(ConsoleFixtures.t0 + .seconds(42)))
        _ = state.update(.routesLoaded(state.routes, at: ConsoleFixtures.t0 + .seconds(42)))
        _ = state.update(.panelFetchFailed(.metrics, "refused (503)"))
        #expect(state.isStale(.metrics) && !state.isStale(.routes))
        #expect(state.freshnessText(.metrics) == "metrics 42s old")
        let screen = state.view()
        let lines = screen.text.split(separator: "\n").map(String.init)
        #expect(lines[0].contains("● live") && lines[0].contains("metrics 42s old"), "the header names the stale panel: \(lines[0])")
        #expect(lines.contains { $0.contains("chat-prod r1") && $0.contains("metrics 42s old") }, "so does the panel itself")
        let chartCells = (0..<screen.height).flatMap { y in (0..<screen.width).map { screen[$0, y] } }.filter { $0.symbol.unicodeScalars.first.map { (0x2801...0x28FF).contains($0.value) } ?? false }
        #expect(!chartCells.isEmpty && chartCells.allSatisfy { $0.style.role == .stale }, "old figures are drawn in the stale colour")
        // A fresh fetch makes it live again.
        _ = state.update(.metricsLoaded(route: "chat-prod", try ConsoleSnapshotTests.metrics()))
        #expect(!state.isStale(.metrics))
    }

    @Test func at80ColumnsTheTableKeepsP95RolloutAndBreakerAndShortensTheModels() throws {
        var state = try ConsoleSnapshotTests.loaded(width: 80, height: 24)
        let header = state.view().text.split(separator: "\n")[2]
        for column in ["ROUTE", "SPLIT", "ERRΔ5m", "P95", "BREAKER", "ROLLOUT", "CANARY"] {
            #expect(header.contains(column), "\(column) in \(header)")
        }
        #expect(!header.contains("TRAFFIC"))
    }

    @Test func aDamagedSeriesOrAuditEntryFromTheServerDrawsWithoutTrapping() throws {
        var state = try ConsoleSnapshotTests.loaded(width: 120, height: 40)
        let metrics = try ConsoleSnapshotTests.metrics()
        let encoded = try JSONEncoder().encode(metrics)
        var text = String(decoding: encoded, as: UTF8.self)
        // Every point's start pushed to the ends of Int64.
        var flip = false
        while let range = text.range(of: #""start":[0-9-]+"#, options: .regularExpression) {
            text.replaceSubrange(range, with: "\"start\":X\(flip ? "max" : "min")")
            flip.toggle()
        }
        text = text.replacingOccurrences(of: "Xmax", with: String(Int64.max)).replacingOccurrences(of: "Xmin", with: String(Int64.min))
        let damaged = try JSONDecoder().decode(RouteMetricsView.self, from: Data(text.utf8))
        _ = state.update(.metricsLoaded(route: "chat-prod", damaged))
        _ = state.update(.auditAppended(AuditEvent(id: 99, atMilliseconds: .min, actor: "x", action: "weights", route: "chat-prod", fromRevision: 1, toRevision: 2, detail: "")))
        #expect(state.view().text.contains("error rate"))
    }
}
