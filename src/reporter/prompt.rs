//! Questions put to the learner: confirmations and the quiz. A confirmation needs a terminal
//! (nothing is ever decided for the learner); a quiz answer may also come on standard input,
//! one letter per line (`echo b | cargo run -- quiz 2`).

use std::io::{self, IsTerminal, Write};

use colored::Colorize;

use super::{Reporter, markdown};
use crate::catalog::Question;

impl Reporter {
    /// Asks a yes/no question; `None` when there is no terminal to answer it.
    pub fn confirm(&mut self, question: &str) -> io::Result<Option<bool>> {
        if !io::stdin().is_terminal() {
            return Ok(None);
        }
        write!(self.out, "{question} [y/N] ")?;
        self.out.flush()?;
        let answer = read_line()?;
        Ok(Some(answer.is_some_and(|answer| {
            answer.trim().eq_ignore_ascii_case("y") || answer.trim().eq_ignore_ascii_case("yes")
        })))
    }

    /// Shows a question with its options in `order`, and reads an answer: the index of the
    /// chosen option in the question's own list, or `None` when input ended.
    pub fn ask(
        &mut self,
        question: &Question,
        order: &[usize],
        number: usize,
        total: usize,
    ) -> io::Result<Option<usize>> {
        writeln!(self.out, "{}", format!("Question {number} of {total}").dimmed())?;
        write!(
            self.out,
            "{}",
            markdown::render(&format!("**{}**", question.question), self.prose_width())
        )?;
        for (shown, option) in order.iter().enumerate() {
            let text = markdown::render(&question.options[*option], self.prose_width() - 5);
            for (line_number, line) in text.lines().filter(|line| !line.is_empty()).enumerate() {
                let label =
                    if line_number == 0 { format!("  {})", letter(shown)) } else { "    ".into() };
                writeln!(self.out, "{label} {line}")?;
            }
        }
        let last = letter(order.len() - 1);
        loop {
            write!(self.out, "Your answer (a–{last}): ")?;
            self.out.flush()?;
            let Some(answer) = read_line()? else {
                writeln!(self.out)?;
                return Ok(None);
            };
            let answer = answer.trim().to_ascii_lowercase();
            if !io::stdin().is_terminal() {
                writeln!(self.out, "{answer}")?;
            }
            match answer.bytes().next().map(|letter| usize::from(letter.wrapping_sub(b'a'))) {
                Some(shown) if answer.len() == 1 && shown < order.len() => {
                    return Ok(Some(order[shown]));
                }
                _ => writeln!(self.out, "Type one letter, a to {last}.")?,
            }
        }
    }

    /// Says whether the answer was right, with the reasoning.
    pub fn answered(
        &mut self,
        question: &Question,
        order: &[usize],
        right: bool,
    ) -> io::Result<()> {
        if right {
            writeln!(self.out, "{}", "✓ Right.".green().bold())?;
        } else {
            let shown = order
                .iter()
                .position(|option| *option == question.answer_index())
                .unwrap_or_default();
            let answer =
                markdown::render(&question.options[question.answer_index()], self.prose_width());
            writeln!(
                self.out,
                "{} The answer is {}) {}",
                "✗ Not quite.".red().bold(),
                letter(shown),
                answer.trim_end()
            )?;
        }
        write!(self.out, "{}", markdown::render(&question.explanation, self.prose_width()))
    }

    /// The quiz is over, or input ran out before it was.
    pub fn quiz_done(
        &mut self,
        right: usize,
        answered: usize,
        total: usize,
        lesson: u8,
    ) -> io::Result<()> {
        if answered < total {
            let hint = format!(
                "({answered} of {total} questions answered: run `cargo run -- quiz {lesson}` in a terminal, \
                 or pipe one letter per line into it)"
            );
            return writeln!(self.out, "{}", hint.dimmed());
        }
        let line = format!("{right} of {total} right.");
        writeln!(
            self.out,
            "{}",
            if right == total { line.green().bold() } else { line.yellow().bold() }
        )
    }
}

fn letter(index: usize) -> char {
    char::from(b'a' + u8::try_from(index).expect("a handful of options"))
}

/// One line from stdin; `None` at its end.
fn read_line() -> io::Result<Option<String>> {
    let mut line = String::new();
    Ok((io::stdin().read_line(&mut line)? > 0).then_some(line))
}

impl Reporter {
    /// Asks which lesson to open; `None` for none (Enter, or the end of input).
    pub fn choose_lesson(&mut self, count: usize) -> io::Result<Option<u8>> {
        loop {
            write!(
                self.out,
                "Open a lesson in watch mode? Its number (1–{count}), or Enter for none: "
            )?;
            self.out.flush()?;
            let Some(answer) = read_line()? else { return Ok(None) };
            let answer = answer.trim();
            if answer.is_empty() {
                return Ok(None);
            }
            match answer.parse::<u8>() {
                Ok(number @ 1..) if usize::from(number) <= count => return Ok(Some(number)),
                _ => writeln!(self.out, "Type a number from 1 to {count}, or press Enter.")?,
            }
        }
    }
}
