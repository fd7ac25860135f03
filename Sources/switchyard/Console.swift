import ArgumentParser
import Foundation
import SwitchyardTerminal

struct Console: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The operations console: live routes, the canary slider, error rates, retirements; R rolls back."
    )

    @Option(name: .long, help: "Management API base URL.")
    var api = "http://127.0.0.1:8081"

    @Option(name: .long, help: "Bearer token (default: $SWITCHYARD_TOKEN).")
    var token: String?

    @Flag(name: .long, help: "Show everything, change nothing.")
    var readOnly = false

    @Flag(name: .long, help: "Leave the mouse to the terminal (native text selection).")
    var noMouse = false

    @Option(name: .long, help: "A shipped theme (default, light, high-contrast, deuteranopia, monochrome) or a theme file.")
    var theme: String?

    @Flag(name: .long, help: "ASCII glyphs only (the default when the locale is not UTF-8).")
    var ascii = false

    @Flag(name: .long, help: "Charts in half blocks instead of braille, for fonts without braille.")
    var noBraille = false

    func run() async throws {
        let token = token ?? ProcessInfo.processInfo.environment["SWITCHYARD_TOKEN"]
        let chosen = try Themes.load(theme)
        let glyphs = GlyphChoice.glyphs(environment: ProcessInfo.processInfo.environment, ascii: ascii, braille: !noBraille)
        await ConsoleRuntime(apiURL: api, token: token, readOnly: readOnly, mouse: !noMouse, theme: chosen, glyphs: glyphs).run()
    }
}
