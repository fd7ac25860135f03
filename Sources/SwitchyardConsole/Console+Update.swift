import Foundation
import SwitchyardCore
import SwitchyardTUI

extension ConsoleState {
    /// The console's whole behaviour: a message in, the new state and the
    /// effects to carry out. No I/O, no clock: tests drive it directly.
    public mutating func update(_ message: ConsoleMessage) -> [ConsoleEffect] {
        switch message {
        case .tick(let moment):
            now = moment
            if let flash, flash.until <= now { self.flash = nil }
            return []
        case .resize(let width, let height):
            self.width = width
            self.height = height
            return []
        case .routesLoaded(let routes, let at):
            self.routes = routes.sorted { $0.name < $1.name }
            lastUpdate = at
            connection = .live
            if selectedRoute == nil || !routes.contains(where: { $0.name == selectedRoute }) { selectedRoute = visibleRoutes.first?.name }
            if var slider, let route = routes.first(where: { $0.name == slider.route }), slider.pending, route.revision > slider.baseRevision {
                // The server confirmed a newer revision: the slider shows the truth again.
                slider.pending = false
                self.slider = slider.dragging ? slider : nil
            }
            return []
        case .routeChanged(let route, let at):
            var routes = self.routes.filter { $0.name != route.name }
            routes.append(route)
            return update(.routesLoaded(routes, at: at))
        case .routeDeleted(let name, let at):
            return update(.routesLoaded(routes.filter { $0.name != name }, at: at))
        case .identity(let name, let role):
            identity = (name, role)
            if role == "viewer", !readOnly {
                readOnly = true
                slider = nil
                flash("token '\(name)' is a viewer: read-only", role: .warning)
            }
            return []
        case .auditAppended(let event):
            if !audit.contains(where: { $0.id == event.id }) { audit.insert(event, at: 0) }
            return []
        case .lifecycleNotice(let message):
            flash(message, role: .warning)
            return []
        case .metricsLoaded(let route, let view):
            metrics[route] = view
            metricsLoadedAt[route] = now
            panelFailures[.metrics] = nil
            return []
        case .lifecycleLoaded(let view):
            lifecycle = view
            loaded(.lifecycle)
            return []
        case .auditLoaded(let events):
            audit = events
            loaded(.audit)
            return []
        case .panelFetchFailed(let panel, let reason):
            panelFailures[panel] = reason
            return []
        case .fetchFailed(let reason, _):
            connection = .reconnecting(reason)
            return []
        case .changeDone(let change, let action):
            if let index = routes.firstIndex(where: { $0.name == change.route.name }) { routes[index] = change.route }
            if slider?.route == change.route.name { slider = nil }
            let text = change.changed
                ? "\(action) \(change.route.name): r\(change.revision) · server \(String(format: "%.1f", change.serverTimeMs)) ms"
                : "\(action) \(change.route.name): already in effect (r\(change.revision))"
            flash(text, role: .good)
            return [.refresh(selected: selectedRoute)]
        case .changeRefused(let reason):
            if var slider { slider.pending = false; self.slider = slider }
            flash(reason, role: .bad)
            return []
        case .rolloutsLoaded(let rollouts):
            self.rollouts = rollouts
            return []
        case .rolloutChanged(let rollout):
            if let known = rollouts[rollout.route], known.id == rollout.id, known.updatedAtMilliseconds > rollout.updatedAtMilliseconds { return [] }
            rollouts[rollout.route] = rollout
            return []
        case .samplesLoaded(let view):
            samples = view
            sampleIndex = min(sampleIndex, max(0, view.samples.count - 1))
            loaded(.samples)
            return []
        case .reportLoaded(let route, let report):
            reports[route] = report
            loaded(.reports)
            return []
        case .rolloutActionDone(let rollout, let action):
            rollouts[rollout.route] = rollout
            flash("\(action) \(rollout.route): \(rollout.state.rawValue) at \(rollout.progress) · \(rollout.reason)", role: .good)
            return []
        case .key(let key):
            return handle(key)
        case .mouse(let event):
            return handle(event)
        }
    }

    mutating func flash(_ text: String, role: StyleRole) {
        flash = Flash(text: text, role: role, until: now + .seconds(4))
    }

    // MARK: Keys

