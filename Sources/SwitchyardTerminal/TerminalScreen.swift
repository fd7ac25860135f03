import CNCursesw
import Foundation
import SwitchyardConsole
import SwitchyardTUI

/// The only code that touches the terminal: sets ncurses up and restores it,
/// draws the cells that changed since the last frame, and turns keys, mouse
/// events and resizes into console messages.
final class TerminalScreen {
    private var previous: Buffer?
    private var pairs: [StyleRole: Int16] = [:]
    /// The same roles over the selected row's background.
    private var highlightPairs: [StyleRole: Int16] = [:]
    private var theme: Theme
    private var colors: Bool
    private let mouse: Bool
    private(set) var isOpen = false

    init(mouse: Bool, theme: Theme) {
        self.mouse = mouse
        self.theme = theme
        self.colors = !theme.monochrome
    }

    var size: (width: Int, height: Int) { (Int(sy_cols()), Int(sy_lines())) }

    func open() {
        setlocale(LC_ALL, "")
        initscr()
        raw()
        noecho()
        keypad(sy_stdscr(), true)
        set_escdelay(25)
        curs_set(0)
        timeout(50)
        if colors, has_colors() {
            start_color()
            use_default_colors()
            definePairs()
        } else {
            colors = false
        }
        if mouse {
            mousemask(sy_all_mouse_events(), nil)
            mouseinterval(0)
            // Button-event tracking: motion while a button is held, for drags.
            FileHandle.standardOutput.write(Data("\u{1B}[?1002h".utf8))
        }
        isOpen = true
    }

    /// Restores the terminal; safe to call more than once.
    func close() {
        guard isOpen else { return }
        isOpen = false
        if mouse {
            FileHandle.standardOutput.write(Data("\u{1B}[?1002l".utf8))
        }
        endwin()
    }

    /// Switches colours while running (`:theme NAME`); redraw fully after.
    func apply(theme: Theme) {
        self.theme = theme
        colors = !theme.monochrome && has_colors()
        if colors {
            start_color()
            use_default_colors()
            definePairs()
        }
    }

    /// One colour pair per role, from the theme, mapped to the nearest
    /// colours this terminal has (256, 16 or 8).
    private func definePairs() {
        let available = Int(sy_colors())
        var next: Int16 = 1
        let selectionBackground = Int16(theme.colors(for: .selected).background.terminalIndex(colors: available) ?? -1)
        for role in StyleRole.allCases {
            let colors = theme.colors(for: role)
            let foreground = Int16(colors.foreground.terminalIndex(colors: available) ?? -1)
            let background = Int16(colors.background.terminalIndex(colors: available) ?? -1)
            init_pair(next, foreground, background)
            pairs[role] = next
            init_pair(next + 1, foreground, selectionBackground)
            highlightPairs[role] = next + 1
            next += 2
        }
    }

    /// Draws the runs that changed since the last frame; all of them after a resize.
    func draw(_ buffer: Buffer, full: Bool = false) {
        if full { previous = nil; clear() }
        for run in buffer.changes(since: previous) {
            var attributes = sy_a_normal()
            if run.style.bold || (colors && theme.colors(for: run.style.role).bold) { attributes |= sy_a_bold() }
            if run.style.reverse || (!colors && run.style.highlight) { attributes |= sy_a_reverse() }
            if run.style.underline { attributes |= sy_a_underline() }
            if !colors, run.style.role == .dim || run.style.role == .stale { attributes |= sy_a_dim() }
            let pair = run.style.highlight ? highlightPairs[run.style.role] : pairs[run.style.role]
            _ = sy_attr_set(attributes, pair ?? 0)
            mvaddstr(Int32(run.y), Int32(run.x), run.text)
        }
        refresh()
        previous = buffer
    }

    /// How long `read` waits for a key. The network's answers are drawn only
    /// when it returns, so the runtime shortens it while a change is in flight.
    func setInputTimeout(milliseconds: Int32) {
        timeout(milliseconds)
    }

    /// The next input, or `nil` when none came within the input timeout.
    func read() -> ConsoleMessage? {
        var character: wint_t = 0
        let result = wget_wch(sy_stdscr(), &character)
        if result == ERR { return nil }
        if result == KEY_CODE_YES {
            let code = Int32(character)
            if code == sy_key_resize() { return .resize(width: size.width, height: size.height) }
            if code == sy_key_mouse() { return readMouse() }
            let keys: [Int32: Key] = [
                KEY_UP: .up, KEY_DOWN: .down, KEY_LEFT: .left, KEY_RIGHT: .right, KEY_SLEFT: .shiftLeft, KEY_SRIGHT: .shiftRight,
                KEY_HOME: .home, KEY_END: .end, KEY_ENTER: .enter, KEY_BACKSPACE: .backspace,
            ]
            return keys[code].map { .key($0) }
        }
        switch character {
        case 3: return .key(.interrupt)
        case 10, 13: return .key(.enter)
        case 27: return .key(.escape)
        case 9: return .key(.tab)
        case 8, 127: return .key(.backspace)
        default:
            guard let scalar = Unicode.Scalar(UInt32(character)) else { return nil }
            return .key(.character(Character(scalar)))
        }
    }

    private func readMouse() -> ConsoleMessage? {
        var event = MEVENT()
        guard getmouse(&event) == OK else { return nil }
        let state = event.bstate
        let kind: MouseEvent.Kind
        if state & sy_button1_pressed() != 0 {
            kind = .press
        } else if state & sy_button1_released() != 0 || state & sy_button1_clicked() != 0 {
            kind = .release
        } else if state & sy_report_mouse_position() != 0 {
            kind = .drag
        } else {
            return nil
        }
        return .mouse(MouseEvent(kind: kind, x: Int(event.x), y: Int(event.y)))
    }
}
