#ifndef SWITCHYARD_NCURSES_SHIM_H
#define SWITCHYARD_NCURSES_SHIM_H

// SwiftPM drops pkg-config's -D_XOPEN_SOURCE=600; without these the
// wide-character API (setcchar, mvadd_wch, wget_wch) is not declared.
#define NCURSES_WIDECHAR 1
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif

#include <locale.h>
#include <curses.h>

// Macros and globals do not import into Swift (or are not concurrency-safe):
// these inline functions stand in for them.
static inline WINDOW *sy_stdscr(void) { return stdscr; }
static inline int sy_lines(void) { return LINES; }
static inline int sy_cols(void) { return COLS; }
static inline int sy_colors(void) { return COLORS; }
static inline attr_t sy_a_bold(void) { return A_BOLD; }
static inline attr_t sy_a_dim(void) { return A_DIM; }
static inline attr_t sy_a_reverse(void) { return A_REVERSE; }
static inline attr_t sy_a_underline(void) { return A_UNDERLINE; }
static inline attr_t sy_a_normal(void) { return A_NORMAL; }
static inline int sy_key_resize(void) { return KEY_RESIZE; }
static inline int sy_key_mouse(void) { return KEY_MOUSE; }
static inline mmask_t sy_all_mouse_events(void) { return ALL_MOUSE_EVENTS | REPORT_MOUSE_POSITION; }
static inline mmask_t sy_button1_pressed(void) { return BUTTON1_PRESSED; }
static inline mmask_t sy_button1_released(void) { return BUTTON1_RELEASED; }
static inline mmask_t sy_button1_clicked(void) { return BUTTON1_CLICKED; }
static inline mmask_t sy_report_mouse_position(void) { return REPORT_MOUSE_POSITION; }
static inline int sy_attr_set(attr_t attrs, short pair) { return attr_set(attrs, pair, NULL); }

#endif