    private mutating func handle(_ key: Key) -> [ConsoleEffect] {
        if key == .interrupt { return [.quit] }
        if let confirmation {
            self.confirmation = nil
            if key == .character("y") || key == .enter { return [confirmation.effect] }
            flash("cancelled", role: .dim)
            return []
        }
        switch mode {
        case .filter, .command, .exactWeight:
            return handleInput(key)
        case .normal:
            break
        }
        guard let binding = KeyRegistry.binding(for: key, on: screen) else { return [] }
        if binding.mutating, !allowMutation() { return [] }
        return binding.perform(&self, key)
    }

    // MARK: What the keys do

    mutating func back() {
        if slider != nil, slider?.pending == false {
            slider = nil
            flash("weight change abandoned", role: .dim)
        } else if screen != .routes {
            screen = .routes
        } else if !filter.isEmpty {
            filter = ""
        }
    }

    mutating func nextScreen() {
        screen = switch screen {
        case .routes: .audit
        case .audit: .lifecycle
        case .lifecycle, .help, .compare: .routes
        }
    }

    /// Opens the compare screen for the selected route's shadow.
    mutating func openCompare() -> [ConsoleEffect] {
        guard let route = selected else { return [] }
        guard let rollout = rollouts[route.name], rollout.strategy == "shadow" || rollout.strategy == "ab" else {
            flash("compare reads the pairs a shadow or A/B rollout captured; \(route.name) has neither (start one with \"capture\": N)", role: .warning)
            return []
        }
        screen = .compare
        sampleIndex = 0
        sampleOpen = false
        if samples?.route != route.name { samples = nil }
        return [.watchSamples(route: route.name)]
    }

    /// Leaves the compare screen (or closes the open pair first).
    mutating func closeCompare() -> [ConsoleEffect] {
        if sampleOpen {
            sampleOpen = false
            return []
        }
        screen = .routes
        return [.watchSamples(route: nil)]
    }

    mutating func moveSample(by delta: Int) {
        let count = samples?.samples.count ?? 0
        guard count > 0 else { return }
        sampleIndex = min(max(0, sampleIndex + delta), count - 1)
    }

    /// Starts typing a filter, a command or an exact weight.
    mutating func beginInput(_ mode: InputMode) -> [ConsoleEffect] {
        self.mode = mode
        input = mode == .filter ? filter : ""
        return []
    }

    mutating func cycleWindow() -> [ConsoleEffect] {
        windowMinutes = windowMinutes == 5 ? 15 : windowMinutes == 15 ? 60 : 5
        metrics = [:]
        metricsLoadedAt = [:]
        return [.watchWindow(minutes: windowMinutes)]
    }

    mutating func selectEnd(last: Bool) {
        selectedRoute = last ? visibleRoutes.last?.name : visibleRoutes.first?.name
    }

    mutating func rollbackSelected() -> [ConsoleEffect] {
        guard let route = selected else { return [] }
        slider = nil
        return [.rollback(route: route.name)]
    }

    mutating func askToPromoteSelected() -> [ConsoleEffect] {
        guard let route = selected else { return [] }
        confirmation = Confirmation(question: "Promote the canary of \(route.name) to stable at 100 %? (y/n)", effect: .promote(route: route.name))
        return []
    }

    mutating func askToPauseOrResumeSelected() -> [ConsoleEffect] {
        guard let route = selected else { return [] }
        guard let rollout = rollouts[route.name], rollout.state == .progressing || rollout.state == .paused else {
            flash("\(route.name) has no rollout in progress to pause or resume", role: .warning)
            return []
        }
        if rollout.state == .paused {
            confirmation = Confirmation(question: "Resume the \(rollout.strategy) rollout of \(route.name) at \(rollout.progress)? (y/n)", effect: .resume(route: route.name))
        } else {
            confirmation = Confirmation(question: "Pause the \(rollout.strategy) rollout of \(route.name) at \(rollout.progress)? (y/n)", effect: .pause(route: route.name))
        }
        return []
    }

    private mutating func allowMutation() -> Bool {
        if readOnly {
            flash("read-only: this console cannot change anything", role: .warning)
            return false
        }
        return true
    }

    mutating func moveSelection(by delta: Int) {
        let names = visibleRoutes.map(\.name)
        guard !names.isEmpty else { return }
        let current = names.firstIndex(of: selected?.name ?? "") ?? 0
        selectedRoute = names[min(max(0, current + delta), names.count - 1)]
        if slider?.pending == false { slider = nil }
    }

