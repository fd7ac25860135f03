import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import SwitchyardConsole
import SwitchyardCore
import SwitchyardTUI
import SwitchyardClock
import SwitchyardClient

/// Runs the console: the terminal on its own thread (input with a short
/// timeout, so it never waits on anything else), and the network as tasks that
/// post messages back. Nothing on the UI thread waits for the network.
public final class ConsoleRuntime: Sendable {
    private let client: ManagementClient
    private let inbox = Mutex<[ConsoleMessage]>([])
    private let windowMinutes = Mutex(5)
    private let finished = Mutex(false)
    private let readOnly: Bool
    private let mouse: Bool
    private let theme: Theme
    private let pollInterval: Duration

    public init(apiURL: String, token: String?, readOnly: Bool, mouse: Bool, theme: Theme = .builtIn, pollInterval: Duration = .seconds(1)) {
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
        var state = ConsoleState(apiURL: apiURL, readOnly: readOnly, now: SystemClock().now(), width: screen.size.width, height: screen.size.height)
        var frame = state.view()
        screen.draw(frame, full: true)
        var lastTick = ContinuousClock.now
        while !isFinished {
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
                        Task { await self.perform(effect) }
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
                var request = HTTPClientRequest(url: client.baseURL + "/api/v1" + ManagementPath.events)
                if let token = client.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                guard response.status == .ok else { throw EventStreamError.refused(Int(response.status.code)) }
                backoff = .milliseconds(250)
                var parser = EventStreamParser()
                for try await chunk in response.body {
                    for event in parser.feed(Array(buffer: chunk)) { handle(event) }
                }
                throw EventStreamError.ended
            } catch {
                if Task.isCancelled { return }
                post(.fetchFailed("event stream: \(error)", at: SystemClock().now()))
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    private func handle(_ event: (name: String, data: [UInt8])) {
        let now = SystemClock().now()
        guard let event = ManagementEvent(name: event.name, data: event.data) else { return }
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
        struct Identity: Decodable {
            let name: String
            let role: String
        }
        if let (me, _) = try? await client.get(ManagementPath.whoami, as: Identity.self) {
            post(.identity(name: me.name, role: me.role))
        }
        while !Task.isCancelled {
            await refresh()
            try? await Task.sleep(for: pollInterval)
        }
    }

    private func refresh() async {
        do {
            let (list, _) = try await client.get(ManagementPath.routes, as: RouteListView.self)
            post(.routesLoaded(list.routes, at: SystemClock().now()))
            post(.rolloutsLoaded(list.rollouts))
            for (name, rollout) in list.rollouts where rollout.strategy == "ab" || rollout.strategy == "shadow" {
                if let (report, _) = try? await client.get(ManagementPath.report(name), as: ExperimentReport.self) {
                    post(.reportLoaded(route: name, report))
                }
            }
            for route in list.routes.prefix(50) {
                let window = windowMinutes.withLock { $0 }
                if let (metrics, _) = try? await client.get(ManagementPath.metrics(route.name, window: "\(window)m"), as: RouteMetricsView.self) {
                    post(.metricsLoaded(route: route.name, metrics))
                }
            }
            if let (lifecycle, _) = try? await client.get(ManagementPath.lifecycle, as: LifecycleListView.self) { post(.lifecycleLoaded(lifecycle)) }
            if let (audit, _) = try? await client.get(ManagementPath.audit(limit: 100), as: AuditListView.self) { post(.auditLoaded(audit.events)) }
        } catch {
            post(.fetchFailed("\(error)", at: SystemClock().now()))
        }
    }

    private func perform(_ effect: ConsoleEffect) async {
        let request: (HTTPMethod, String, [UInt8]?, Int?, String)
        switch effect {
        case .quit:
            return
        case .refresh:
            await refresh()
            return
        case .theme:
            return  // handled on the UI thread
        case .watchWindow(let minutes):
            windowMinutes.withLock { $0 = minutes }
            await refresh()
            return
        case .setWeights(let route, let weights, let ifMatch):
            request = (.PUT, ManagementPath.weights(route), JSONText.encode(["weights": .object(weights.mapValues(JSONValue.number))]), ifMatch, "weights")
        case .rollback(let route):
            request = (.POST, ManagementPath.rollback(route), nil, nil, "rollback")
        case .promote(let route):
            request = (.POST, ManagementPath.promote(route), nil, nil, "promote")
        case .pause(let route):
            request = (.POST, ManagementPath.rolloutAction(route, "pause"), nil, nil, "pause")
        case .resume(let route):
            request = (.POST, ManagementPath.rolloutAction(route, "resume"), nil, nil, "resume")
        }
        do {
            let bytes = try await client.send(request.0, request.1, body: request.2, ifMatch: request.3)
            if let change = try? JSONDecoder().decode(ChangeView.self, from: Data(bytes)) {
                post(.changeDone(change, action: request.4))
            } else if let rollout = try? JSONDecoder().decode(RolloutView.self, from: Data(bytes)) {
                post(.rolloutActionDone(rollout, action: request.4))
            }
        } catch {
            switch error {
            case .refused(_, let message): post(.changeRefused("\(request.4) refused: \(message)"))
            case .unreachable(let message): post(.changeRefused(message))
            }
        }
    }
}

enum EventStreamError: Error, CustomStringConvertible {
    case refused(Int)
    case ended

    var description: String {
        switch self {
        case .refused(let status): "refused (\(status))"
        case .ended: "closed by the server"
        }
    }
}

