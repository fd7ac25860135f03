public import Foundation
import Synchronization
import SwitchyardConsole
import SwitchyardCore
public import SwitchyardTUI
import SwitchyardClock
import SwitchyardClient

/// Runs the console: the terminal on its own thread (input with a short
/// timeout, so it never waits on anything else), and the network as tasks that
/// post messages back. Nothing on the UI thread waits for the network.
public final class ConsoleRuntime: Sendable {
    private let client: ManagementClient
    private let inbox = Mutex<[ConsoleMessage]>([])
    private let windowMinutes = Mutex(5)
    /// The route whose captured shadow pairs are on screen, fetched with every refresh.
    private let watchedSamples = Mutex<String?>(nil)
    private let finished = Mutex(false)
    /// Changes sent and not yet answered: while any is, the UI thread looks at
    /// its inbox every few milliseconds, so the confirmation is on screen as
    /// soon as the server's answer is (idle, it looks every 50 ms).
    private let changesInFlight = Atomic<Int>(0)
    private let readOnly: Bool
    private let mouse: Bool
    private let theme: Theme
    private let pollInterval: Duration
    private let glyphs: Glyphs

    /// - Parameter glyphs: Unicode or ASCII; by default what the locale can show (`GlyphChoice`).
    public init(
        apiURL: String, token: String?, readOnly: Bool, mouse: Bool, theme: Theme = .builtIn, pollInterval: Duration = .seconds(1),
        glyphs: Glyphs = GlyphChoice.glyphs(environment: ProcessInfo.processInfo.environment, ascii: false)
    ) {
        self.glyphs = glyphs
        self.client = ManagementClient(baseURL: apiURL, token: token)
        self.readOnly = readOnly
        self.mouse = mouse
        self.theme = theme
        self.pollInterval = pollInterval
    }

    func post(_ message: ConsoleMessage) {
        inbox.withLock { $0.append(message) }
    }

    var isFinished: Bool { finished.withLock { $0 } }