    /// Starts (or continues) moving the slider of the selected route.
    private mutating func beginSlider() -> Bool {
        guard let route = selected else { return false }
        if let slider, slider.route == route.name { return !slider.pending }
        guard let canary = Self.canary(of: route) else {
            flash("\(route.name) has a single deployment: nothing to split", role: .warning)
            return false
        }
        slider = Slider(route: route.name, canary: canary.name, stable: route.stable, value: canary.weight.percent, pending: false, dragging: false, baseRevision: route.revision)
        return true
    }

    mutating func nudge(by delta: Double) -> [ConsoleEffect] {
        guard beginSlider(), var slider else { return [] }
        slider.value = min(max(0, (slider.value + delta).rounded()), maximumCanary(slider))
        self.slider = slider
        return []
    }

    /// What the canary may take: everything but the weight of deployments that
    /// are neither stable nor canary.
    private func maximumCanary(_ slider: Slider) -> Double {
        guard let route = routes.first(where: { $0.name == slider.route }) else { return 100 }
        let others = route.deployments.filter { $0.name != slider.canary && $0.name != slider.stable }.reduce(0) { $0 + $1.weight.percent }
        return 100 - others
    }

    mutating func commitSlider() -> [ConsoleEffect] {
        guard var slider, !slider.pending, let route = routes.first(where: { $0.name == slider.route }) else { return [] }
        var weights = Dictionary(route.deployments.map { ($0.name, $0.weight.percent) }, uniquingKeysWith: { first, _ in first })
        let others = route.deployments.filter { $0.name != slider.canary && $0.name != slider.stable }.reduce(0) { $0 + $1.weight.percent }
        weights[slider.canary] = slider.value
        weights[slider.stable] = 100 - others - slider.value
        slider.pending = true
        slider.dragging = false
        self.slider = slider
        return [.setWeights(route: route.name, weights: weights, ifMatch: slider.baseRevision)]
    }

    private mutating func handleInput(_ key: Key) -> [ConsoleEffect] {
        switch key {
        case .escape:
            mode = .normal
            input = ""
        case .backspace:
            if !input.isEmpty { input.removeLast() }
            if mode == .filter { filter = input }
        case .character(let character):
            input.append(character)
            if mode == .filter { filter = input }
        case .enter:
            let text = input
            let finished = mode
            mode = .normal
            input = ""
            switch finished {
            case .command: return runCommand(text)
            case .exactWeight:
                guard let value = Double(text), (0...100).contains(value), beginSlider(), var slider else {
                    flash("'\(text)' is not a percentage from 0 to 100", role: .bad)
                    return []
                }
                slider.value = min(value.rounded(), maximumCanary(slider))
                self.slider = slider
                return commitSlider()
            case .filter, .normal: break
            }
        default:
            break
        }
        return []
    }

    private mutating func runCommand(_ text: String) -> [ConsoleEffect] {
        let words = text.split(separator: " ").map(String.init)
        switch words.first ?? "" {
        case "q", "quit": return [.quit]
        case "routes": screen = .routes
        case "audit": screen = .audit
        case "lifecycle": screen = .lifecycle
        case "compare": return openCompare()
        case "help": screen = .help
        case "theme":
            guard words.count == 2 else {
                flash("usage: :theme NAME (default, light, high-contrast, deuteranopia, monochrome)", role: .bad)
                return []
            }
            return [.theme(words[1])]
        default: flash("unknown command ':\(text)' — try :routes, :audit, :lifecycle, :compare, :theme NAME, :help, :q", role: .bad)
        }
        return []
    }

    // MARK: Mouse

    private mutating func handle(_ event: MouseEvent) -> [ConsoleEffect] {
        guard screen == .routes, let track = sliderTrack else { return [] }
        switch event.kind {
        case .press:
            guard track.contains(x: event.x, y: event.y) || (event.y == track.y && event.x >= track.x - 1 && event.x <= track.maxX) else { return [] }
            guard allowMutation(), beginSlider(), var slider else { return [] }
            slider.dragging = true
            slider.value = min(SliderWidget.value(atColumn: event.x, track: track), maximumCanary(slider))
            self.slider = slider
        case .drag:
            guard var slider, slider.dragging else { return [] }
            slider.value = min(SliderWidget.value(atColumn: event.x, track: track), maximumCanary(slider))
            self.slider = slider
        case .release:
            guard var slider, slider.dragging else { return [] }
            slider.value = min(SliderWidget.value(atColumn: event.x, track: track), maximumCanary(slider))
            self.slider = slider
            return commitSlider()
        }
        return []
    }
}
