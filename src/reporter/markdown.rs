//! Renders a lesson's markdown for a terminal: headings, wrapped paragraphs, lists, notes,
//! code blocks and tables. Styling comes from `colored`, so it disappears with colour.

use colored::{ColoredString, Colorize};
use pulldown_cmark::{Alignment, CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::evidence::wrap;

/// A run of inline text and how it is styled.
#[derive(Clone, Copy, Default, PartialEq)]
struct Style {
    strong: bool,
    emphasis: bool,
    code: bool,
}

pub fn render(markdown: &str, width: usize) -> String {
    let mut renderer = Renderer { width, ..Renderer::default() };
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        renderer.event(event);
    }
    renderer.out
}

#[derive(Default)]
struct Renderer {
    width: usize,
    out: String,
    /// The inline text of the paragraph, heading or list item being read.
    spans: Vec<(String, Style)>,
    style: Style,
    heading: Option<HeadingLevel>,
    quote_depth: usize,
    /// One entry per open list: the next number of an ordered list, `None` for bullets.
    lists: Vec<Option<u64>>,
    /// The marker of the list item whose first line is still to be written.
    item_marker: Option<String>,
    code_block: Option<String>,
    table: Option<Table>,
    link_target: Option<String>,
    /// A paragraph of a note ended: the gap line waits until we know the note goes on.
    quote_gap: bool,
}

#[derive(Default)]
struct Table {
    alignments: Vec<Alignment>,
    rows: Vec<Vec<String>>,
    cell: String,
}

