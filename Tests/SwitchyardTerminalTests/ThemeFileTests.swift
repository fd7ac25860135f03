import Foundation
import SwitchyardConfig
import SwitchyardTUI
import SwitchyardTerminal
import Testing

@Suite("Console themes")
struct ThemeFileTests {
    /// The one folder themes ship from: bundled into the binary from there.
    static let themes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/SwitchyardTerminal/Themes")

    @Test(arguments: Themes.shipped)
    func everyShippedThemeParsesAndLoadsByName(_ name: String) throws {
        let url = Self.themes.appendingPathComponent("\(name).yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        let theme = try ThemeFile.parse(text, file: url.path)
        #expect(theme.name == name)
        #expect(try Themes.load(name, environment: [:]) == theme, "the bundled copy is the file")
    }

    @Test func theShippedListIsTheFolder() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.themes.path).filter { $0.hasSuffix(".yaml") }
        #expect(Set(files.map { String($0.dropLast(5)) }) == Set(Themes.shipped))
    }

    @Test func aThemeIsMergedOverTheBuiltInOne() throws {
        let theme = try ThemeFile.parse("name: t\npalette: { sea: \"#0072b2\" }\nroles:\n  good: sea\n  selected: { bg: 17, bold: true }\n", file: "t.yaml")
        #expect(theme.colors(for: .good).foreground == .rgb(red: 0, green: 0x72, blue: 0xb2))
        #expect(theme.colors(for: .selected).background == .index(17))
        #expect(theme.colors(for: .selected).foreground == Theme.builtIn.colors(for: .selected).foreground, "fg kept from the built-in theme")
        #expect(theme.colors(for: .selected).bold)
        #expect(theme.colors(for: .canary) == Theme.builtIn.colors(for: .canary))
        #expect(try ThemeFile.parse("name: m\nmonochrome: true\n", file: "m.yaml").monochrome)
    }

    @Test func badThemesAreRefusedWithFileKeyAndValue() {
        func problem(_ yaml: String) -> String? {
            do {
                _ = try ThemeFile.parse(yaml, file: "bad.yaml")
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(problem("roles:\n  good: chartreuse-ish\n") == "bad.yaml:2: roles.good: 'chartreuse-ish' is not a colour: use a palette name, default, a basic name (red, bright-blue…), 0–255 or #rrggbb")
        #expect(problem("roles:\n  goood: red\n")?.contains("roles.goood: unknown key 'goood'") == true)
        #expect(problem("roles:\n  bad: 300\n")?.contains("'300' is not a colour") == true)
        #expect(problem("roles:\n  bad: { fg: red, blink: true }\n")?.contains("unknown key 'blink'") == true)
        #expect(problem("colours: {}\n")?.contains("unknown key 'colours'") == true)
    }

    @Test func hostileThemeFilesAreRefusedNotTrapped() {
        // The shared YAML reader's bounds hold for themes too: a billion laughs of under 1 KB.
        var members = ["a0: &a0 [lol]"]
        for level in 1...9 { members.append("a\(level): &a\(level) [\(Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ","))]") }
        let text = "palette: {" + members.joined(separator: ", ") + "}\n"
        do {
            _ = try ThemeFile.parse(text, file: "t.yaml")
            Issue.record("a billion laughs was accepted")
        } catch {
            #expect("\(error)".contains("expands to more than 100000 nodes"), "\(error)")
        }
        for scalar in ["1e999", ".nan", "99999999999999999999", "~", "''", "!!binary aGk=", "-1"] {
            #expect(throws: ConfigError.self) { try ThemeFile.parse("roles:\n  good: \(scalar)\n", file: "t.yaml") }
        }
    }

    @Test func coloursMapToTheNearestTheTerminalHas() {
        #expect(ThemeColor("#ff0000")?.terminalIndex(colors: 256) == 196)
        #expect(ThemeColor("#ff0000")?.terminalIndex(colors: 16) == 9)
        #expect(ThemeColor("#ff0000")?.terminalIndex(colors: 8) == 1)
        #expect(ThemeColor("203")?.terminalIndex(colors: 256) == 203)
        #expect(ThemeColor("203")?.terminalIndex(colors: 8) == 1, "a salmon red is red on an 8-colour terminal")
        #expect(ThemeColor("111")?.terminalIndex(colors: 16) == 12, "a soft blue is bright blue on a 16-colour terminal")
        #expect(ThemeColor("default")?.terminalIndex(colors: 256) == nil)
        #expect(ThemeColor("bright-cyan") == .index(14))
    }
}

@Suite("Glyphs the terminal can show")
struct GlyphChoiceTests {
    @Test func aLocaleWithoutUTF8GetsASCIIAndSoDoesAsciiAsked() {
        #expect(GlyphChoice.glyphs(environment: ["LANG": "en_US.UTF-8"], ascii: false) == .unicode)
        #expect(GlyphChoice.glyphs(environment: ["LANG": "C.utf8"], ascii: false) == .unicode)
        #expect(GlyphChoice.glyphs(environment: ["LANG": "en_US.UTF-8"], ascii: true) == .ascii)
        #expect(GlyphChoice.glyphs(environment: ["LANG": "C"], ascii: false) == .ascii)
        #expect(GlyphChoice.glyphs(environment: [:], ascii: false) == .ascii, "POSIX locale: ASCII")
        #expect(GlyphChoice.glyphs(environment: ["LC_ALL": "C", "LANG": "en_US.UTF-8"], ascii: false) == .ascii, "LC_ALL wins, as in the C library")
        #expect(GlyphChoice.glyphs(environment: ["LC_ALL": "", "LC_CTYPE": "de_DE.UTF-8"], ascii: false) == .unicode)
        #expect(GlyphChoice.glyphs(environment: ["LANG": "C.UTF-8"], ascii: false, braille: false) == .blocks)
    }
}