    /// Shows the console until the user quits (or SIGTERM/SIGINT arrive);
    /// the terminal is restored on every way out.
    public func run() async {
        let signals = [SIGTERM, SIGINT, SIGHUP].map { signal -> any DispatchSourceSignal in
            Foundation.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal)
            source.setEventHandler { [weak self] in self?.finished.withLock { $0 = true } }
            source.resume()
            return source
        }
        let poller = Task { await self.poll() }
        let events = Task { await self.followEvents() }
        let readOnly = self.readOnly
        let mouse = self.mouse
        let apiURL = client.baseURL
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                self.uiLoop(apiURL: apiURL, readOnly: readOnly, mouse: mouse)
                continuation.resume()
            }
            thread.name = "switchyard-console"
            thread.start()
        }
        poller.cancel()
        events.cancel()
        for source in signals { source.cancel() }
    }

    private func uiLoop(apiURL: String, readOnly: Bool, mouse: Bool) {
        let screen = TerminalScreen(mouse: mouse, theme: theme)
        screen.open()
        defer { screen.close() }
        var state = ConsoleState(apiURL: apiURL, readOnly: readOnly, now: SystemClock().now(), width: screen.size.width, height: screen.size.height, glyphs: glyphs)
        var frame = state.view()
        screen.draw(frame, full: true)
        var lastTick = ContinuousClock.now
        var fastPolling = false
        while !isFinished {
            let busy = changesInFlight.load(ordering: .relaxed) > 0
            if busy != fastPolling {
                fastPolling = busy
                screen.setInputTimeout(milliseconds: busy ? 2 : 50)
            }
            var messages: [ConsoleMessage] = []
            // Read every key already typed, then what the network sent.
            while let input = screen.read() {
                messages.append(input)
                if messages.count > 64 { break }
            }
            messages += inbox.withLock { inbox in
                defer { inbox.removeAll() }
                return inbox
            }
            if ContinuousClock.now - lastTick >= .milliseconds(250) {
                messages.append(.tick(SystemClock().now()))
                lastTick = .now
            }
            guard !messages.isEmpty else { continue }
            var resized = false
            for message in messages {
                if case .resize = message { resized = true }
                for effect in state.update(message) {
                    if effect == .quit {
                        finished.withLock { $0 = true }
                    } else if case .theme(let name) = effect {
                        do {
                            screen.apply(theme: try Themes.load(name))
                            resized = true  // a full redraw in the new colours
                        } catch {
                            _ = state.update(.changeRefused("\(error)"))
                        }
                    } else {
                        changesInFlight.add(1, ordering: .relaxed)
                        Task {
                            await self.perform(effect)
                            self.changesInFlight.subtract(1, ordering: .relaxed)
                        }
                    }
                }
            }
            frame = state.view()
            screen.draw(frame, full: resized)
        }
    }

    // MARK: The event stream

    /// Follows `GET /api/v1/events`: route changes and audit entries arrive as
    /// they happen. On a break, says so and reconnects with backoff; polling
    /// keeps the figures fresh meanwhile.
    private func followEvents() async {
        var backoff = Duration.milliseconds(250)
        while !Task.isCancelled {
            do {
                for try await event in client.events() {
                    backoff = .milliseconds(250)
                    handle(event)
                }
            } catch {
                if Task.isCancelled { return }
                post(.fetchFailed("event stream: \(error)", at: SystemClock().now()))
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    private func handle(_ event: ManagementEvent) {
        let now = SystemClock().now()
        switch event {
        case .snapshot(let list):
            post(.routesLoaded(list.routes, at: now))
            post(.rolloutsLoaded(list.rollouts))
        case .route(let route):
            post(.routeChanged(route, at: now))
        case .routeDeleted(let name):
            post(.routeDeleted(name, at: now))
        case .audit(let entry):
            post(.auditAppended(entry))
        case .rollout(let rollout):
            post(.rolloutChanged(rollout))
        case .lifecycle(let notice):
            post(.lifecycleNotice(notice.message))
        case .metrics:
            // The console polls each screen's metrics at its own window; the
            // per-minute tick would only duplicate them.
            break
        case .dropped:
            // The stream ends after this; the loop reconnects and starts from a snapshot.
            break
        }
    }

    // MARK: Effects

    private func poll() async {
        if let me = try? await client.whoami().body {
            post(.identity(name: me.name, role: me.role))
        }
        while !Task.isCancelled {
            await refresh()
            try? await Task.sleep(for: pollInterval)
        }
    }

    private func refresh() async {
        do {
            let list = try await client.routes().body
            post(.routesLoaded(list.routes, at: SystemClock().now()))
            post(.rolloutsLoaded(list.rollouts))
            // Each panel's fetch stands alone: one that fails marks its own
            // panel stale (with its age) and leaves the others live.
            for (name, rollout) in list.rollouts where rollout.strategy == "ab" || rollout.strategy == "shadow" {
                do {
                    post(.reportLoaded(route: name, try await client.report(route: name).body))
                } catch {
                    post(.panelFetchFailed(.reports, "\(error)"))
                }
            }
            for route in list.routes.prefix(50) {
                let window = windowMinutes.withLock { $0 }
                do {
                    post(.metricsLoaded(route: route.name, try await client.metrics(route: route.name, window: "\(window)m").body))
                } catch {
                    post(.panelFetchFailed(.metrics, "\(error)"))
                }
            }
            if let route = watchedSamples.withLock({ $0 }) {
                do {
                    post(.samplesLoaded(try await client.samples(route: route).body))
                } catch {
                    post(.panelFetchFailed(.samples, "\(error)"))
                }
            }
            do {
                post(.lifecycleLoaded(try await client.lifecycle().body))
            } catch {
                post(.panelFetchFailed(.lifecycle, "\(error)"))
            }
            do {
                post(.auditLoaded(try await client.audit(limit: 100).body.events))
            } catch {
                post(.panelFetchFailed(.audit, "\(error)"))
            }
        } catch {
            post(.fetchFailed("\(error)", at: SystemClock().now()))
        }
    }

    private func perform(_ effect: ConsoleEffect) async {
        var action = ""
        do throws(ManagementClientError) {
            switch effect {
            case .quit, .theme:
                return  // handled on the UI thread
            case .refresh:
                await refresh()
            case .watchSamples(let route):
                watchedSamples.withLock { $0 = route }
                if route != nil { await refresh() }
            case .watchWindow(let minutes):
                windowMinutes.withLock { $0 = minutes }
                await refresh()
            case .setWeights(let route, let weights, let ifMatch):
                action = "weights"
                post(.changeDone(try await client.setWeights(route: route, weights, ifMatch: ifMatch).body, action: action))
            case .rollback(let route):
                action = "rollback"
                post(.changeDone(try await client.rollback(route: route).body, action: action))
            case .promote(let route):
                action = "promote"
                post(.changeDone(try await client.promote(route: route).body, action: action))
            case .pause(let route):
                action = RolloutOperation.pause.rawValue
                post(.rolloutActionDone(try await client.operate(route: route, .pause).body, action: action))
            case .resume(let route):
                action = RolloutOperation.resume.rawValue
                post(.rolloutActionDone(try await client.operate(route: route, .resume).body, action: action))
            }
        } catch {
            switch error {
            case .refused(_, let message): post(.changeRefused("\(action) refused: \(message)"))
            case .unreachable(let message), .unexpectedReply(_, let message): post(.changeRefused(message))
            }
        }
    }
}
