//! Renders a failed check's evidence: diffs, tables and titled text, indented under the check.

use std::io::{self, Write};

use colored::Colorize;
use httplings_judge::judge::{Evidence, Failure, Row};
use similar::{ChangeTag, TextDiff};

use super::inert::inert;

const INDENT: &str = "    ";
/// Table cells are cut here so that one long input cannot push the table off the screen.
const MAX_CELL: usize = 44;

/// A failed check in full: what went wrong, the evidence, and why it matters (the failure's own
/// reason, or else `why`, the check's).
pub fn failure(
    out: &mut dyn Write,
    failure: &Failure,
    why: Option<&str>,
    width: usize,
) -> io::Result<()> {
    writeln!(out, "{INDENT}{}", inert(&failure.summary).red())?;
    evidence(out, &failure.evidence)?;
    if let Some(why) = failure.why.as_deref().or(why) {
        writeln!(out)?;
        for line in wrap(&format!("Why it matters: {why}"), width - INDENT.len()) {
            writeln!(out, "{INDENT}{}", line.dimmed())?;
        }
    }
    Ok(())
}

/// Each piece of evidence, after a blank line.
pub fn evidence(out: &mut dyn Write, evidence: &[Evidence]) -> io::Result<()> {
    for piece in evidence {
        writeln!(out)?;
        match piece {
            Evidence::Diff { expected, actual } => diff(out, expected, actual)?,
            Evidence::Table { columns, rows } => table(out, columns, rows)?,
            Evidence::Text { title, body } => titled(out, title, body)?,
        }
    }
    Ok(())
}

/// A line-by-line diff of the whole of both texts: answers are short, and seeing the
/// unchanged lines around a change is what makes it readable.
/// How many lines of a run alike (unchanged, all missing or all extra) a diff shows at each of
/// its ends: a log of three hundred requests says no more in full, and pushes the rest of the
/// report off the screen.
const RUN_ENDS: usize = 4;

fn diff(out: &mut dyn Write, expected: &str, actual: &str) -> io::Result<()> {
    writeln!(out, "{INDENT}{}  {}", "- expected".red(), "+ got".green())?;
    let diff = TextDiff::from_lines(expected, actual);
    let changes: Vec<_> = diff.iter_all_changes().collect();
    for run in changes.chunk_by(|one, next| one.tag() == next.tag()) {
        let tag = run[0].tag();
        let shown = |out: &mut dyn Write, text: &str| match tag {
            ChangeTag::Equal => writeln!(out, "{INDENT}  {text}"),
            ChangeTag::Delete => writeln!(out, "{INDENT}{}", format!("- {text}").red()),
            ChangeTag::Insert => writeln!(out, "{INDENT}{}", format!("+ {text}").green()),
        };
        let line = |change: &similar::Change<&str>| {
            inert(change.value().trim_end_matches('\n')).into_owned()
        };
        if run.len() <= 2 * RUN_ENDS + 1 {
            for change in run {
                shown(out, &line(change))?;
            }
            continue;
        }
        for change in &run[..RUN_ENDS] {
            shown(out, &line(change))?;
        }
        let left_out = run.len() - 2 * RUN_ENDS;
        shown(out, &format!("⋯ {left_out} more lines like these"))?;
        for change in &run[run.len() - RUN_ENDS..] {
            shown(out, &line(change))?;
        }
    }
    Ok(())
}

fn table(out: &mut dyn Write, columns: &[String], rows: &[Row]) -> io::Result<()> {
    let cut = |cell: &str| -> String {
        let cell = inert(cell);
        match cell.char_indices().nth(MAX_CELL) {
            Some((end, _)) => format!("{}…", &cell[..end]),
            None => cell.to_string(),
        }
    };
    let cells: Vec<Vec<String>> =
        rows.iter().map(|row| row.cells.iter().map(|cell| cut(cell)).collect()).collect();
    let widths: Vec<usize> = (0..columns.len())
        .map(|column| {
            let header = columns[column].chars().count();
            cells
                .iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .fold(header, usize::max)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        padded.join("  ").trim_end().to_string()
    };
    writeln!(out, "{INDENT}  {}", line(columns).bold())?;
    for (row, cells) in rows.iter().zip(&cells) {
        if row.ok {
            writeln!(out, "{INDENT}{} {}", "✓".green(), line(cells).dimmed())?;
        } else {
            writeln!(out, "{INDENT}{} {}", "✗".red().bold(), line(cells).red())?;
        }
    }
    Ok(())
}

pub fn titled(out: &mut dyn Write, title: &str, body: &str) -> io::Result<()> {
    writeln!(out, "{INDENT}{}", format!("{title}:").bold())?;
    for line in inert(body).lines() {
        writeln!(out, "{INDENT}  {line}")?;
    }
    Ok(())
}

/// A unified diff between two files, coloured as `git diff` does.
pub fn file_diff(out: &mut dyn Write, old: &str, new: &str, names: (&str, &str)) -> io::Result<()> {
    let diff = TextDiff::from_lines(old, new);
    writeln!(out, "{}", format!("--- {} (yours)", names.0).red().bold())?;
    writeln!(out, "{}", format!("+++ {} (reference)", names.1).green().bold())?;
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        writeln!(out, "{}", hunk.header().to_string().cyan())?;
        for change in hunk.iter_changes() {
            let line = inert(change.value().trim_end_matches('\n'));
            match change.tag() {
                ChangeTag::Equal => writeln!(out, " {line}")?,
                ChangeTag::Delete => writeln!(out, "{}", format!("-{line}").red())?,
                ChangeTag::Insert => writeln!(out, "{}", format!("+{line}").green())?,
            }
        }
    }
    Ok(())
}

/// Greedy word wrap.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(render: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> String {
        colored::control::set_override(false);
        let mut out = Vec::new();
        render(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn diff_marks_expected_and_got_lines() {
        let shown = plain(|out| diff(out, "HTTP/1.1 500\na: 1\n", "HTTP/1.1 500\na: 2\n"));
        assert_eq!(shown, "    - expected  + got\n      HTTP/1.1 500\n    - a: 1\n    + a: 2\n");
    }

    #[test]
    fn diff_sums_up_the_middle_of_a_long_run_alike() {
        let expected: String = (1..=30).map(|n| format!("#{n}\n")).collect();
        let actual: String = (1..=3).map(|n| format!("#{n}\n")).collect();
        let shown = plain(|out| diff(out, &expected, &actual));
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 1 + 3 + 2 * RUN_ENDS + 1, "{shown}");
        assert_eq!(lines[4], "    - #4");
        assert_eq!(lines[8], "    - ⋯ 19 more lines like these");
        assert_eq!(lines[12], "    - #30");
    }

    #[test]
    fn table_marks_wrong_rows_and_aligns_columns() {
        let columns = vec!["input".to_string(), "got".to_string()];
        let rows = vec![
            Row { cells: vec!["\"120\"".into(), "120 s".into()], ok: true },
            Row { cells: vec!["\"+5\"".into(), "5 s".into()], ok: false },
        ];
        let shown = plain(|out| table(out, &columns, &rows));
        assert_eq!(shown, "      input  got\n    ✓ \"120\"  120 s\n    ✗ \"+5\"   5 s\n");
    }

    #[test]
    fn wraps_at_word_boundaries() {
        assert_eq!(wrap("one two three four", 9), ["one two", "three", "four"]);
    }
}
