//! Text that came from the learner's code (a body, a header, a panic message, a log line, a
//! compiler's quote of their source) is shown, never obeyed: every control character becomes
//! visible, so that no escape sequence, carriage return or bidirectional override can move the
//! cursor, scroll, repaint or reorder what the report says. The reporter's own colours are added
//! after, and stay.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control character written out: `\x1b`, `\r`, `\u{202e}`. Newlines and tabs
/// stay, since they only lay text out.
pub fn inert(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_active) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 16);
    for character in text.chars() {
        push_visible(&mut shown, character);
    }
    Cow::Owned(shown)
}

/// Like [`inert`], but keeps colour and style sequences (`ESC [ … m`) as they are: for cargo's
/// coloured diagnostics, which quote the learner's source.
pub fn inert_but_colours(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_active) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(character) = rest.chars().next() {
        if let Some(length) = colour_sequence(rest) {
            shown.push_str(&rest[..length]);
            rest = &rest[length..];
            continue;
        }
        push_visible(&mut shown, character);
        rest = &rest[character.len_utf8()..];
    }
    Cow::Owned(shown)
}

fn is_active(character: char) -> bool {
    (character.is_control() && character != '\n' && character != '\t')
        || matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_visible(shown: &mut String, character: char) {
    match character {
        '\r' => shown.push_str("\\r"),
        _ if !is_active(character) => shown.push(character),
        _ if u32::from(character) < 0x80 => {
            let _ = write!(shown, "\\x{:02x}", u32::from(character));
        }
        _ => {
            let _ = write!(shown, "\\u{{{:x}}}", u32::from(character));
        }
    }
}

/// The length of the SGR sequence `text` starts with (`ESC [`, digits and `;`, then `m`).
fn colour_sequence(text: &str) -> Option<usize> {
    let body = text.strip_prefix("\x1b[")?;
    let parameters = body.bytes().take_while(|byte| byte.is_ascii_digit() || *byte == b';').count();
    (body.as_bytes().get(parameters) == Some(&b'm')).then_some(2 + parameters + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_sequences_become_visible_and_layout_stays() {
        let painted = "ok\x1b[2J\x1b[H\r✓ all pass\u{9b}31m\u{202e}evil\n\tnext";
        assert_eq!(inert(painted), "ok\\x1b[2J\\x1b[H\\r✓ all pass\\u{9b}31m\\u{202e}evil\n\tnext");
        assert!(matches!(inert("plain\ttext\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn cargo_colours_stay_and_nothing_else_does() {
        let diagnostic = "\x1b[1m\x1b[38;5;9merror\x1b[0m: \"\x1b]0;title\x07\x1b[2J\"";
        assert_eq!(
            inert_but_colours(diagnostic),
            "\x1b[1m\x1b[38;5;9merror\x1b[0m: \"\\x1b]0;title\\x07\\x1b[2J\""
        );
    }
}