impl Renderer {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(code) => self.inline_code(&code),
            Event::HardBreak => self.line_break(),
            // `> **Note**` on a line of its own stays on a line of its own.
            Event::SoftBreak if self.spans.len() == 1 && self.spans[0].1.strong => {
                self.line_break()
            }
            Event::SoftBreak => self.text(" "),
            Event::Rule => self.block(&"─".repeat(self.width.min(60)).dimmed().to_string()),
            _ => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Heading { level, .. } => self.heading = Some(level),
            Tag::BlockQuote(_) => self.quote_depth += 1,
            Tag::List(first) => {
                // A list inside an item: the item's own text is written at the item's depth.
                self.flush_paragraph();
                self.lists.push(first);
            }
            Tag::Item => {
                self.flush_paragraph();
                let marker = match self.lists.last_mut() {
                    Some(Some(next)) => {
                        *next += 1;
                        format!("{}.", *next - 1)
                    }
                    _ => "•".to_string(),
                };
                self.item_marker = Some(marker);
            }
            Tag::CodeBlock(kind) => {
                self.flush_paragraph();
                let language = match kind {
                    CodeBlockKind::Fenced(language) => language.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                self.code_block = Some(language);
                self.spans.clear();
            }
            Tag::Table(alignments) => self.table = Some(Table { alignments, ..Table::default() }),
            Tag::TableHead | Tag::TableRow => {
                if let Some(table) = &mut self.table {
                    table.rows.push(Vec::new());
                }
            }
            Tag::Strong => self.style.strong = true,
            Tag::Emphasis => self.style.emphasis = true,
            Tag::Link { dest_url, .. } => self.link_target = Some(dest_url.to_string()),
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => self.flush_paragraph(),
            TagEnd::Heading(_) => self.flush_heading(),
            TagEnd::BlockQuote(_) => {
                self.flush_paragraph();
                self.quote_depth -= 1;
                if self.quote_depth == 0 && std::mem::take(&mut self.quote_gap) {
                    self.out.push('\n');
                }
            }
            TagEnd::List(_) => {
                self.flush_paragraph();
                self.lists.pop();
                if self.lists.is_empty() {
                    self.out.push('\n');
                }
            }
            TagEnd::Item => self.flush_paragraph(),
            TagEnd::CodeBlock => self.flush_code_block(),
            TagEnd::TableCell => {
                if let Some(table) = &mut self.table {
                    let cell = std::mem::take(&mut table.cell);
                    table
                        .rows
                        .last_mut()
                        .expect("a cell is inside a row")
                        .push(cell.trim().to_string());
                }
            }
            TagEnd::Table => self.flush_table(),
            TagEnd::Strong => self.style.strong = false,
            TagEnd::Emphasis => self.style.emphasis = false,
            TagEnd::Link => {
                if let Some(target) = self.link_target.take() {
                    let text: String = self.spans.iter().map(|(text, _)| text.as_str()).collect();
                    if !text.ends_with(&target) {
                        self.push_span(&format!(" ({target})"), Style::default());
                    }
                }
            }
            _ => {}
        }
    }

    fn text(&mut self, text: &str) {
        if let Some(table) = &mut self.table {
            table.cell.push_str(text);
        } else if self.code_block.is_some() {
            self.spans.push((text.to_string(), Style::default()));
        } else {
            self.push_span(text, self.style);
        }
    }

    fn inline_code(&mut self, code: &str) {
        if let Some(table) = &mut self.table {
            table.cell.push_str(code);
        } else {
            self.push_span(code, Style { code: true, ..self.style });
        }
    }

    fn push_span(&mut self, text: &str, style: Style) {
        self.spans.push((text.to_string(), style));
    }

    /// The prefix of every line at the current depth: note bars and list indentation.
    fn prefix(&self) -> String {
        let mut prefix = "│ ".repeat(self.quote_depth);
        prefix.push_str(&"  ".repeat(self.lists.len().saturating_sub(1)));
        prefix
    }

    fn block(&mut self, line: &str) {
        self.out.push_str(line);
        self.out.push_str("\n\n");
    }

    /// Writes the text so far as finished lines, and goes on with the same paragraph.
    fn line_break(&mut self) {
        self.flush_lines();
    }

    /// Ends a paragraph. Inside a note the gap is drawn only if the note goes on.
    fn flush_paragraph(&mut self) {
        if self.flush_lines() && self.lists.is_empty() {
            if self.quote_depth == 0 {
                self.out.push('\n');
            } else {
                self.quote_gap = true;
            }
        }
    }

    /// Writes the pending spans as wrapped lines; false when there were none.
    fn flush_lines(&mut self) -> bool {
        if self.spans.is_empty() {
            return false;
        }
        let spans = std::mem::take(&mut self.spans);
        let quote = match self.quote_depth {
            0 => String::new(),
            depth => "│ ".repeat(depth).dimmed().to_string(),
        };
        if std::mem::take(&mut self.quote_gap) {
            self.out.push_str(&format!("{}\n", "│".repeat(self.quote_depth).dimmed()));
        }
        let indent = "  ".repeat(self.lists.len().saturating_sub(1));
        let (first, rest) = match self.item_marker.take() {
            Some(marker) => (
                format!("{indent}{marker} "),
                format!("{indent}{}", " ".repeat(marker.chars().count() + 1)),
            ),
            None if self.lists.is_empty() => (indent.clone(), indent),
            None => (format!("{indent}  "), format!("{indent}  ")),
        };
        let room = self.width.saturating_sub(2 * self.quote_depth + first.chars().count()).max(20);
        for (index, line) in wrap_spans(&spans, room).into_iter().enumerate() {
            let lead = if index == 0 { &first } else { &rest };
            self.out.push_str(&format!("{quote}{lead}{line}\n"));
        }
        true
    }

    fn flush_heading(&mut self) {
        let text: String =
            std::mem::take(&mut self.spans).into_iter().map(|(text, _)| text).collect();
        let line = match self.heading.take() {
            Some(HeadingLevel::H1) => {
                let rule = "═".repeat(text.chars().count());
                format!("{}\n{}", text.bold().cyan(), rule.cyan())
            }
            Some(HeadingLevel::H2) => {
                let rule = "─".repeat(text.chars().count());
                format!("{}\n{}", text.bold().yellow(), rule.yellow())
            }
            _ => text.bold().to_string(),
        };
        self.block(&line);
    }

    fn flush_code_block(&mut self) {
        let code: String =
            std::mem::take(&mut self.spans).into_iter().map(|(text, _)| text).collect();
        let language = self.code_block.take().unwrap_or_default();
        let prefix = self.prefix();
        if !language.is_empty() {
            self.out.push_str(&format!("{prefix}  {}\n", format!("╭─ {language}").dimmed()));
        }
        for line in code.trim_end_matches('\n').lines() {
            self.out.push_str(&format!("{prefix}  {} {}\n", "│".dimmed(), line.green()));
        }
        self.out.push('\n');
    }

    fn flush_table(&mut self) {
        let Some(table) = self.table.take() else {
            return;
        };
        let columns = table.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|column| {
                table
                    .rows
                    .iter()
                    .filter_map(|row| row.get(column))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let prefix = self.prefix();
        for (index, row) in table.rows.iter().enumerate() {
            let cells: Vec<String> = (0..columns)
                .map(|column| {
                    let cell = row.get(column).map_or("", String::as_str);
                    let width = widths[column];
                    match table.alignments.get(column) {
                        Some(Alignment::Right) => format!("{cell:>width$}"),
                        Some(Alignment::Center) => format!("{cell:^width$}"),
                        _ => format!("{cell:<width$}"),
                    }
                })
                .collect();
            let line = cells.join(" │ ");
            let line = if index == 0 { line.bold().to_string() } else { line };
            self.out.push_str(&format!("{prefix}  {}\n", line.trim_end()));
            if index == 0 {
                let rule: Vec<String> = widths.iter().map(|width| "─".repeat(*width)).collect();
                self.out.push_str(&format!("{prefix}  {}\n", rule.join("─┼─").dimmed()));
            }
        }
        self.out.push('\n');
    }
}

/// Wraps styled spans into lines no wider than `width`, styling each word as its span.
fn wrap_spans(spans: &[(String, Style)], width: usize) -> Vec<String> {
    let plain: String = spans.iter().map(|(text, _)| text.as_str()).collect();
    let mut styles = Vec::with_capacity(plain.len());
    for (text, style) in spans {
        styles.extend(text.chars().map(|_| *style));
    }
    let mut lines = Vec::new();
    let mut position = 0;
    let chars: Vec<char> = plain.chars().collect();
    for line in wrap(&plain, width) {
        // Walk the source alongside the wrapped line to recover each character's style.
        let mut styled = String::new();
        let mut run = String::new();
        let mut run_style = Style::default();
        for expected in line.chars() {
            while position < chars.len() && chars[position] != expected {
                position += 1;
            }
            let style = styles.get(position).copied().unwrap_or_default();
            if style != run_style && !run.is_empty() {
                styled.push_str(&paint(&run, run_style).to_string());
                run.clear();
            }
            run_style = style;
            run.push(expected);
            position += 1;
        }
        styled.push_str(&paint(&run, run_style).to_string());
        lines.push(styled);
    }
    lines
}

fn paint(text: &str, style: Style) -> ColoredString {
    let mut painted = ColoredString::from(text);
    if style.code {
        painted = painted.cyan();
    }
    if style.strong {
        painted = painted.bold();
    }
    if style.emphasis {
        painted = painted.italic();
    }
    painted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(markdown: &str, width: usize) -> String {
        colored::control::set_override(false);
        render(markdown, width)
    }

    #[test]
    fn renders_headings_paragraphs_and_lists() {
        let shown = plain("# Title\n\nSome *text* with `code`.\n\n- one\n- two\n", 80);
        assert_eq!(shown, "Title\n═════\n\nSome text with code.\n\n• one\n• two\n\n");
    }

    #[test]
    fn a_nested_list_goes_under_its_item() {
        let shown = plain("- one\n- two:\n  - inner\n- three\n", 80);
        assert_eq!(shown, "• one\n• two:\n  • inner\n• three\n\n");
    }

    #[test]
    fn wraps_paragraphs_and_list_items() {
        let shown = plain("1. alpha beta gamma delta epsilon zeta eta theta\n", 30);
        assert_eq!(shown, "1. alpha beta gamma delta\n   epsilon zeta eta theta\n\n");
    }

    #[test]
    fn renders_notes_code_blocks_and_tables() {
        let markdown = "> **Note**\n> keep it\n\n```rust\nlet x = 1;\n```\n\n| Code | Retry? |\n|---|---|\n| 4xx | No |\n";
        let shown = plain(markdown, 80);
        assert_eq!(
            shown,
            "│ Note\n│ keep it\n\n  ╭─ rust\n  │ let x = 1;\n\n  Code │ Retry?\n  ─────┼───────\n  4xx  │ No\n\n"
        );
    }
}
